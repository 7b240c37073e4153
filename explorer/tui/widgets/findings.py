"""All findings of the scan, sortable, filterable (`F`) and grouped by rule (`g`); enter on one opens its
detail view (explorer.tui.screens.finding), enter on a group opens or closes it."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text
from textual.binding import Binding
from textual.message import Message

from explorer.core.findings import SEVERITY_RANK, Finding
from explorer.core.textsafe import safe
from explorer.tui.findings_filter import FindingFilter
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


@dataclass(eq=False)
class RuleGroup:
    """The findings of one rule, shown as one row (with their count) until opened."""

    rule_id: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def worst(self) -> Finding:
        return min(self.findings, key=lambda f: -SEVERITY_RANK[f.severity])


class FindingsTable(TableView):
    """Every finding of the scan (a virtualised table: only the rows on screen are built)."""

    BINDINGS = [
        Binding("g", "toggle_grouping", "Group by rule", id="findings.group",
                tooltip="One row per rule with its count (enter opens a group), or one row per finding"),
        Binding("F", "app.filter_findings", "Filter", id="findings.filter",
                tooltip="Show only findings of some severities, categories, rules or holding some text"),
        Binding("A", "app.accept_finding", "Accept", id="findings.accept",
                tooltip="Accept the finding: append it, with a reason, to the ignore file scan and open read"),
    ]

    @dataclass
    class FindingChosen(Message):
        """Go to the finding: its file in its layer, or its line of the config view."""
        finding: Finding

    @dataclass
    class FindingOpened(Message):
        """Enter on a finding: its detail view."""
        finding: Finding

    COLUMNS = (Column("severity", 8, "severity"), Column("layer", 5, "layer"), Column("final", 7),
               Column("rule", 12, flex=2, most=30), Column("where", 10, flex=3, cut="middle"),
               Column("evidence", 12, flex=3))
    """Widths (least widths of the flex columns, which share the rest of the pane: a row fits the pane, the
    evidence last; the category is the rule id's first word); a column whose key is a sort sorts the findings
    when its header is clicked."""

    def __init__(self, **kwargs) -> None:
        super().__init__(self.COLUMNS, **kwargs)
        self._all: list[Finding] = []
        self._findings: list[Finding] = []
        """The findings the filter lets through, in the current order."""
        self._rows: list[Finding | RuleGroup] = []
        self.sort_by = "severity"
        self.filter = FindingFilter()
        self.grouped = False
        self._open: set[str] = set()
        """Rule ids of the groups shown opened."""

    def load(self, findings: list[Finding]) -> None:
        self._all = list(findings)
        self._fill()

    @property
    def findings(self) -> list[Finding]:
        """The findings the filter lets through, in the order shown (groups opened)."""
        return list(self._findings)

    @property
    def all_findings(self) -> list[Finding]:
        return list(self._all)

    def _fill(self, keep: Finding | RuleGroup | None = None) -> None:
        """Show the findings in the current order, the cursor on `keep` (or the first row)."""
        self._all.sort(key=sort_key(self.sort_by))
        self._findings = [f for f in self._all if self.filter.matches(f)]
        if self.grouped:
            groups: dict[str, RuleGroup] = {}
            for f in self._findings:
                groups.setdefault(f.rule_id, RuleGroup(f.rule_id)).findings.append(f)
            self._rows = []
            for group in groups.values():  # in the order of each rule's first finding
                if len(group.findings) == 1:
                    self._rows.append(group.findings[0])
                    continue
                self._rows.append(group)
                if group.rule_id in self._open:
                    self._rows.extend(group.findings)
            self._findings = [f for g in groups.values() for f in g.findings]
        else:
            self._rows = list(self._findings)
        self.set_rows(len(self._rows), self._row_cells, cursor=self._row_of(keep))
        parts = [f"sorted by {self.sort_by} (s)"]
        if self.grouped:
            parts.append("grouped by rule (g)")
        if not self.filter.empty:
            parts.append(f"{len(self._findings)} of {len(self._all)} shown, filter (F): {self.filter.text()}")
        self.border_subtitle = safe(" · ".join(parts))

    def _row_of(self, item: Finding | RuleGroup | None) -> int:
        if item is None:
            return 0
        for i, row in enumerate(self._rows):
            if row is item or (isinstance(item, RuleGroup) and isinstance(row, RuleGroup)
                               and row.rule_id == item.rule_id):
                return i
        if isinstance(item, Finding):  # inside a closed group: on the group
            return next((i for i, row in enumerate(self._rows)
                         if isinstance(row, RuleGroup) and row.rule_id == item.rule_id), 0)
        return 0

    def row_of(self, finding: Finding) -> int:
        """The row of `finding`, its group opened if it was closed."""
        if self.grouped and finding.rule_id not in self._open and not any(r is finding for r in self._rows):
            self._open.add(finding.rule_id)
            self._fill(keep=finding)
        return self._row_of(finding)

    def _row_cells(self, row: int) -> list[Text]:
        item = self._rows[row]
        if isinstance(item, RuleGroup):
            worst = item.worst
            mark = "▾ " if item.rule_id in self._open else "▸ "
            return [Text(worst.severity, style=SEVERITY_STYLE[worst.severity]), Text(""), Text(""),
                    Text(mark + safe(item.rule_id), style="bold"),
                    Text(f"{len(item.findings)} findings", style="bold"), Text(safe(worst.title), style="italic")]
        f = item
        rule = ("  " if self.grouped and f.rule_id in self._open else "") + safe(f.rule_id)
        return [Text(f.severity, style=SEVERITY_STYLE[f.severity]),
                Text("-" if f.layer is None else str(f.layer), justify="right"),
                Text("yes" if f.in_final_image else "deleted", style="" if f.in_final_image else "bold magenta"),
                Text(rule), Text(safe(f.where)[-400:]), Text(safe(f.evidence)[:400])]

    def sort_findings(self, by: str) -> None:
        self.sort_by = by
        self._fill(keep=self.current_item())

    def current_item(self) -> Finding | RuleGroup | None:
        return self._rows[self.cursor] if 0 <= self.cursor < len(self._rows) else None

    def current_finding(self) -> Finding | None:
        """The finding under the cursor (a group's worst one on a group row)."""
        item = self.current_item()
        return item.worst if isinstance(item, RuleGroup) else item

    def action_cycle_sort(self) -> None:
        self.sort_findings(SORTS[(SORTS.index(self.sort_by) + 1) % len(SORTS)])

    def action_toggle_grouping(self) -> None:
        self.toggle_grouping()

    def toggle_grouping(self) -> None:
        """Rows of findings, or one row per rule (with its count) that enter opens."""
        keep = self.current_item()
        self.grouped = not self.grouped
        if isinstance(keep, RuleGroup):
            keep = keep.findings[0]
        self._fill(keep=keep)

    def set_filter(self, flt: FindingFilter) -> None:
        keep = self.current_item()
        self.filter = flt
        self._fill(keep=keep)

    def remove(self, finding: Finding) -> None:
        """Take `finding` out of the pane (it was accepted), the cursor on the next row."""
        row = self.cursor
        self._all = [f for f in self._all if f is not finding]
        self._fill()
        if self._rows:
            self.go_to(min(row, len(self._rows) - 1), center=False)

    def on_table_view_header_clicked(self, event: TableView.HeaderClicked) -> None:
        event.stop()
        if event.key in SORTS:
            self.sort_findings(event.key)

    def on_line_view_chosen(self, event: LineView.Chosen) -> None:
        event.stop()
        if not 0 <= event.row < len(self._rows):
            return
        item = self._rows[event.row]
        if isinstance(item, RuleGroup):
            self._open ^= {item.rule_id}
            self._fill(keep=item)
        else:
            self.post_message(self.FindingOpened(item))
