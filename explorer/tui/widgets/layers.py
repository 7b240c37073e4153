"""The layer list: one row per layer, with its changes and the worst finding it holds."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.message import Message

from explorer.core.units import human
from explorer.detectors.redact import redact_text
from explorer.core.textsafe import safe
from explorer.tui.index import SEVERITY_LETTER, ScanIndex
from explorer.tui.tableview import Column, TableView, cut_text

SEVERITY_STYLE = {"critical": "bold reverse red", "high": "bold red", "medium": "yellow", "low": "cyan",
                  "info": "bright_black"}
"""A severity's text: ANSI colour names, which the app maps to the current theme's colours when drawn
(explorer.tui.themes.ansi_palette); critical in reverse video, so that it stands out in any theme."""


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


class LayerTable(TableView):
    """Layers in the order they are applied (row i is layer i)."""

    BINDINGS = [
        Binding("enter", "open_layer", "Browse layer", show=False, tooltip="Show this layer's files"),
    ]

    @dataclass
    class LayerSelected(Message):
        index: int

    def __init__(self, **kwargs) -> None:
        super().__init__([Column("#"), Column("size"), Column("+added ~mod -del"), Column("findings"),
                          Column("created by", flex=1, cut="middle")], **kwargs)

    def load(self, index: ScanIndex, cursor: int = 0) -> None:
        problems = {p.layer for p in index.analysis.problems}
        rows = []
        for report in index.analysis.layers:
            ch = report.changes
            changes = Text.assemble((f"+{len(ch.added)}", "green"), " ", (f"~{len(ch.modified)}", "yellow"), " ",
                                    (f"-{len(ch.deleted)}", "red"))
            number = Text(str(report.index), style="bold red" if report.index in problems else "")
            rows.append([number, Text(human(report.stats.size), justify="right"), changes,
                         severity_counts(index.severity_counts(report.index)),
                         cut_text(Text(short_created_by(report.ref.created_by)), 160, "middle")])
        self.set_rows(len(rows), rows.__getitem__, cursor=cursor)

    def on_table_view_highlighted(self, event: TableView.Highlighted) -> None:
        event.stop()
        self.post_message(self.LayerSelected(event.row))

    def action_open_layer(self) -> None:
        self.app.action_focus_tree()
