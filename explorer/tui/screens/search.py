"""Find a path in any layer: every copy matches, including those a later layer deleted."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from explorer.layerfs.analysis import ImageAnalysis
from explorer.model import FileEntry
from explorer.textsafe import safe

LIMIT = 500


def find_paths(analysis: ImageAnalysis, text: str, limit: int = LIMIT) -> list[FileEntry]:
    """Copies whose path contains `text` (case-insensitive), lowest layer first, at most `limit`."""
    needle = text.lower()
    out = []
    for entry in analysis.entries():
        if not entry.is_whiteout and needle in entry.path.lower():
            out.append(entry)
            if len(out) >= limit:
                break
    return out


class SearchScreen(ModalScreen[FileEntry | None]):
    BINDINGS = [Binding("escape", "dismiss_none", "Close search")]
    DEFAULT_CSS = """
    SearchScreen { align: center middle; }
    SearchScreen > Vertical { width: 100; height: 80%; border: thick $accent; background: $surface; }
    SearchScreen OptionList { height: 1fr; }
    """

    def __init__(self, analysis: ImageAnalysis) -> None:
        super().__init__()
        self.analysis = analysis
        self.found: list[FileEntry] = []

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Find a path in every layer"
            yield Input(placeholder="part of a path, e.g. .env or id_rsa", id="query")
            yield OptionList(id="results")

    @on(Input.Changed, "#query")
    def _search(self, event: Input.Changed) -> None:
        results = self.query_one(OptionList)
        results.clear_options()
        self.found = find_paths(self.analysis, event.value) if len(event.value) >= 2 else []
        for i, entry in enumerate(self.found):
            label = Text(f"layer {entry.layer:>3}  ")
            label.append(safe(entry.path), style="" if self.analysis.in_final(entry) else "magenta")
            if not self.analysis.in_final(entry):
                label.append("  (not in the final image)", style="dim")
            results.add_option(Option(label, id=str(i)))

    @on(Input.Submitted, "#query")
    def _first(self) -> None:
        if self.found:
            self.dismiss(self.found[0])

    @on(OptionList.OptionSelected, "#results")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.found[int(event.option.id)])

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
