"""The whole image, read: each layer's entries and changes, the final tree, waste and efficiency.

`analyze` reads every layer once, in manifest order, and stacks it. Everything after that
(merged trees at any layer, a path's history, efficiency) is computed from the entries alone.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from explorer.core.problems import ProblemKind
from explorer.core.imagesummary import ImageSummary, LayerSummary
from explorer.core.limits import DEFAULT, MAX_IMAGE_NAME_CHARS, Limits, ReadBudget, human_size
from explorer.core.model import EntryKind, FileEntry, LayerRef, LayerStats, Problem
from explorer.layerfs.tree import LayerChanges, Tree, apply_layer, parent_of
from explorer.layerfs.trees import LayerTrees, PathCopies
from explorer.layerfs.walker import LayerVisitor, WalkResult, read_member, walk_layer
from explorer.sources import ImageSource


@dataclass(frozen=True, slots=True)
class Fate:
    """What became of a copy that is not visible in the final image."""

    layer: int
    """The layer that deleted or replaced it."""
    how: str
    """`deleted` (whiteout / opaque) or `replaced`."""


@dataclass
class LayerReport:
    ref: LayerRef
    stats: LayerStats
    entries: list[FileEntry]
    changes: LayerChanges = field(default_factory=LayerChanges)

    @property
    def index(self) -> int:
        return self.ref.index


ProgressFn = Callable[[int, int, int], None]
"""progress(layer index, bytes of this blob read so far, blob size)."""


@dataclass
class ImageAnalysis:
    source: ImageSource
    layers: list[LayerReport]
    problems: list[Problem]
    final: Tree
    fates: dict[tuple[int, str], Fate]
    efficiency: float
    _trees: LayerTrees | None = field(default=None, repr=False)
    _copies: PathCopies | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._trees = LayerTrees(self.layers, self.final)

    # -- trees --------------------------------------------------------------------------------
    def tree_at(self, layer: int) -> Tree:
        """The merged filesystem as of `layer` (layers 0..layer applied); shared, read only."""
        return self._trees.at(layer)

    def path_copies(self) -> PathCopies:
        """Every copy of every path (built on first use: a walk over every entry)."""
        if self._copies is None:
            self._copies = PathCopies(self.layers)
        return self._copies

    def in_final(self, entry: FileEntry) -> bool:
        return self.final.get(entry.path) is entry

    def history(self, path: str) -> list[FileEntry]:
        """Every copy of a path (and whiteouts of it or its parents) across layers, lowest first."""
        return self.path_copies().history(path)

    # -- numbers ------------------------------------------------------------------------------
    def summary(self) -> ImageSummary:
        return ImageSummary(self.source, [LayerSummary(r.ref, r.stats, len(r.changes.added), len(r.changes.modified),
                                                       len(r.changes.deleted)) for r in self.layers],
                            list(self.problems))

    @property
    def total_size(self) -> int:
        return sum(r.stats.size for r in self.layers)

    @property
    def final_size(self) -> int:
        return sum(e.size for e in self.final.entries.values() if e.kind == EntryKind.FILE)

    @property
    def wasted_bytes(self) -> int:
        return self.total_size - self.final_size

    # -- content ------------------------------------------------------------------------------
    def read(self, entry: FileEntry, limit: int | None = None, offset: int = 0) -> bytes:
        """Content of one copy of a file, from its own layer blob (resolving hard links there);
        at most `limit` bytes from `offset` on."""
        target = entry
        if entry.kind == EntryKind.HARDLINK and entry.linkname:
            own = [c for c in self.layers[entry.layer].entries
                   if c.path == entry.linkname and c.kind == EntryKind.FILE and c.member < entry.member]
            if own:
                target = own[-1]
            elif entry.layer > 0:
                lower = self.tree_at(entry.layer - 1).get(entry.linkname)
                if lower is not None and lower.kind in (EntryKind.FILE, EntryKind.HARDLINK):
                    return self.read(lower, limit, offset)
        if target.kind != EntryKind.FILE:
            return b""
        report = self.layers[target.layer]
        with self.source.open_layer(report.ref) as blob:
            if report.stats.compression == "none" and target.data_offset >= 0 and blob.seekable():
                # an uncompressed layer: the content sits at data_offset, no need to walk the tar to it
                blob.seek(target.data_offset + offset)
                left = max(0, target.size - offset)
                return blob.read(left if limit is None else min(limit, left))
            return read_member(blob, target.member, limit, offset)

    def entries(self) -> Iterator[FileEntry]:
        for report in self.layers:
            yield from report.entries


def read_layer(source: ImageSource, ref: LayerRef, visitor: LayerVisitor | None = None,
               progress: ProgressFn | None = None, limits: Limits = DEFAULT) -> WalkResult:
    """One streaming pass over one layer blob, within `limits`; a blob that cannot be opened is
    reported as missing."""
    cb = (lambda n: progress(ref.index, n, ref.compressed_size)) if progress else None
    try:
        blob = source.open_layer(ref)
    except Exception as exc:  # noqa: BLE001 - a missing blob is reported, the rest still read
        result = WalkResult(LayerStats(index=ref.index, complete=False))
        result.problems.append(Problem(ref.index, ProblemKind.MISSING, f"layer {ref.index}: {exc}"))
        return result
    try:
        return walk_layer(blob, ref, visitor, cb, ReadBudget(limits))
    except Exception as exc:  # noqa: BLE001 - whatever the walker did not expect: this layer is damaged, not the run
        result = WalkResult(LayerStats(index=ref.index, complete=False))
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        result.problems.append(Problem(ref.index, ProblemKind.CORRUPT, f"layer {ref.index}: cannot be read ({reason[:300]})"))
        return result


def analyze(source: ImageSource, visitor_for: Callable[[LayerRef], LayerVisitor | None] | None = None,
            progress: ProgressFn | None = None, limits: Limits = DEFAULT) -> ImageAnalysis:
    """Read every layer once, in order, and stack them; no more than `limits.max_total` in all."""
    results: list[WalkResult] = []
    for ref in source.layers:
        cap = over_caps(results, limits)
        if cap is not None:
            results.append(not_read(ref.index, limits, cap))
        else:
            results.append(read_layer(source, ref, visitor_for(ref) if visitor_for else None, progress, limits))
    return stack(source, cap_total(results, limits))


def over_total(results: list[WalkResult], limits: Limits) -> int | None:
    """The first layer at which the uncompressed bytes read so far, in layer order, pass `limits.max_total`."""
    total = 0
    for result in results:
        total += result.stats.uncompressed
        if total > limits.max_total:
            return result.stats.index
    return None


def name_chars(result: WalkResult) -> int:
    """Characters of the names and link targets a layer's entries hold."""
    return sum(len(e.path) + len(e.linkname or "") for e in result.entries)


def over_names(results: list[WalkResult], chars: Callable[[WalkResult], int] = name_chars) -> int | None:
    """The first layer at which the names read so far, in layer order, pass MAX_IMAGE_NAME_CHARS."""
    total = 0
    for result in results:
        total += chars(result)
        if total > MAX_IMAGE_NAME_CHARS:
            return result.stats.index
    return None


def over_caps(results: list[WalkResult], limits: Limits,
              chars: Callable[[WalkResult], int] = name_chars) -> str | None:
    """Which image-wide cap the layers read so far (in layer order) already pass: `total`, `names` or None."""
    if over_total(results, limits) is not None:
        return "total"
    if over_names(results, chars) is not None:
        return "names"
    return None


_CAPS = {
    "total": (ProblemKind.TOO_LARGE, "{below} more than {total} of uncompressed data", "raise --max-total to read {rest}"),
    "names": (ProblemKind.NAMES_TOO_LONG, "{below} member names and link targets of more than {names} characters in all",
              "a real image holds far fewer"),
}


def _cap_text(cap: str, limits: Limits, below: str, rest: str) -> tuple[ProblemKind, str, str]:
    kind, what, hint = _CAPS[cap]
    return (kind, what.format(below=below, total=human_size(limits.max_total), names=MAX_IMAGE_NAME_CHARS),
            hint.format(rest=rest))


def not_read(index: int, limits: Limits, cap: str = "total") -> WalkResult:
    result = WalkResult(LayerStats(index=index, complete=False))
    kind, what, hint = _cap_text(cap, limits, "the layers below already hold", "it")
    result.problems.append(Problem(index, kind, f"layer {index}: not read, {what} ({hint})"))
    return result


def cap_total(results: list[WalkResult], limits: Limits,
              chars: Callable[[WalkResult], int] = name_chars) -> list[WalkResult]:
    """The image-wide caps (uncompressed bytes, `max_total`; names, MAX_IMAGE_NAME_CHARS), applied in
    layer order whatever order the layers were read in: the layer that passes one is reported, the
    ones above it are left out (the same result whether they were read in parallel or skipped)."""
    results = _cap(results, over_total(results, limits), "total", limits)
    return _cap(results, over_names(results, chars), "names", limits)


def _cap(results: list[WalkResult], crossing: int | None, cap: str, limits: Limits) -> list[WalkResult]:
    if crossing is None:
        return results
    kind, what, hint = _cap_text(cap, limits, "the image holds", "the layers above")
    out = []
    for result in results:
        index = result.stats.index
        if index == crossing and not any(p.kind == kind for p in result.problems):
            result.problems.append(Problem(index, kind, f"layer {index}: {what} up to this layer ({hint})"))
        out.append(result if index <= crossing else not_read(index, limits, cap))
    return out


def stack(source: ImageSource, results: Iterable[WalkResult]) -> ImageAnalysis:
    """Stack the layers' walk results (one per `source.layers`, in that order) into the image."""
    reports: list[LayerReport] = []
    problems: list[Problem] = list(source.problems)
    tree = Tree()
    fates: dict[tuple[int, str], Fate] = {}
    eff = _Efficiency()

    for ref, result in zip(source.layers, results):
        problems.extend(result.problems)
        _link_lower_hardlinks(result.entries, tree)
        problems.extend(_refused_links(ref.index, result.entries, tree))
        report = LayerReport(ref, result.stats, result.entries)

        def displaced(old: FileEntry, by: FileEntry, _layer=ref.index) -> None:
            if old.member >= 0:
                how = "deleted" if by.is_whiteout else "replaced"
                fates[(old.layer, old.path)] = Fate(_layer, how)

        eff.add_layer(result.entries, tree)
        report.changes = apply_layer(tree, result.entries, on_displaced=displaced)
        for entry, blocker in report.changes.through_links[:20]:
            kind = "symlink" if blocker.kind == EntryKind.SYMLINK else blocker.kind.value
            where = f"layer {ref.index}: member {entry.path!r} lies below {blocker.path!r}, a {kind} (from layer " \
                    f"{blocker.layer})"
            if blocker.kind == EntryKind.SYMLINK:
                problems.append(Problem(ref.index, ProblemKind.PATH_THROUGH_LINK, f"{where}; shown as if it were a folder"))
            else:  # not a folder: Docker's write below it fails (ENOTDIR), the load with it
                problems.append(Problem(ref.index, ProblemKind.CORRUPT, f"{where}: corrupt, which Docker refuses; shown as "
                                                              "if it were a folder"))
        reports.append(report)

    return ImageAnalysis(source=source, layers=reports, problems=problems, final=tree, fates=fates,
                         efficiency=eff.score())


def _refused_links(index: int, entries: list[FileEntry], below: Tree) -> list[Problem]:
    """Hard links Docker refuses to make (link(2) fails): to nothing there yet (a missing or a later
    member) or to a folder. Docker applies the members in order, over the layers below."""
    out: list[Problem] = []
    if not any(e.kind == EntryKind.HARDLINK for e in entries):
        return out
    here: dict[str, EntryKind] = {}
    gone: set[str] = set()
    later: set[str] | None = None
    for e in entries:
        if e.kind == EntryKind.WHITEOUT:
            here.pop(e.path, None)
            gone.add(e.path)
            continue
        if e.kind == EntryKind.HARDLINK and e.linkname and len(out) < 20:
            target = e.linkname
            kind = here.get(target)
            if kind is None and target not in gone:
                lower = below.get(target)
                kind = lower.kind if lower is not None else None
            if kind is None and _via_symlink(target, here, below):
                what = ""  # link(2) follows the symlinks on the way: where to is not known here
            elif kind is None:
                later = {x.path for x in entries} if later is None else later
                what = "a later member" if target in later else "nothing"
            elif kind == EntryKind.DIR:
                what = "a folder"
            else:
                what = ""
            if what:
                out.append(Problem(index, ProblemKind.CORRUPT, f"layer {index}: corrupt: hard link {e.path!r} links to "
                                                     f"{target!r}, {what}, which Docker refuses"))
        if e.kind != EntryKind.OPAQUE:
            here[e.path] = e.kind
    return out


def _via_symlink(path: str, here: dict[str, EntryKind], below: Tree) -> bool:
    """Whether the nearest ancestor of `path` that is there (in this layer so far, or below) is a symlink."""
    parent = path.rpartition("/")[0]
    while parent:
        kind = here.get(parent)
        if kind is None:
            lower = below.get(parent)
            kind = lower.kind if lower is not None else None
        if kind is not None:
            return kind == EntryKind.SYMLINK
        parent = parent.rpartition("/")[0]
    return False


def _link_lower_hardlinks(entries: list[FileEntry], below: Tree) -> None:
    """A hard link to a file of a lower layer gets that file's digest (the walker only knows its own layer)."""
    hardlink = EntryKind.HARDLINK
    for i, e in enumerate(entries):
        if e.kind == hardlink and e.digest is None and e.linkname:
            target = below.get(e.linkname)
            if target is not None and target.kind == EntryKind.SYMLINK:  # link(2) links the symlink itself
                entries[i] = dataclasses.replace(e, kind=EntryKind.SYMLINK, linkname=target.linkname)
            elif target is not None and target.digest is not None:
                entries[i] = dataclasses.replace(e, digest=target.digest)


class _Efficiency:
    """dive's efficiency score, computed per path over the leaves of each layer's own tree.

    For every path: the smallest size it has in any layer, summed, over the sum of all its sizes.
    A whiteout of a directory counts the size of what it removes, of a file 0; an opaque marker
    counts as a whiteout of each child it hides (dive drops those; we do not).
    """

    def __init__(self) -> None:
        self.minimum: dict[str, int] = {}
        self.total: dict[str, int] = {}

    def _see(self, path: str, size: int) -> None:
        if path in self.minimum:
            self.minimum[path] = min(self.minimum[path], size)
            self.total[path] += size
        else:
            self.minimum[path] = size
            self.total[path] = size

    def add_layer(self, entries: list[FileEntry], below: Tree) -> None:
        """Called before the layer is applied: `below` is the merged tree of the lower layers."""
        opaque, whiteout = EntryKind.OPAQUE, EntryKind.WHITEOUT
        parents = set()
        for e in entries:
            p = e.path if e.kind == opaque else parent_of(e.path)
            while p and p not in parents:
                parents.add(p)
                p = parent_of(p)
        minimum, total = self.minimum, self.total
        for e in entries:
            kind = e.kind
            if kind == opaque:
                for child in below.list(e.path):
                    self._see(child.path, _subtree_size(below, child))
            elif kind == whiteout:
                old = below.get(e.path)
                self._see(e.path, _subtree_size(below, old) if old is not None else 0)
            elif (path := e.path) not in parents:  # a leaf: `_see` in short, for speed
                size = e.size
                least = minimum.get(path)
                if least is None:
                    minimum[path] = total[path] = size
                else:
                    if size < least:
                        minimum[path] = size
                    total[path] += size

    def score(self) -> float:
        discovered = sum(self.total.values())
        if discovered == 0:
            return 1.0
        return sum(self.minimum.values()) / discovered


def _subtree_size(tree: Tree, entry: FileEntry) -> int:
    if entry.kind != EntryKind.DIR:
        return 0
    return sum(e.size for e in tree.walk(entry.path))

