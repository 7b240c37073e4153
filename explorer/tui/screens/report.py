"""Export the findings report (`R`): SARIF, JSON (what `explorer scan --format sarif|json` writes) or
Markdown for a ticket, into a folder; written by explorer.reports.handover (new files only)."""

from __future__ import annotations

import os

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, RadioButton, RadioSet, Static

FORMAT_LABELS = (("sarif", "SARIF 2.1.0 (scan --format sarif)"), ("json", "JSON (scan --format json)"),
                 ("markdown", "Markdown table for a ticket"), ("all", "all three"))


class ReportScreen(ModalScreen[tuple[str, str] | None]):
    """Answers (folder, format) — format one of sarif, json, markdown, all — or None when cancelled."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", id="report.cancel", tooltip="Close without writing")]
    DEFAULT_CSS = """
    ReportScreen { align: center middle; background: $background; }
    ReportScreen > Vertical { width: 90; max-width: 100%; height: auto; border: thick $accent;
                              background: $surface; padding: 1 2; }
    ReportScreen Static { margin-bottom: 1; }
    ReportScreen RadioSet { margin-bottom: 1; }
    """

    def __init__(self, count: int, default: str | None = None) -> None:
        super().__init__()
        self.count = count
        self.default = default if default is not None else os.getcwd()

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Export the findings report"
            yield Static(Text(f"The {self.count} findings of the scan (the ignore file applied), evidence masked. "
                              "Type the folder to write into (a relative one is below the current folder) and "
                              "press enter; shift+tab picks another format (↑ ↓ enter). A new file "
                              "explorer-report.EXT is made there; nothing is overwritten."))
            with RadioSet(id="format"):
                for n, (_key, label) in enumerate(FORMAT_LABELS):
                    yield RadioButton(label, value=n == 0)
            yield Input(value=self.default, id="folder", placeholder="folder")

    def on_mount(self) -> None:
        self.query_one("#folder", Input).focus()

    @property
    def format(self) -> str:
        index = self.query_one("#format", RadioSet).pressed_index
        return FORMAT_LABELS[max(0, index)][0]

    @on(Input.Submitted, "#folder")
    def _submit(self, event: Input.Submitted) -> None:
        folder = os.path.expanduser(event.value.strip())
        self.dismiss((folder, self.format) if folder else None)
