"""Find a path in any layer: every copy matches, including those a later layer deleted or replaced.

A query with `*`, `?` or `[` is a glob over the whole path (and over the name alone when it has no
`/`); anything else is a case-insensitive substring. The search runs on a worker, so typing never
waits for it, even over a few hundred thousand copies.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from explorer.layerfs.analysis import ImageAnalysis
from explorer.core.model import FileEntry
from explorer.core.textsafe import safe

LIMIT = 300
DEBOUNCE = 0.12
"""Seconds of no typing before a search starts (each keystroke would start one)."""


def matcher(query: str):
    """A predicate on paths: glob when the query has glob characters, else a case-insensitive substring."""
    if any(c in query for c in "*?["):
        pattern = re.compile(fnmatch.translate(query.lower()))
        if "/" in query:
            return lambda path: pattern.match(path.lower()) is not None
        return lambda path: (pattern.match(path.lower()) is not None
                             or pattern.match(path.rsplit("/", 1)[-1].lower()) is not None)
    needle = query.lower()
    return lambda path: needle in path.lower()


def find_paths(analysis: ImageAnalysis, text: str, limit: int = LIMIT, cancelled=lambda: False) -> list[FileEntry]:
    """Copies whose path matches `text` (see `matcher`), lowest layer first, at most `limit`."""
    match = matcher(text)
    out = []
    for n, entry in enumerate(analysis.entries()):
        if not entry.is_whiteout and match(entry.path):
            out.append(entry)
            if len(out) >= limit:
                break
        if n % 20000 == 0 and cancelled():
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


@dataclass
class Results:
    query: str
    found: list[FileEntry]


class SearchScreen(ModalScreen[FileEntry | None]):
    BINDINGS = [Binding("escape", "dismiss_none", "Close search", tooltip="Close the search")]
    DEFAULT_CSS = """
    SearchScreen { align: center middle; background: $background; }
    SearchScreen > Vertical { width: 110; height: 80%; border: thick $accent; background: $surface; }
    SearchScreen #count { height: 1; padding: 0 1; color: $text-muted; }
    SearchScreen OptionList { height: 1fr; }
    """

    def __init__(self, analysis: ImageAnalysis, query: str = "") -> None:
        super().__init__()
        self.analysis = analysis
        self.found: list[FileEntry] = []
        self.searched: str | None = None
        """The query the results on screen answer (None before the first search)."""
        self._initial = query
        self._timer = None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Find a path in every layer (substring, or a glob: *.pem, /etc/*/id_*)"
            yield Input(value=self._initial, placeholder="part of a path, e.g. .env, or a glob: *id_rsa*",
                        id="query")
            yield Static(id="count")
            yield OptionList(id="results")

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
        self.found = results.found
        self.searched = results.query
        options = []
        for i, entry in enumerate(self.found):
            visible = self.analysis.in_final(entry)
            label = Text(f"layer {entry.layer:>3}  ")
            label.append(safe(entry.path), style="" if visible else "magenta")
            label.append(f"  {entry.kind.value}, {status(self.analysis, entry)}", style="dim")
            options.append(Option(label, id=str(i)))
        results_list = self.query_one(OptionList)
        results_list.clear_options()
        results_list.add_options(options)
        more = f" (the first {LIMIT})" if len(self.found) >= LIMIT else ""
        self.query_one("#count", Static).update(
            Text(f"{len(self.found)} copies{more}; enter or ↓ to choose" if results.query else ""))

    @on(Input.Submitted, "#query")
    def _first(self) -> None:
        if self.found:
            self.dismiss(self.found[0])

    def on_key(self, event) -> None:
        if event.key == "down" and self.query_one("#query", Input).has_focus and self.found:
            event.stop()
            results = self.query_one(OptionList)
            results.focus()
            if results.highlighted is None:
                results.highlighted = 0

    @on(OptionList.OptionSelected, "#results")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.found[int(event.option.id)])

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
