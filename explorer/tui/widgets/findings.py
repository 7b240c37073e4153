"""All findings of the scan, sortable; choosing one shows its file in its layer (or its config view)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from explorer.findings import SEVERITY_RANK, Finding
from explorer.textsafe import safe
from explorer.tui.widgets.layers import SEVERITY_STYLE

SORTS = ("severity", "layer", "category")
_LAYER_NONE = -1


def sort_key(by: str):
    """Severity (worst first), layer (config findings first) or category, ties by the others."""
    def severity(f: Finding):
        return -SEVERITY_RANK[f.severity]

    def layer(f: Finding):
        return _LAYER_NONE if f.layer is None else f.layer

    order = {"severity": (severity, layer, lambda f: f.category),
             "layer": (layer, severity, lambda f: f.category),
             "category": (lambda f: f.category, severity, layer)}[by]
    return lambda f: tuple(k(f) for k in order) + (f.rule_id, f.path or "")


class FindingsTable(DataTable):
    @dataclass
    class FindingChosen(Message):
        finding: Finding

    COLUMNS = (("severity", "severity"), ("layer", "layer"), ("category", "category"), ("final", None),
               ("where", None), ("rule", None), ("evidence", None))

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for label, _sort in self.COLUMNS:
            self.add_column(label, key=label)
        self._findings: list[Finding] = []
        self.sort_by = "severity"

    def load(self, findings: list[Finding]) -> None:
        self._findings = list(findings)
        self._fill()

    @property
    def findings(self) -> list[Finding]:
        """The findings in the order shown."""
        return list(self._findings)

    def _fill(self, keep: Finding | None = None) -> None:
        self.clear()
        self._findings.sort(key=sort_key(self.sort_by))
        for i, f in enumerate(self._findings):
            where = f.path if f.source == "file" else f.source + (f" #{f.line}" if f.line else "")
            self.add_row(Text(f.severity, style=SEVERITY_STYLE[f.severity]),
                         Text("-" if f.layer is None else str(f.layer), justify="right"),
                         Text(f.category),
                         Text("yes" if f.in_final_image else "deleted",
                              style="" if f.in_final_image else "bold magenta"),
                         Text(safe(where or "")[:60]), Text(safe(f.rule_id)), Text(safe(f.evidence)[:80]),
                         key=str(i))
        self.border_subtitle = f"sorted by {self.sort_by} (s)"
        if keep is not None and keep in self._findings:
            self.move_cursor(row=self._findings.index(keep))

    def sort_findings(self, by: str) -> None:
        self.sort_by = by
        self._fill(keep=self._current())

    def _current(self) -> Finding | None:
        if not self._findings or self.cursor_row is None or not 0 <= self.cursor_row < len(self._findings):
            return None
        return self._findings[self.cursor_row]

    def action_cycle_sort(self) -> None:
        self.sort_findings(SORTS[(SORTS.index(self.sort_by) + 1) % len(SORTS)])

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        by = dict(self.COLUMNS).get(str(event.column_key.value))
        if by:
            self.sort_findings(by)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key is not None and event.row_key.value is not None:
            self.post_message(self.FindingChosen(self._findings[int(event.row_key.value)]))
