"""All findings of the scan, sortable; choosing one shows its file in its layer (or its config view)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.message import Message

from explorer.core.findings import SEVERITY_RANK, Finding
from explorer.core.textsafe import safe
from explorer.tui.lineview import LineView
from explorer.tui.tableview import Column, TableView
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


class FindingsTable(TableView):
    """Every finding of the scan (a virtualised table: only the rows on screen are built)."""

    @dataclass
    class FindingChosen(Message):
        finding: Finding

    COLUMNS = (Column("severity", 8, "severity"), Column("layer", 5, "layer"), Column("final", 7),
               Column("rule", 28), Column("where", 36), Column("category", 10, "category"),
               Column("evidence", 60))
    """Fixed widths; a column whose key is a sort sorts the findings when its header is clicked."""

    def __init__(self, **kwargs) -> None:
        super().__init__(self.COLUMNS, **kwargs)
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
        """Show the findings in the current order, the cursor on `keep` (or the first)."""
        self._findings.sort(key=sort_key(self.sort_by))
        position = next((i for i, f in enumerate(self._findings) if f is keep), 0) if keep is not None else 0
        self.set_rows(len(self._findings), self._row_cells, cursor=position)
        self.border_subtitle = f"sorted by {self.sort_by} (s)"

    def _row_cells(self, row: int) -> list[Text]:
        f = self._findings[row]
        where = f.path if f.source == "file" else f.source + (f" #{f.line}" if f.line else "")
        return [Text(f.severity, style=SEVERITY_STYLE[f.severity]),
                Text("-" if f.layer is None else str(f.layer), justify="right"),
                Text("yes" if f.in_final_image else "deleted", style="" if f.in_final_image else "bold magenta"),
                Text(safe(f.rule_id)), Text(safe(where or "")[-120:]), Text(f.category),
                Text(safe(f.evidence)[:120])]

    def sort_findings(self, by: str) -> None:
        self.sort_by = by
        self._fill(keep=self._current())

    def _current(self) -> Finding | None:
        return self._findings[self.cursor] if 0 <= self.cursor < len(self._findings) else None

    def action_cycle_sort(self) -> None:
        self.sort_findings(SORTS[(SORTS.index(self.sort_by) + 1) % len(SORTS)])

    def on_table_view_header_clicked(self, event: TableView.HeaderClicked) -> None:
        event.stop()
        if event.key in SORTS:
            self.sort_findings(event.key)

    def on_line_view_chosen(self, event: LineView.Chosen) -> None:
        event.stop()
        if 0 <= event.row < len(self._findings):
            self.post_message(self.FindingChosen(self._findings[event.row]))
