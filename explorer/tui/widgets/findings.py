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
BATCH = 100
"""Rows added at once."""
MAX_ROWS = 1000
"""Rows shown at most (in the current order): DataTable's per-row bookkeeping grows with its length, so
more rows would hold the UI; `explorer scan` lists them all, and the file tree flags every path."""
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

    COLUMNS = (("severity", "severity", 8), ("layer", "layer", 5), ("final", None, 7), ("rule", None, 28),
               ("where", None, 36), ("category", "category", 10), ("evidence", None, 60))
    """(label, sort key, width): fixed widths, so that adding a row does not measure every cell
    (10,000 findings: 3 s of measuring with auto widths)."""

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        for label, _sort, width in self.COLUMNS:
            self.add_column(label, key=label, width=width)
        self._findings: list[Finding] = []
        self._generation = 0
        self.sort_by = "severity"

    def load(self, findings: list[Finding]) -> None:
        self._findings = list(findings)
        self._fill()

    @property
    def findings(self) -> list[Finding]:
        """The findings in the order shown."""
        return list(self._findings)

    def _fill(self, keep: Finding | None = None) -> None:
        """Show the findings in the current order: the first BATCH rows now, the rest a batch per tick
        (DataTable measures every cell it adds; thousands of findings would hold the UI for seconds)."""
        self.clear()
        self._findings.sort(key=sort_key(self.sort_by))
        self._generation += 1
        self._add_rows(self._generation, 0, keep)

    def _add_rows(self, generation: int, start: int, keep: Finding | None) -> None:
        if generation != self._generation:
            return  # sorted again since
        shown = min(len(self._findings), MAX_ROWS)
        end = min(shown, start + BATCH)
        for i in range(start, end):
            f = self._findings[i]
            where = f.path if f.source == "file" else f.source + (f" #{f.line}" if f.line else "")
            self.add_row(Text(f.severity, style=SEVERITY_STYLE[f.severity]),
                         Text("-" if f.layer is None else str(f.layer), justify="right"),
                         Text("yes" if f.in_final_image else "deleted",
                              style="" if f.in_final_image else "bold magenta"),
                         Text(safe(f.rule_id)), Text(safe(where or "")[-120:]), Text(f.category),
                         Text(safe(f.evidence)[:120]),
                         key=str(i))
        more = f" · first {end} of {len(self._findings)}" if end < len(self._findings) else ""
        self.border_subtitle = f"sorted by {self.sort_by} (s){more}"
        if keep is not None:
            position = next((i for i in range(start, end) if self._findings[i] is keep), None)
            if position is not None:
                self.move_cursor(row=position)
        if end < shown:
            self.set_timer(0.05, lambda: self._add_rows(generation, end, keep))

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
        by = {label: key for label, key, _width in self.COLUMNS}.get(str(event.column_key.value))
        if by:
            self.sort_findings(by)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key is not None and event.row_key.value is not None:
            self.post_message(self.FindingChosen(self._findings[int(event.row_key.value)]))
