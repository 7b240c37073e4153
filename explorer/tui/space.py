"""Where the bytes go, for the space views (no Textual import): the files wasting the most and the largest
files, one row per path, and their orders.

The wasted rows are `explorer layers`'s waste report (explorer.reports.waste.wasted_files) with every path
kept, not its top ten; each row also names the copy that `enter` shows. Rows and each sort order are
computed once (on a worker: the first pass walks every entry of every layer) and cached in `SpaceRows`.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from operator import attrgetter

from explorer.core.model import EntryKind, FileEntry
from explorer.reports.waste import wasted_files

KINDS = ("wasted", "largest")
SORTS = ("bytes", "path", "copies", "layers")
DEFAULT_DESCENDING = {"bytes": True, "copies": True, "path": False, "layers": False}
"""The first press of a sort key: biggest first for numbers, A to Z for paths, lowest layers first."""


@dataclass(frozen=True, slots=True)
class SpaceRow:
    path: str
    copies: int
    """Regular-file copies of the path, over every layer."""
    layers: tuple[int, ...]
    """The layers that hold those copies, lowest first."""
    bytes: int
    """Wasted view: bytes of the copies not visible in the final image (wasted_files' `wasted_bytes`);
    largest view: the size of the biggest copy."""
    entry: FileEntry
    """The copy `enter` shows (the biggest wasted copy, or the biggest copy), in its own layer."""


def wasted_rows(analysis, copies: dict[str, list[FileEntry]]) -> list[SpaceRow]:
    """Every path that wastes bytes, as wasted_files reports it (largest first); `copies`: path → its
    copies (layerfs.trees.PathCopies.copies)."""
    found, _count = wasted_files(analysis, top=sys.maxsize)
    rows = []
    for row in found:
        hidden = [e for e in copies.get(row["path"], ()) if e.kind == EntryKind.FILE and e.size
                  and not analysis.in_final(e)]
        shown = max(hidden, key=lambda e: (e.size, -e.layer))
        rows.append(SpaceRow(row["path"], row["copies"], tuple(row["layers"]), row["wasted_bytes"], shown))
    return rows


def largest_rows(copies: dict[str, list[FileEntry]]) -> list[SpaceRow]:
    """Every path with a non-empty regular-file copy in any layer (deleted ones too: they still ship),
    by the size of its biggest copy, largest first."""
    rows = []
    regular = EntryKind.FILE
    for path, same in copies.items():
        files = [e for e in same if e.kind == regular]
        if not files:
            continue
        biggest = max(files, key=lambda e: (e.size, e.layer))
        if biggest.size:
            rows.append(SpaceRow(path, len(files), tuple(e.layer for e in files), biggest.size, biggest))
    rows.sort(key=lambda r: (-r.bytes, r.path))
    return rows


def sort_key(by: str):
    """Ties are broken by bytes (largest first), then path."""
    if by == "bytes":
        return lambda r: (-r.bytes, r.path)
    if by == "path":
        return attrgetter("path")
    if by == "copies":
        return lambda r: (-r.copies, -r.bytes, r.path)
    if by == "layers":
        return lambda r: (r.layers, -r.bytes, r.path)
    raise ValueError(by)


class SpaceRows:
    """The rows of both views for one scan, each computed once, and their sort orders (thread-safe: the
    screens compute them on workers)."""

    def __init__(self, analysis, copies: dict[str, list[FileEntry]]) -> None:
        self.analysis = analysis
        self.copies = copies
        self._rows: dict[str, list[SpaceRow]] = {}
        self._sorted: dict[tuple[str, str, bool], list[SpaceRow]] = {}
        self._lock = threading.Lock()
        self.computed = 0
        """How many times a view's rows were computed (tests: once per kind, whatever the keys pressed)."""

    def ready(self, kind: str, by: str = "bytes", descending: bool | None = None) -> bool:
        return (kind, by, self._descending(by, descending)) in self._sorted

    @staticmethod
    def _descending(by: str, descending: bool | None) -> bool:
        return DEFAULT_DESCENDING[by] if descending is None else descending

    def rows(self, kind: str, by: str = "bytes", descending: bool | None = None) -> list[SpaceRow]:
        """The view's rows in that order (the default direction of `by` when `descending` is None)."""
        descending = self._descending(by, descending)
        key = (kind, by, descending)
        with self._lock:
            done = self._sorted.get(key)
            if done is not None:
                return done
            base = self._rows.get(kind)
            if base is None:
                self.computed += 1
                base = (wasted_rows(self.analysis, self.copies) if kind == "wasted" else largest_rows(self.copies))
                self._rows[kind] = base
            other = self._sorted.get((kind, by, not descending))
            if other is not None:  # the other direction is already sorted: reversed, not sorted again
                ordered = other[::-1]
            else:
                ordered = sorted(base, key=sort_key(by))
                if descending != DEFAULT_DESCENDING[by]:
                    ordered.reverse()
            self._sorted[key] = ordered
            return ordered

    def warm(self, kind: str, cancelled=lambda: False) -> None:
        """Sort the view's rows every way ahead (on a worker, after the first order is shown), so that a
        sort key answers with a lookup (sorting 60k rows takes 0.1-0.4 s)."""
        for by in SORTS:
            if cancelled():
                return
            self.rows(kind, by)
