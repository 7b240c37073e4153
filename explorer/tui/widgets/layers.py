"""The layer list: one row per layer, with its changes and the worst finding it holds."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from explorer.commands.layers import human
from explorer.redact import redact_text
from explorer.textsafe import safe
from explorer.tui.index import SEVERITY_LETTER, ScanIndex

SEVERITY_STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan",
                  "info": "dim"}


def short_created_by(created_by: str) -> str:
    """The history line as a Dockerfile reader knows it: secrets masked, shell prefixes dropped, one line."""
    created = " ".join(safe(redact_text(created_by)).split())
    for prefix in ("/bin/sh -c #(nop) ", "/bin/sh -c "):
        if created.startswith(prefix):
            created = ("RUN " if prefix == "/bin/sh -c " else "") + created[len(prefix):].lstrip()
    return created


def severity_counts(counts: dict[str, int]) -> Text:
    """`2C 1H 3M`: findings by severity, each in its severity's colour."""
    text = Text()
    for severity, n in counts.items():
        if text:
            text.append(" ")
        text.append(f"{n}{SEVERITY_LETTER[severity]}", style=SEVERITY_STYLE[severity])
    return text


class LayerTable(DataTable):
    """Layers in the order they are applied."""

    BINDINGS = [
        Binding("enter", "open_layer", "Browse layer", show=False, tooltip="Show this layer's files"),
    ]

    @dataclass
    class LayerSelected(Message):
        index: int

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for label, key in (("#", "idx"), ("size", "size"), ("+added ~mod -del", "changes"),
                           ("findings", "find"), ("created by", "cmd")):
            self.add_column(label, key=key)

    def load(self, index: ScanIndex) -> None:
        self.clear()
        problems = {p.layer for p in index.analysis.problems}
        for report in index.analysis.layers:
            ch = report.changes
            changes = Text.assemble((f"+{len(ch.added)}", "green"), " ", (f"~{len(ch.modified)}", "yellow"), " ",
                                    (f"-{len(ch.deleted)}", "red"))
            number = Text(str(report.index), style="bold red" if report.index in problems else "")
            self.add_row(number, Text(human(report.stats.size), justify="right"), changes,
                         severity_counts(index.severity_counts(report.index)),
                         Text(short_created_by(report.ref.created_by)[:120]), key=str(report.index))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.row_key is not None and event.row_key.value is not None:
            self.post_message(self.LayerSelected(int(event.row_key.value)))

    def action_open_layer(self) -> None:
        self.app.action_focus_tree()
