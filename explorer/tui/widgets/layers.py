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
from explorer.tui.index import ScanIndex

SEVERITY_STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan",
                  "info": "dim"}


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
        for label, key in (("#", "idx"), ("size", "size"), ("+", "add"), ("~", "mod"), ("-", "del"),
                           ("!", "find"), ("created by", "cmd")):
            self.add_column(label, key=key)

    def load(self, index: ScanIndex) -> None:
        self.clear()
        for report in index.analysis.layers:
            ch = report.changes
            worst = index.worst(report.index)
            count = len(index.by_layer.get(report.index, []))
            flag = Text(str(count), style=SEVERITY_STYLE[worst]) if worst else Text("")
            created = " ".join(safe(redact_text(report.ref.created_by)).split())
            for prefix in ("/bin/sh -c #(nop) ", "/bin/sh -c "):
                if created.startswith(prefix):
                    created = ("RUN " if prefix == "/bin/sh -c " else "") + created[len(prefix):]
            self.add_row(Text(str(report.index)), Text(human(report.stats.size), justify="right"),
                         Text(str(len(ch.added)), style="green"), Text(str(len(ch.modified)), style="yellow"),
                         Text(str(len(ch.deleted)), style="red"), flag, Text(created[:120]),
                         key=str(report.index))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.row_key is not None and event.row_key.value is not None:
            self.post_message(self.LayerSelected(int(event.row_key.value)))

    def action_open_layer(self) -> None:
        self.app.action_focus_tree()
