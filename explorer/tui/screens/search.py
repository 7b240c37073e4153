"""Find a path in any layer: every copy matches, including those a later layer deleted or replaced.

A query with `*`, `?` or `[` is a glob over the whole path (and over the name alone when it has no
`/`); anything else is a case-insensitive substring. The search runs on a worker, so typing never
waits for it, even over a few hundred thousand copies. Every match is listed, up to LIMIT (the count
says when it stops there), with its size, in a virtualised table sortable by layer, path or size.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from explorer.core.model import EntryKind, FileEntry
from explorer.core.textsafe import safe
from explorer.core.units import human
from explorer.layerfs.analysis import ImageAnalysis
from explorer.tui.lineview import LineView
from explorer.tui.pathmatch import matcher
from explorer.tui.tableview import Column, TableView
from explorer.tui.themes import MUTED

LIMIT = 100_000
"""Copies listed at most (a query such as `/` matches every copy of a big image; the count says so)."""
SORTS = {"layer": False, "path": False, "size": True}
"""Sort orders of the results, and whether the first press sorts descending (size: biggest first)."""
PATH_WIDTH = 64
DEBOUNCE = 0.12
"""Seconds of no typing before a search starts (each keystroke would start one)."""


CANCEL_EVERY = 1024
"""Entries between two looks at `cancelled`: a search of the bench image's 74k entries holds the GIL for
60-85 ms, and a key pressed meanwhile waits for the UI thread's turns at it. Escape (`dismiss` cancels the
worker) now stops the thread within about a millisecond of work, not up to 20,000 entries later."""


def find_paths(analysis: ImageAnalysis, text: str, limit: int = LIMIT, cancelled=lambda: False) -> list[FileEntry]:
    """Copies whose path matches `text` (see `matcher`), lowest layer first, at most `limit`; what was
    found so far once `cancelled()` says so (looked at every CANCEL_EVERY entries)."""
    match = matcher(text)
    out = []
    for n, entry in enumerate(analysis.entries(), 1):
        if not entry.is_whiteout and match(entry.path):
            out.append(entry)
            if len(out) >= limit:
                break
        if n % CANCEL_EVERY == 0 and cancelled():
            break
    return out


def status(analysis: ImageAnalysis, entry: FileEntry) -> str:
    """What became of a copy: in the final image, or which layer deleted or replaced it."""
    if analysis.in_final(entry):
        return "in the final image"
    fate = analysis.fates.get((entry.layer, entry.path))
    if fate is not None:
        return f"{fate.how} by layer {fate.layer}"
    return "not in the final image"


def sort_found(found: list[FileEntry], by: str, descending: bool) -> list[FileEntry]:
    """The copies in that order; ties in the order found (lowest layer first)."""
    if by == "layer":
        key = lambda e: e.layer  # noqa: E731
    elif by == "path":
        key = lambda e: e.path  # noqa: E731
    else:
        key = lambda e: e.size if e.kind == EntryKind.FILE else 0  # noqa: E731
    return sorted(found, key=key, reverse=descending)


@dataclass
class Results:
    query: str
    found: list[FileEntry]


class SearchScreen(ModalScreen[FileEntry | None]):
    BINDINGS = [Binding("escape", "dismiss_none", "Close search", tooltip="Close the search"),
                Binding("l", "sort('layer')", "Sort: layer", tooltip="Results by layer, lowest first (again: "
                                                                    "reverse); in the result list"),
                Binding("p", "sort('path')", "Sort: path", tooltip="Results by path, A to Z (again: reverse); "
                                                                  "in the result list"),
                Binding("s", "sort('size')", "Sort: size", tooltip="Results by size, largest first (again: "
                                                                  "reverse); in the result list")]
    DEFAULT_CSS = """
    SearchScreen { align: center middle; background: $background; }
    SearchScreen > Vertical { width: 120; height: 80%; border: thick $accent; background: $surface; }
    SearchScreen #count { height: 1; padding: 0 1; color: $text-muted; }
    SearchScreen TableView { height: 1fr; max-height: 100%; }
    """
    COLUMNS = (Column("layer", 5, "layer"), Column("size", 9, "size"), Column("path", PATH_WIDTH, "path"),
               Column("what became of it", 30))

    def __init__(self, analysis: ImageAnalysis, query: str = "") -> None:
        super().__init__()
        self.analysis = analysis
        self.found: list[FileEntry] = []
        """The copies listed, in the order shown."""
        self._matches: list[FileEntry] = []
        """The same copies in the order found (lowest layer first)."""
        self.searched: str | None = None
        """The query the results on screen answer (None before the first search)."""
        self.sort_by = "layer"
        self.descending = False
        self._initial = query
        self._timer = None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Find a path in every layer (substring, or a glob: *.pem, /etc/*/id_*)"
            yield Input(value=self._initial, placeholder="part of a path, e.g. .env, or a glob: *id_rsa*",
                        id="query")
            yield Static(id="count")
            yield TableView(self.COLUMNS, id="results")

    @on(Input.Changed, "#query")
    def _changed(self, event: Input.Changed) -> None:
        query = event.value
        if len(query.strip("*?")) < 2:
            self._show(Results(query, []))
            return
        self.query_one("#count", Static).update(Text("searching…"))
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE, lambda: self._search(query))

    @work(thread=True, exclusive=True, exit_on_error=False, group="search")
    def _search(self, query: str) -> None:
        from textual.worker import get_current_worker

        worker = get_current_worker()
        found = find_paths(self.analysis, query, cancelled=lambda: worker.is_cancelled)
        if not worker.is_cancelled:
            self.app.call_from_thread(self._show, Results(query, found))

    def _show(self, results: Results) -> None:
        if not self.is_attached:
            return
        if results.query != self.query_one("#query", Input).value:
            return  # an older search finished after the query changed
        self.searched = results.query
        self._matches = results.found
        self._list()

    def _list(self, keep: FileEntry | None = None) -> None:
        """Show the matches in the current order, the cursor on `keep` (or the first)."""
        found = self._matches
        self.found = found if (self.sort_by, self.descending) == ("layer", False) else \
            sort_found(found, self.sort_by, self.descending)
        cursor = next((i for i, e in enumerate(self.found) if e is keep), 0) if keep is not None else 0
        self.query_one(TableView).set_rows(len(self.found), self._cells, cursor=cursor)
        if not self.searched:
            self.query_one("#count", Static).update(Text(""))
            return
        more = f" — stopped at the first {LIMIT}: narrow the query for the rest" if len(self.found) >= LIMIT else ""
        order = "descending" if self.descending else "ascending"
        self.query_one("#count", Static).update(Text(
            f"{len(self.found)} copies{more}; by {self.sort_by}, {order}; ↓ to the list, then enter chooses, "
            f"l p s sort"))

    def _cells(self, row: int) -> list[Text]:
        entry = self.found[row]
        visible = self.analysis.in_final(entry)
        path = safe(entry.path)
        if len(path) > PATH_WIDTH:
            path = "…" + path[len(path) - PATH_WIDTH + 1:]
        size = human(entry.size) if entry.kind == EntryKind.FILE else entry.kind.value
        return [Text(str(entry.layer), justify="right"), Text(size, justify="right"),
                Text(path, style="" if visible else "magenta"),
                Text(status(self.analysis, entry), style=MUTED)]

    def row_text(self, row: int) -> Text:
        """Row `row` as shown (the cells joined)."""
        table = self.query_one(TableView)
        return table._join(table.get_row_at(row))

    def action_sort(self, by: str) -> None:
        if by == self.sort_by:
            self.descending = not self.descending
        else:
            self.sort_by, self.descending = by, SORTS[by]
        table = self.query_one(TableView)
        keep = self.found[table.cursor_row] if 0 <= table.cursor_row < len(self.found) else None
        self._list(keep)

    @on(TableView.HeaderClicked)
    def _header_clicked(self, event: TableView.HeaderClicked) -> None:
        event.stop()
        if event.key in SORTS:
            self.action_sort(event.key)

    @on(Input.Submitted, "#query")
    def _first(self) -> None:
        if self.found:
            self.dismiss(self.found[0])

    def on_key(self, event) -> None:
        if event.key == "down" and self.query_one("#query", Input).has_focus and self.found:
            event.stop()
            self.query_one(TableView).focus()

    @on(LineView.Chosen, "#results")
    def _chosen(self, event: LineView.Chosen) -> None:
        event.stop()
        if 0 <= event.row < len(self.found):
            self.dismiss(self.found[event.row])

    def dismiss(self, result=None):
        # the search thread stops before the screen below is drawn, not when this one is unmounted after it
        self.workers.cancel_group(self, "search")
        return super().dismiss(result)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
