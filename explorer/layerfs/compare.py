"""Image against image: the final filesystems compared by path and content, the layers by diff_id.

A pure function of two stacked images (and their findings): no tar is read here. Two copies of a path
are the same when `FileEntry.same_as` says so (kind, mode, owner, size, content hash, link target,
device numbers; not mtime, which every rebuild changes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from explorer.core.findings import Finding
from explorer.layerfs.analysis import ImageAnalysis
from explorer.core.model import FileEntry

ADDED, REMOVED, CHANGED = "added", "removed", "changed"


@dataclass(frozen=True)
class PathChange:
    path: str
    change: str
    """`added` (only in B), `removed` (only in A) or `changed`."""
    a: FileEntry | None
    b: FileEntry | None
    differs: tuple[str, ...] = ()
    """For `changed`: which of `kind`, `content`, `mode`, `owner`, `link`, `device` differ."""


@dataclass(frozen=True)
class SharedLayer:
    a: int
    b: int
    diff_id: str


@dataclass
class Comparison:
    a: ImageAnalysis
    b: ImageAnalysis
    changes: list[PathChange] = field(default_factory=list)
    unchanged: int = 0
    shared: list[SharedLayer] = field(default_factory=list)
    """Layers with the same diff_id on both sides (a base image reused), in B's order."""
    new_findings: list[Finding] = field(default_factory=list)
    """Findings of B that A does not have (same rule, source, path and masked evidence)."""

    def count(self, change: str) -> int:
        return sum(1 for c in self.changes if c.change == change)


def _differs(a: FileEntry, b: FileEntry) -> tuple[str, ...]:
    out = []
    if a.kind != b.kind:
        out.append("kind")
    if (a.digest, a.size) != (b.digest, b.size):
        out.append("content")
    if a.mode != b.mode:
        out.append("mode")
    if (a.uid, a.gid) != (b.uid, b.gid):
        out.append("owner")
    if a.linkname != b.linkname:
        out.append("link")
    if (a.devmajor, a.devminor) != (b.devmajor, b.devminor):
        out.append("device")
    return tuple(out)


def finding_key(f: Finding) -> tuple:
    """What makes a finding the same one in two images: not its layer number, which differs."""
    return (f.rule_id, f.source, f.path, f.evidence)


def shared_layers(a: ImageAnalysis, b: ImageAnalysis) -> list[SharedLayer]:
    """B's layers whose diff_id A also has (each A layer matched once, in order)."""
    free: dict[str, list[int]] = {}
    for report in a.layers:
        diff_id = report.stats.diff_id or report.ref.diff_id
        if diff_id:
            free.setdefault(diff_id, []).append(report.index)
    out = []
    for report in b.layers:
        diff_id = report.stats.diff_id or report.ref.diff_id
        if diff_id and free.get(diff_id):
            out.append(SharedLayer(free[diff_id].pop(0), report.index, diff_id))
    return out


def compare(a: ImageAnalysis, b: ImageAnalysis, findings_a: list[Finding] = (),
            findings_b: list[Finding] = ()) -> Comparison:
    """A → B: what B adds, removes and changes, sorted by path."""
    result = Comparison(a, b, shared=shared_layers(a, b))
    left, right = a.final.entries, b.final.entries
    for path in sorted(left.keys() | right.keys()):
        if path == "/":
            continue
        old, new = left.get(path), right.get(path)
        if old is None:
            result.changes.append(PathChange(path, ADDED, None, new))
        elif new is None:
            result.changes.append(PathChange(path, REMOVED, old, None))
        elif old.same_as(new):
            result.unchanged += 1
        else:
            result.changes.append(PathChange(path, CHANGED, old, new, _differs(old, new)))
    known = {finding_key(f) for f in findings_a}
    result.new_findings = [f for f in findings_b if finding_key(f) not in known]
    return result
