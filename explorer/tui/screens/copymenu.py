"""The copy menu (`y`): what of the selection goes to the clipboard — path, sha256, finding as text or JSON."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from explorer.core.textsafe import safe
from explorer.tui.clipboard import CHOICES

KEYS = {"path": "p", "sha256": "s", "text": "t", "json": "j"}


class CopyMenu(ModalScreen[str | None]):
    """Answers the chosen kind (`path`, `sha256`, `text`, `json`), or None when cancelled."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Cancel", id="copy.cancel", tooltip="Close without copying"),
        Binding("p", "pick('path')", "Path", id="copy.path", tooltip="Copy the path"),
        Binding("s", "pick('sha256')", "sha256", id="copy.sha256", tooltip="Copy the file's sha256"),
        Binding("t", "pick('text')", "As text", id="copy.text", tooltip="Copy the finding as text (evidence masked)"),
        Binding("j", "pick('json')", "As JSON", id="copy.json",
                tooltip="Copy the finding as JSON, as scan --format json lists it (evidence masked)"),
    ]
    DEFAULT_CSS = """
    CopyMenu { align: center middle; background: $background; }
    CopyMenu > Vertical { width: 80; max-width: 100%; height: auto; border: thick $accent; background: $surface; }
    CopyMenu OptionList { height: auto; max-height: 12; }
    """

    def __init__(self, choices: dict[str, str]) -> None:
        super().__init__()
        self.choices = choices
        """kind -> the text that would be copied (shown cut to one line)."""

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Copy to the clipboard"
            options = []
            for kind, text in self.choices.items():
                preview = " ".join(safe(text).split())
                if len(preview) > 48:
                    preview = preview[:47] + "…"
                options.append(Option(Text.assemble((f"{KEYS[kind]}  ", "bold"), f"{CHOICES[kind]}: ",
                                                    (preview, "dim")), id=kind))
            yield OptionList(*options, id="choices")

    def action_pick(self, kind: str) -> None:
        if kind in self.choices:
            self.dismiss(kind)
        else:
            self.notify(f"No {CHOICES[kind]} to copy here", markup=False)

    @on(OptionList.OptionSelected, "#choices")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)
