"""A read-only index over a finished scan, shaped for the screens (no Textual import).

`ScanIndex` is built once, on the scan worker: per-layer change sets, findings by layer and path,
and the index of every copy of every path (`layerfs.trees.PathCopies`, so that a path's history is a
lookup). `LayerView`s (the merged tree as of a layer from `layerfs`, what is flagged in it, folder
sizes) are built on demand — on a worker for big images — and kept in a small LRU cache. The trees
themselves are the domain's (`ImageAnalysis.tree_at`); this module keeps view state only.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field, replace
from typing import Callable

from explorer.scan.engine import ScanResult
from explorer.core.findings import SEVERITY_RANK, Finding
from explorer.layerfs.tree import Tree as FsTree, parent_of
from explorer.layerfs.trees import ancestors, folder_sizes
from explorer.core.model import EntryKind, FileEntry
from explorer.core.textsafe import safe
from explorer.detectors.archivelisting import split_archive_path
from explorer.tui.pathmatch import is_glob, lowered_matcher, matcher

STATUSES = ("added", "modified", "deleted", "unchanged")
MARKER = {"added": "A", "modified": "M", "deleted": "D", "unchanged": " "}
SEVERITY_LETTER = {"critical": "C", "high": "H", "medium": "M", "low": "L", "info": "I"}
SEVERITIES = ("critical", "high", "medium", "low", "info")
CHEAP_ENTRIES = 20_000
"""Merged trees over fewer entries than this are built on the UI thread (a few ms); bigger ones on a worker."""
VIEW_CACHE = 8
"""Layer views kept (each holds a merged tree: memory grows with the image's file count)."""


@dataclass
class LayerIndex:
    added: set[str] = field(default_factory=set)
    modified: set[str] = field(default_factory=set)
    deleted: dict[str, FileEntry] = field(default_factory=dict)
    """Deleted path → the copy that was removed."""
    deleted_under: dict[str, list[FileEntry]] = field(default_factory=dict)
    """Folder → the removed copies directly in it (the 'ghosts' the tree shows)."""
    opaque: set[str] = field(default_factory=set)
    """Folders this layer made opaque (a `.wh..wh..opq` member): what lower layers put there is hidden."""

    def status(self, path: str, deleted: bool = False) -> str:
        if deleted:
            return "deleted"
        if path in self.added:
            return "added"
        if path in self.modified:
            return "modified"
        return "unchanged"


@dataclass(frozen=True)
class TreeFilter:
    """Which paths the file tree shows: by their status in the selected layer, and flagged ones only."""

    statuses: frozenset[str] = frozenset(STATUSES)
    flagged_only: bool = False
    name: str = ""
    """Only paths that match this (explorer.tui.pathmatch: a substring or a glob), and their folders."""

    @property
    def everything(self) -> bool:
        return self.statuses == frozenset(STATUSES) and not self.flagged_only and not self.name

    @property
    def explicit(self) -> bool:
        """True when the shown paths are a small set (changes, flagged or matching paths) plus their folders."""
        return "unchanged" not in self.statuses or self.flagged_only or bool(self.name)

    def toggle(self, status: str) -> "TreeFilter":
        return replace(self, statuses=self.statuses ^ {status})

    def describe(self) -> str:
        parts = []
        if not self.everything:
            if self.statuses != frozenset(STATUSES):
                parts.append("showing " + " ".join(MARKER[s] if s != "unchanged" else "U" for s in STATUSES
                                                   if s in self.statuses) if self.statuses else "showing nothing")
            if self.flagged_only:
                parts.append("flagged only")
            if self.name:
                parts.append(f"names matching {safe(self.name)}")
        return ", ".join(parts)


CHANGES_ONLY = TreeFilter(frozenset({"added", "modified", "deleted"}))


@dataclass
class LayerView:
    """The merged filesystem as of one layer, with what the tree needs to label, filter and sort it."""

    layer: int
    tree: FsTree
    changes: LayerIndex
    flagged: dict[str, str]
    """Path → worst severity among findings on copies visible here (or on a copy under a ghost),
    folders included (the worst below them)."""
    flagged_paths: set[str]
    """The paths themselves that findings name (no folders added)."""
    dir_size: dict[str, int]
    """Folder → bytes of regular files below it."""
    _shown: dict[TreeFilter, set[str]] = field(default_factory=dict)
    _added_size: dict[str, int] | None = None
    _names: tuple[list[str], list[str]] | None = None
    """Every path of the view (deleted ones included) and the same lowercased, for the filter by name."""
    below: Callable[[], FsTree | None] | None = None
    """The merged tree as of the layer below (what a folder this layer deleted held), built on demand."""

    def __repr__(self) -> str:
        """Short: Textual's @work describes a worker by the repr of its arguments, made on the UI thread when
        it starts; the dataclass's own repr of a 73k-entry view (its trees, the matched paths kept for the
        filter by name) took 200-400 ms at each letter typed in the filter by name."""
        return f"LayerView(layer={self.layer}, {len(self.tree.entries)} entries)"

    def status(self, path: str, deleted: bool = False) -> str:
        return self.changes.status(path, deleted)

    @property
    def added_size(self) -> dict[str, int]:
        """Folder → bytes of the regular files this layer added or modified below it (what the layer
        itself adds to the image; the folder sizes of the changes-only view), built on first use."""
        if self._added_size is None:
            sizes: dict[str, int] = {}
            for path in self.changes.added | self.changes.modified:
                entry = self.tree.get(path)
                if entry is not None and entry.kind == EntryKind.FILE and entry.size:
                    for folder in ancestors(path):
                        sizes[folder] = sizes.get(folder, 0) + entry.size
            self._added_size = sizes
        return self._added_size

    def shown(self, flt: TreeFilter) -> set[str] | None:
        """For an explicit filter: every path to show (the matches and their folders); else None."""
        if not flt.explicit:
            return None
        out = self._shown.get(flt)  # (a worker may fill or clear the cache meanwhile: one lookup)
        if out is None:
            ch = self.changes
            if flt.flagged_only:
                candidates = self.flagged_paths
            elif "unchanged" in flt.statuses:  # a filter by name alone: every path is a candidate
                candidates = None
            else:
                candidates = set()
                if "added" in flt.statuses:
                    candidates |= ch.added
                if "modified" in flt.statuses:
                    candidates |= ch.modified
                if "deleted" in flt.statuses:
                    candidates |= set(ch.deleted)
            if candidates is None:  # (every path; flt.name is set: an explicit filter)
                paths, lowered = self._every_name()
                if is_glob(flt.name):
                    match = lowered_matcher(flt.name)
                    candidates = [p for p, low in zip(paths, lowered) if match(low)]
                else:  # a substring, tested inline (no call per path)
                    needle = flt.name.lower()
                    candidates = [p for p, low in zip(paths, lowered) if needle in low]
            elif flt.name:
                match = matcher(flt.name)
                candidates = [p for p in candidates if match(p)]
            if flt.statuses != frozenset(STATUSES):
                candidates = [p for p in candidates
                              if ch.status(p, p in ch.deleted and p not in ch.added) in flt.statuses]
            out = with_folders(candidates)
            if len(self._shown) >= 8:  # typed names each make one: keep a few
                self._shown.clear()
            self._shown[flt] = out
        return out

    def _every_name(self) -> tuple[list[str], list[str]]:
        """Every path of the view and the same lowercased (the path itself when already lowercase), made
        once: typing a name filters again at each letter, and lowering 73k paths each time was most of it."""
        names = self._names
        if names is None:
            paths = list(self.tree.entries.keys() | self.changes.deleted.keys())
            names = self._names = (paths, [low if (low := p.lower()) != p else p for p in paths])
        return names

    def passes(self, flt: TreeFilter, path: str, is_dir: bool, deleted: bool) -> bool:
        shown = self.shown(flt)
        if shown is not None:
            return path in shown
        return (is_dir and not deleted) or self.status(path, deleted) in flt.statuses


def with_folders(paths) -> set[str]:
    """`paths`, every folder above them, and "/": a level of parents at a time, each a set made in one go
    (a walk up from each path took 60-100 ms for the 60k paths a one-letter name matches)."""
    out = set(paths)
    level = out
    while level:
        level = {p.rpartition("/")[0] or "/" for p in level if p != "/"} - out
        out |= level
    out.add("/")
    return out


class ScanIndex:
    def __init__(self, result: ScanResult):
        self.result = result
        self.analysis = result.analysis
        self.layers: list[LayerIndex] = []
        entries_so_far = 0
        self.entries_upto: list[int] = []
        for report in self.analysis.layers:
            li = LayerIndex()
            ch = report.changes
            li.added = {e.path for e in ch.added}
            li.modified = {new.path for _old, new in ch.modified}
            li.deleted = {e.path: e for e in ch.deleted}
            for entry in ch.deleted:
                li.deleted_under.setdefault(parent_of(entry.path), []).append(entry)
            self.layers.append(li)
            li.opaque.update(e.path for e in report.entries if e.kind is EntryKind.OPAQUE)
            entries_so_far += len(report.entries)
            self.entries_upto.append(entries_so_far)
        self.by_path: dict[tuple[int | None, str | None], list[Finding]] = defaultdict(list)
        self.by_layer: dict[int | None, list[Finding]] = defaultdict(list)
        self.by_file: dict[str, list[Finding]] = defaultdict(list)
        for f in result.findings:
            self.by_path[(f.layer, f.path)].append(f)
            self.by_layer[f.layer].append(f)
            if f.path:
                self.by_file[f.path].append(f)
        self.analysis.path_copies()  # built here, on the scan worker, so that `history` is a lookup
        self.total_size = self.analysis.total_size
        self.final_size = self.analysis.final_size
        """Computed here, on the scan worker: a walk over every file of the final image."""
        self.wasted_bytes = self.total_size - self.final_size
        self._views: OrderedDict[int, LayerView] = OrderedDict()
        self._lock = threading.Lock()
        self.space_rows = None
        """The space views' rows (explorer.tui.space.SpaceRows), made when one first opens."""
        self._firsts: dict[EntryKind, FileEntry | None] = {}

    def first_entry(self, kind: EntryKind) -> FileEntry | None:
        """The first entry of `kind`, lowest layer first (a whiteout of a path, not a pax global header's),
        or None: a walk over every entry of the image (tens of ms on a big one), made once (the tour's
        examples; the app makes it on a worker after the first paint)."""
        if kind not in self._firsts:
            self._firsts[kind] = next((e for r in self.analysis.layers for e in r.entries
                                       if e.kind is kind and e.linkname is None), None)
        return self._firsts[kind]

    # -- findings ---------------------------------------------------------------------------
    def worst(self, layer: int | None) -> str | None:
        findings = self.by_layer.get(layer) or []
        if not findings:
            return None
        return max(findings, key=lambda f: SEVERITY_RANK[f.severity]).severity

    def severity_counts(self, layer: int | None) -> dict[str, int]:
        counts = dict.fromkeys(SEVERITIES, 0)
        for f in self.by_layer.get(layer) or []:
            counts[f.severity] += 1
        return {s: n for s, n in counts.items() if n}

    def findings_at(self, layer: int, path: str) -> list[Finding]:
        return list(self.by_path.get((layer, path), []))

    def findings_for_path(self, path: str) -> list[Finding]:
        return list(self.by_file.get(path, []))

    def drop(self, finding: Finding) -> None:
        """Leave `finding` out from now on (it was accepted into the ignore file), as a scan with that file
        would: the result's findings, the per-layer and per-path lookups, and the tree marks of the views
        built so far (recomputed from the findings left: a folder keeps the worst of the others below it)."""
        import dataclasses

        self.result = dataclasses.replace(self.result, findings=[f for f in self.result.findings if f is not finding])
        for table, key in ((self.by_path, (finding.layer, finding.path)), (self.by_layer, finding.layer),
                           (self.by_file, finding.path)):
            if key in table:
                table[key] = [f for f in table[key] if f is not finding]
        with self._lock:
            views = list(self._views.values())
        for view in views:
            view.flagged, view.flagged_paths = self._flags(view.layer, view.tree)
            view._shown.clear()  # the "flagged only" filter's paths

    # -- copies -----------------------------------------------------------------------------
    def history(self, path: str) -> list[FileEntry]:
        """Every copy of a path and every whiteout of it or of a folder above it, lowest layer first."""
        return self.analysis.history(path)

    # -- layer views ------------------------------------------------------------------------
    def cheap(self, layer: int) -> bool:
        """Whether building this layer's view is quick enough for the UI thread."""
        return layer in self._views or self.entries_upto[layer] < CHEAP_ENTRIES

    def cached_view(self, layer: int) -> LayerView | None:
        return self._views.get(layer)

    def view(self, layer: int) -> LayerView:
        """The view of a layer (built now if needed; call from a worker unless `cheap(layer)`)."""
        with self._lock:
            view = self._views.get(layer)
            if view is None:
                view = self._build_view(layer)
                self._views[layer] = view
                while len(self._views) > VIEW_CACHE:
                    self._views.popitem(last=False)
            else:
                self._views.move_to_end(layer)
            return view

    def _build_view(self, layer: int) -> LayerView:
        tree = self.analysis.tree_at(layer)
        flagged, flagged_paths = self._flags(layer, tree)
        return LayerView(layer, tree, self.layers[layer], flagged, flagged_paths, folder_sizes(tree),
                         below=(lambda: self.view(layer - 1).tree) if layer else None)

    def _flags(self, layer: int, tree: FsTree) -> tuple[dict[str, str], set[str]]:
        """A layer view's `flagged` and `flagged_paths`: where the findings on copies visible as of `layer`
        (or under a folder it deleted) are, and the worst severity on or below each path."""
        li = self.layers[layer]
        flagged: dict[str, str] = {}
        flagged_paths: set[str] = set()
        for f in self.result.findings:
            if f.path is None or f.layer is None or f.layer > layer:
                continue
            path = f.path
            if "!/" in path:  # in a member of an archive (explorer.detectors.archives): the archive's row
                split = split_archive_path(path, lambda p: tree.get(p) is not None or p in li.deleted)
                path = split[0] if split is not None else path
            current = tree.get(path)
            where = path if current is not None and current.layer == f.layer else None
            if where is None and path in li.deleted:
                where = path
            mark = where
            if where is None:
                where = next((p for p in ancestors(path) if p in li.deleted), None)
                mark = path  # deleted with its folder: its own row in the ghost folder keeps its marker
            if where is None:
                continue
            flagged_paths.add(where)
            for p in (mark, *ancestors(mark)):
                old = flagged.get(p)
                if old is None or SEVERITY_RANK[f.severity] > SEVERITY_RANK[old]:
                    flagged[p] = f.severity
        return flagged, flagged_paths
