"""The space views: the files wasting the most (`w`, the same rows as `explorer layers`'s waste report, all
of them) and the largest files (`b`), one row per path; sortable by each column; enter shows the copy in
the file tree at its layer.

Rows are computed on a worker the first time and cached (explorer.tui.space.SpaceRows), as is each order,
so a sort key or a switch between the views is a lookup; the table builds only the rows on screen.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from explorer.core.model import FileEntry
from explorer.core.textsafe import safe
from explorer.core.units import human
from explorer.tui.lineview import LineView
from explorer.tui.screens.search import status
from explorer.tui.space import DEFAULT_DESCENDING, SpaceRow, SpaceRows
from explorer.tui.tableview import Column, TableView
from explorer.tui.widgets.keybar import KeyBar

PATH_WIDTH = 90
LAYERS_WIDTH = 16
TITLES = {"wasted": "Wasted space: bytes shipped in copies the final image cannot see (deleted or replaced)",
          "largest": "Largest files: the biggest copy of each path, in any layer (deleted ones still ship)"}
BYTES_LABEL = {"wasted": "wasted", "largest": "biggest"}


def cut_left(text: str, width: int) -> str:
    """`text` in `width` cells or fewer, its start replaced by '…' when cut (a path keeps its name)."""
    return text if len(text) <= width else "…" + text[len(text) - width + 1:]


def cut_right(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


class SpaceTable(TableView):
    """The rows of one space view (virtualised: only the rows on screen are built)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(self._columns("wasted"), **kwargs)

    @staticmethod
    def _columns(kind: str) -> list[Column]:
        return [Column(BYTES_LABEL[kind], 9, "bytes"), Column("copies", 6, "copies"),
                Column("layers", LAYERS_WIDTH, "layers"), Column("copy enter shows", 34),
                Column("path", PATH_WIDTH, "path")]

    def set_kind(self, kind: str) -> None:
        self.columns = self._columns(kind)


class SpaceScreen(Screen[FileEntry | None]):
    """Wasted space or largest files, one row per path; enter: that copy in the file tree."""

    BINDINGS = [
        Binding("escape,q", "close", "Close", tooltip="Back to the layers and files"),
        Binding("s", "sort('bytes')", "Sort: bytes", tooltip="Sort by bytes, largest first (again: reverse)"),
        Binding("p", "sort('path')", "Sort: path", tooltip="Sort by path, A to Z (again: reverse)"),
        Binding("c", "sort('copies')", "Sort: copies", tooltip="Sort by copies, most first (again: reverse)"),
        Binding("l", "sort('layers')", "Sort: layers",
                tooltip="Sort by the layers holding the copies, lowest first (again: reverse)"),
        Binding("w", "kind('wasted')", "Wasted", tooltip="Show the files wasting the most space"),
        Binding("b", "kind('largest')", "Largest", tooltip="Show the largest files"),
    ]
    DEFAULT_CSS = """
    SpaceScreen #space-title { height: 1; padding: 0 1; background: $panel; }
    SpaceScreen #space-count { height: 1; padding: 0 1; color: $text-muted; }
    SpaceScreen SpaceTable { height: 1fr; max-height: 100%; }
    """

    def __init__(self, space: SpaceRows, kind: str = "wasted") -> None:
        super().__init__()
        self.space = space
        self.kind = kind
        self.sort_by = "bytes"
        self.descending = DEFAULT_DESCENDING["bytes"]
        self.rows: list[SpaceRow] = []
        """The rows on screen, in their order (empty while they are computed)."""
        self.shown: tuple[str, str, bool] | None = None
        """(kind, sort, descending) of the rows on screen; None while computing."""

    def compose(self) -> ComposeResult:
        yield Static(id="space-title")
        yield Static(id="space-count")
        yield SpaceTable(id="space-rows")
        yield KeyBar()

    def on_mount(self) -> None:
        self._load()
        self.query_one(SpaceTable).focus()

    # -- rows ------------------------------------------------------------------------------
    def _load(self) -> None:
        """Show the current view and order: at once when cached, else after a worker computes it."""
        self.query_one("#space-title", Static).update(Text(TITLES[self.kind], style="bold"))
        wanted = (self.kind, self.sort_by, self.descending)
        if self.space.ready(*wanted):
            self._show(wanted, self.space.rows(*wanted))
            return
        self.shown = None
        self.query_one("#space-count", Static).update(Text("computing… (one pass over every layer's entries)"))
        self._compute(wanted)

    @work(thread=True, exclusive=True, exit_on_error=False, group="space")
    def _compute(self, wanted: tuple[str, str, bool]) -> None:
        from textual.worker import get_current_worker

        rows = self.space.rows(*wanted)
        self.app.call_from_thread(self._show, wanted, rows)
        worker = get_current_worker()
        self.space.warm(wanted[0], cancelled=lambda: worker.is_cancelled)

    def _show(self, wanted: tuple[str, str, bool], rows: list[SpaceRow]) -> None:
        if not self.is_attached or wanted != (self.kind, self.sort_by, self.descending):
            return  # the user asked for another view or order meanwhile
        keep = self.current()
        self.rows = rows
        self.shown = wanted
        table = self.query_one(SpaceTable)
        table.set_kind(self.kind)
        cursor = next((i for i, r in enumerate(rows) if r.path == keep.path), 0) if keep is not None else 0
        table.set_rows(len(rows), self._cells, cursor=cursor)
        total = sum(r.bytes for r in rows)
        order = ("descending" if self.descending else "ascending")
        what = "wasted" if self.kind == "wasted" else "in the biggest copies"
        self.query_one("#space-count", Static).update(Text(
            f"{len(rows)} paths, {human(total)} {what}; sorted by {self.sort_by}, {order} "
            f"(s p c l sort, again reverses; w b switch view; enter shows the copy in the file tree)"))

    def _cells(self, row: int) -> list[Text]:
        r = self.rows[row]
        layers = ",".join(str(n) for n in r.layers)
        return [Text(human(r.bytes), justify="right"), Text(str(r.copies), justify="right"),
                Text(cut_right(layers, LAYERS_WIDTH)),
                Text(cut_right(f"layer {r.entry.layer}, {status(self.space.analysis, r.entry)}", 34),
                     style="" if self.space.analysis.in_final(r.entry) else "magenta"),
                Text(cut_left(safe(r.path), PATH_WIDTH))]

    def current(self) -> SpaceRow | None:
        cursor = self.query_one(SpaceTable).cursor_row
        return self.rows[cursor] if 0 <= cursor < len(self.rows) else None

    # -- actions ---------------------------------------------------------------------------
    def action_sort(self, by: str) -> None:
        if by == self.sort_by:
            self.descending = not self.descending
        else:
            self.sort_by, self.descending = by, DEFAULT_DESCENDING[by]
        self._load()

    def action_kind(self, kind: str) -> None:
        if kind != self.kind:
            self.kind = kind
            self._load()

    def action_close(self) -> None:
        self.dismiss(None)

    @on(TableView.HeaderClicked)
    def _header_clicked(self, event: TableView.HeaderClicked) -> None:
        event.stop()
        if event.key in DEFAULT_DESCENDING:
            self.action_sort(event.key)

    @on(LineView.Chosen)
    def _chosen(self, event: LineView.Chosen) -> None:
        event.stop()
        if 0 <= event.row < len(self.rows):
            self.dismiss(self.rows[event.row].entry)


def space_screen(index, kind: str) -> SpaceScreen:
    """The space view of a scan (explorer.tui.index.ScanIndex), its rows cached with the index."""
    if index.space_rows is None:
        index.space_rows = SpaceRows(index.analysis, index.analysis.path_copies().copies)
    return SpaceScreen(index.space_rows, kind)
