"""`explorer diff A B --ui`: a comparison (made before the app starts) to browse.

The paths that differ, in path order and coloured by difference (green added, red removed, yellow
changed), each with what differs and the layer of each side; enter on a file opens the text diff of
its two versions (secrets masked, every line escaped); `f` lists the findings B has and A has not.
"""

from __future__ import annotations

import difflib

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from explorer.layerfs.compare import ADDED, CHANGED, REMOVED, Comparison, PathChange
from explorer.core.model import EntryKind, FileEntry
from explorer.detectors.redact import redact_text
from explorer.core.textsafe import safe
from explorer.tui.lineview import Lines, LineView
from explorer.tui.widgets.footer import SteadyFooter
from explorer.tui.tableview import clip

STYLE = {ADDED: "green", REMOVED: "red", CHANGED: "yellow"}
SIGN = {ADDED: "+", REMOVED: "-", CHANGED: "~"}
TEXT_LIMIT = 1 << 20
"""Bytes of each version read for a text diff."""


def path_rows(cmp: Comparison) -> Lines:
    rows = []
    for c in cmp.changes:
        where = " ".join(f"{side}:L{e.layer}" for side, e in (("A", c.a), ("B", c.b)) if e is not None)
        what = ",".join(c.differs)
        row = Text(f"{SIGN[c.change]} ", style=STYLE[c.change])
        row.append(safe(c.path), style=STYLE[c.change])
        row.append(f"  {what}  {where}".rstrip(), style="dim")
        rows.append(row)
    return Lines(rows or [Text("the two final filesystems are the same", style="dim")])


def finding_rows(cmp: Comparison) -> Lines:
    rows = [Text(f"{f.severity:<8} {f.rule_id}  {'L' + str(f.layer) if f.layer is not None else 'config'}  "
                 f"{safe(f.path or '')}  {clip(safe(f.evidence), 160)}") for f in cmp.new_findings]
    return Lines(rows or [Text("no finding in B that A does not have", style="dim")])


def _version(analysis, entry: FileEntry | None) -> list[str] | None:
    """A file's text, lines masked and escaped; None when it is not text (or not a file)."""
    if entry is None:
        return []
    if entry.kind not in (EntryKind.FILE, EntryKind.HARDLINK):
        return None
    data = analysis.read(entry, TEXT_LIMIT)
    if b"\0" in data:
        return None
    return [safe(redact_text(line)) for line in data.decode("utf-8", "replace").splitlines()]


def text_diff(cmp: Comparison, change: PathChange) -> Lines:
    old, new = _version(cmp.a, change.a), _version(cmp.b, change.b)
    if old is None or new is None:
        a = change.a.digest if change.a is not None else "-"
        b = change.b.digest if change.b is not None else "-"
        return Lines([Text(f"not text: sha256 {a} → {b}", style="dim")])
    rows = []
    for line in difflib.unified_diff(old, new, f"A {change.path}", f"B {change.path}", lineterm="", n=3):
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else \
            "cyan" if line.startswith("@@") else ""
        rows.append(Text(line, style=style))
    return Lines(rows or [Text("same text", style="dim")])


class FileDiff(Screen):
    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back", tooltip="Back to the paths")]

    def __init__(self, title: str, lines: Lines) -> None:
        super().__init__()
        self.title_text = title
        self.lines = lines

    def compose(self) -> ComposeResult:
        yield Static(Text(self.title_text), id="diff-title")
        yield LineView(id="diff", cursor_rows=False)
        yield SteadyFooter()

    def on_mount(self) -> None:
        view = self.query_one("#diff", LineView)
        view.set_lines(self.lines)
        view.focus()


class CompareApp(App):
    BINDINGS = [
        Binding("q", "quit", "Quit", tooltip="Leave the comparison"),
        Binding("f", "findings", "New findings", tooltip="The findings B has and A has not"),
    ]

    def __init__(self, cmp: Comparison) -> None:
        super().__init__()
        self.cmp = cmp

    def compose(self) -> ComposeResult:
        a, b = self.cmp.a.source, self.cmp.b.source
        head = Text(f"A {safe(a.reference)}\nB {safe(b.reference)}\n", style="bold")
        head.append(f"{self.cmp.count(ADDED)} added, {self.cmp.count(REMOVED)} removed, "
                    f"{self.cmp.count(CHANGED)} changed, {self.cmp.unchanged} unchanged · "
                    f"{len(self.cmp.shared)} shared layer(s) · {len(self.cmp.new_findings)} new finding(s) · "
                    "enter: text diff · f: new findings", style=Style(dim=True))
        yield Static(head, id="compare-head")
        yield LineView(id="paths", cursor_rows=True)
        yield SteadyFooter()

    def on_mount(self) -> None:
        view = self.query_one("#paths", LineView)
        view.set_lines(path_rows(self.cmp))
        view.focus()

    @on(LineView.Chosen, "#paths")
    def _chosen(self, message: LineView.Chosen) -> None:
        if message.row >= len(self.cmp.changes):
            return
        change = self.cmp.changes[message.row]
        self.push_screen(FileDiff(f"{SIGN[change.change]} {safe(change.path)}", text_diff(self.cmp, change)))

    def action_findings(self) -> None:
        self.push_screen(FileDiff("findings in B, not in A", finding_rows(self.cmp)))
