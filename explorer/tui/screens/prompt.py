"""A one-line question (the findings filter, the reason for accepting a finding): enter answers, escape cancels."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class PromptScreen(ModalScreen[str | None]):
    """Answers what was typed (maybe empty), or None when cancelled."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="prompt.cancel", tooltip="Close, changing nothing")]
    DEFAULT_CSS = """
    PromptScreen { align: center middle; background: $background; }
    PromptScreen > Vertical { width: 90; max-width: 100%; height: auto; border: thick $accent;
                              background: $surface; padding: 1 2; }
    PromptScreen Static { margin-bottom: 1; }
    """

    def __init__(self, title: str, question: Text | str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.question = question if isinstance(question, Text) else Text(question)
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            yield Static(self.question)
            yield Input(value=self.value, placeholder=self.placeholder, id="answer")

    @on(Input.Submitted, "#answer")
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)
