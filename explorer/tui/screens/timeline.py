"""The preview's timeline panel rows and the picker that chooses two versions to diff."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from explorer.core.units import human
from explorer.layerfs.analysis import ImageAnalysis
from explorer.layerfs.timeline import Version
from explorer.detectors.redact import redact_text
from explorer.reports.imageconfig import instruction
from explorer.core.textsafe import safe
from explorer.tui.themes import MUTED

CHANGE_STYLE = {"added": "green", "modified": "yellow", "unchanged": MUTED, "deleted": "red"}


def created_by(analysis: ImageAnalysis, layer: int, width: int = 200, short: bool = False) -> str:
    """The layer's `created_by`, redacted, escaped, on one line, at most `width` characters; `short`:
    as a Dockerfile instruction (`RUN make` for `/bin/sh -c make`)."""
    text = analysis.layers[layer].ref.created_by
    if short:
        text = instruction(text)[0]
    text = " ".join(safe(redact_text(text)).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def version_row(analysis: ImageAnalysis, version: Version, current: bool = False, width: int = 60) -> Text:
    """`▶ layer 2 added     12 B  COPY app/ …` — one version of a path on one line."""
    row = Text("▶ " if current else "  ", style="bold")
    row.append(f"layer {version.layer:<3}", style="bold")
    row.append(f"{version.change:<9}", style=CHANGE_STYLE.get(version.change, ""))
    if version.entry is not None:
        size = human(version.entry.size) if version.readable else version.entry.kind.value
        row.append(f"{size:>9}  ")
    else:
        row.append(f"{safe(version.detail)[:20]:>9}  ", style="red")
    row.append(created_by(analysis, version.layer, width, short=True), style=MUTED)
    return row


class TimelineList(OptionList):
    """The preview's timeline panel: one option per version, its history line whole (wrapped, not cut at
    the panel's edge); enter or a click shows that version (OptionSelected, `option_index`)."""

    def show(self, analysis: ImageAnalysis, versions: list[Version], current) -> None:
        """List `versions`, the one whose entry is `current` marked and highlighted."""
        at = next((i for i, v in enumerate(versions) if v.entry is current), 0)
        self.set_options([Option(version_row(analysis, v, v.entry is current, 2000)) for v in versions])
        self.highlighted = at if versions else None

    def say(self, message: str) -> None:
        """A line of text instead of versions (while they are read)."""
        self.set_options([Option(Text(message, style=MUTED), disabled=True)])

    @property
    def plain(self) -> str:
        """The options' text, one per line (for tests)."""
        return "\n".join(str(self.get_option_at_index(i).prompt) for i in range(self.option_count))


class DiffPicker(ModalScreen[tuple[int, int] | None]):
    """Choose two versions (the older first, then the newer) to compare; returns their indexes."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", tooltip="Close the picker without a diff")]
    DEFAULT_CSS = """
    DiffPicker { align: center middle; background: $background; }
    DiffPicker > Vertical { width: 90; height: auto; max-height: 80%; border: thick $accent;
                            background: $surface; padding: 0 1; }
    DiffPicker OptionList { height: auto; max-height: 20; }
    """

    def __init__(self, analysis: ImageAnalysis, versions: list[Version]) -> None:
        super().__init__()
        self.analysis = analysis
        self.versions = versions
        self.first: int | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Diff: choose the first (older) version", style="bold"), id="prompt")
            yield OptionList(*[Option(version_row(self.analysis, v), id=str(i))
                               for i, v in enumerate(self.versions)], id="versions")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        index = int(event.option.id)
        if self.first is None:
            self.first = index
            self.query_one("#prompt", Static).update(
                Text(f"Diff layer {self.versions[index].layer} against: choose the second version", style="bold"))
            return
        self.dismiss((self.first, index))
