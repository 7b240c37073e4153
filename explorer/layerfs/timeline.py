"""A path's timeline across layers: added by one layer, modified by others, deleted (by a whiteout,
an opaque folder, or a parent replaced by a file) — each event with the layer that made it.

Built from the entries and the fates the stacking recorded; no Textual import.
"""

from __future__ import annotations

from dataclasses import dataclass

from explorer.layerfs.analysis import ImageAnalysis
from explorer.core.model import EntryKind, FileEntry


@dataclass(frozen=True)
class Version:
    layer: int
    change: str
    """`added`, `modified` (a new copy over an older one), `unchanged` (a new copy, same content
    and metadata) or `deleted`."""
    entry: FileEntry | None
    """The copy this layer holds; None for a deletion."""
    detail: str = ""
    """How a deletion happened (`whiteout`, `with /tmp/.x`, `opaque /etc`, `parent replaced`)."""

    @property
    def readable(self) -> bool:
        return self.entry is not None and self.entry.kind in (EntryKind.FILE, EntryKind.HARDLINK)


def timeline(analysis: ImageAnalysis, path: str) -> list[Version]:
    """Every event of `path`, lowest layer first."""
    history = analysis.history(path)
    by_layer: dict[int, list[FileEntry]] = {}
    for entry in history:
        by_layer.setdefault(entry.layer, []).append(entry)
    out: list[Version] = []
    current: FileEntry | None = None
    for layer in sorted(by_layer):
        entries = by_layer[layer]
        removal = next((e for e in entries if e.is_whiteout), None)
        copy = next((e for e in reversed(entries) if not e.is_whiteout), None)
        if copy is None:
            if current is not None and removal is not None:
                out.append(Version(layer, "deleted", None, _how(removal, path)))
                current = None
            continue
        if current is None:
            change = "added"
        else:
            change = "unchanged" if copy.same_as(current) else "modified"
        out.append(Version(layer, change, copy))
        current = copy
    # deletions the entries of this path do not show: a parent replaced by a file or a symlink
    for version in list(out):
        if version.entry is None:
            continue
        fate = analysis.fates.get((version.layer, path))
        if fate is None or any(v.layer == fate.layer for v in out):
            continue
        detail = "parent replaced" if fate.how == "replaced" else ""
        out.append(Version(fate.layer, "deleted", None, detail))
    out.sort(key=lambda v: (v.layer, v.entry is not None))
    return out


def _how(removal: FileEntry, path: str) -> str:
    if removal.kind == EntryKind.OPAQUE:
        return f"opaque {removal.path}"
    return "whiteout" if removal.path == path else f"with {removal.path}"


def readable_versions(versions: list[Version]) -> list[Version]:
    """The versions that have content to show (deleted and replaced copies included)."""
    return [v for v in versions if v.readable]
