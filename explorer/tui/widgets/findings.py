"""All findings of the scan; choosing one shows its file in its layer."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from explorer.findings import Finding
from explorer.textsafe import safe
from explorer.tui.widgets.layers import SEVERITY_STYLE


class FindingsTable(DataTable):
    @dataclass
    class FindingChosen(Message):
        finding: Finding

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for label in ("severity", "layer", "final", "where", "rule", "evidence"):
            self.add_column(label, key=label)
        self._findings: list[Finding] = []

    def load(self, findings: list[Finding]) -> None:
        self.clear()
        self._findings = list(findings)
        for i, f in enumerate(self._findings):
            where = f.path if f.source == "file" else f.source + (f" #{f.line}" if f.line else "")
            self.add_row(Text(f.severity, style=SEVERITY_STYLE[f.severity]),
                         Text("-" if f.layer is None else str(f.layer), justify="right"),
                         Text("yes" if f.in_final_image else "deleted",
                              style="" if f.in_final_image else "bold magenta"),
                         Text(safe(where or "")[:60]), Text(f.rule_id), Text(safe(f.evidence)[:80]), key=str(i))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key is not None and event.row_key.value is not None:
            self.post_message(self.FindingChosen(self._findings[int(event.row_key.value)]))
