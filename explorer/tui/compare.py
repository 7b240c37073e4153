"""`explorer diff A B --ui`: a comparison (made before the app starts) to browse.

A tree of both final filesystems coloured by difference (green added, red removed, yellow changed, dim
the same), each folder summarising what differs below it; folders holding a difference start open.
Enter opens or closes a folder; on a file it shows its two versions side by side as a text diff (the
preview's diff: secrets masked, binary copies as hex rows, bounded), with what differs and the layer
(and history line) of each side. `s` hides the paths that are the same; `f` lists the findings B has and
A has not, enter on one goes to its path.
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from explorer.core.findings import Finding
from explorer.core.model import EntryKind, FileEntry
from explorer.core.textsafe import safe
from explorer.detectors.redact import redact_text
from explorer.layerfs.compare import ADDED, CHANGED, REMOVED, Comparison
from explorer.layerfs.content import DIFF_CAP, diff_copies
from explorer.tui.compare_tree import SAME, Node, build_tree, find, opened_at_start, visible
from explorer.tui.lineview import Lines, LineView
from explorer.tui.widgets.keybar import KeyBar
from explorer.tui.preview_rows import DIFF_STYLE
from explorer.tui.tableview import clip
from explorer.tui.themes import MUTED

STYLE = {ADDED: "green", REMOVED: "red", CHANGED: "yellow", SAME: MUTED}
SIGN = {ADDED: "+", REMOVED: "-", CHANGED: "~", SAME: " "}
CONTENT_KINDS = (EntryKind.FILE, EntryKind.HARDLINK)


def summary(node: Node) -> str:
    """A folder's children in short: `+2 -1 ~3 =40` (only the kinds present)."""
    below = node.below
    parts = [f"{SIGN[k]}{below[k]}" for k in (ADDED, REMOVED, CHANGED) if below[k]]
    if below[SAME]:
        parts.append(f"={below[SAME]}")
    return " ".join(parts)


def node_row(node: Node, opened: bool) -> Text:
    style = STYLE[node.change]
    if node.change == SAME and node.differs_below:
        style = "bold"
    row = Text("  " * (node.depth - 1))
    row.append(("▾ " if opened else "▸ ") if node.is_dir else "  ", style=MUTED)
    row.append(f"{SIGN[node.change]} {safe(node.name)}{'/' if node.is_dir else ''}", style=style)
    notes = []
    if node.detail is not None and node.detail.differs:
        notes.append(",".join(node.detail.differs))
    if node.change != SAME:
        notes.append(", ".join(f"{side} layer {e.layer}" for side, e in (("A", node.a), ("B", node.b)) if e is not None))
    if node.is_dir and node.below != dict.fromkeys(node.below, 0):
        notes.append(summary(node))
    if notes:
        row.append("  " + "  ".join(n for n in notes if n), style=MUTED)
    return row


def _side(label: str, entry: FileEntry | None, analysis) -> Text:
    if entry is None:
        return Text(f"{label}: absent", style=MUTED)
    text = f"{label}: {entry.kind.value} {entry.mode:04o} {entry.uid}:{entry.gid} {entry.size} bytes"
    if entry.digest:
        text += f" sha256:{entry.digest[:16]}"
    if entry.linkname:
        text += f" → {safe(entry.linkname)}"
    layer = analysis.layers[entry.layer] if 0 <= entry.layer < len(analysis.layers) else None
    text += f" · layer {entry.layer}"
    if layer is not None:
        text += f": {clip(safe(redact_text(layer.ref.created_by)), 160)}"
    return Text(text)


def file_diff(cmp: Comparison, node: Node) -> Lines:
    """Both versions of a path: what each side is (kind, mode, owner, size, hash, layer and its history
    line), then the text diff of the contents (an absent side: empty), as the preview shows a diff."""
    rows = [_side("A", node.a, cmp.a), _side("B", node.b, cmp.b)]
    if node.detail is not None and node.detail.differs:
        rows.append(Text("differs: " + ", ".join(node.detail.differs), style="yellow"))
    rows.append(Text(""))
    if any(e is not None and e.kind not in CONTENT_KINDS for e in (node.a, node.b)):
        rows.append(Text("no content to compare (not a file on both sides)", style=MUTED))
        return Lines(rows)
    try:
        old = cmp.a.read(node.a, DIFF_CAP) if node.a is not None else b""
        new = cmp.b.read(node.b, DIFF_CAP) if node.b is not None else b""
        lines = diff_copies(old, new, f"A {node.path}", f"B {node.path}",
                            node.a.size if node.a is not None else 0, node.b.size if node.b is not None else 0)
        rows.extend(Text(line.text, style=DIFF_STYLE.get(line.kind, "")) for line in lines)
    except Exception as exc:  # noqa: BLE001 - a damaged layer: say so, the comparison stays usable
        rows.append(Text(f"cannot compare: {safe(str(exc))}", style="bold red"))
    return Lines(rows)


def finding_rows(findings: list[Finding]) -> Lines:
    """One row per finding: severity, rule, where (`layer N` and the path for a file; else `Finding.where`,
    as every report says it), evidence."""
    rows = []
    for f in findings:
        where = f"layer {f.layer}  {f.where}" if f.source == "file" else f.where
        row = Text(f"{f.severity:<8} ", style="bold red" if f.severity in ("critical", "high") else "")
        row.append(f"{f.rule_id}  {safe(where)}  {clip(safe(f.evidence), 160)}")
        rows.append(row)
    return Lines(rows or [Text("no finding in B that A does not have", style=MUTED)])


class FileDiff(Screen):
    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back", tooltip="Back to the tree")]

    def __init__(self, title: str, lines: Lines) -> None:
        super().__init__()
        self.title_text = title
        self.lines = lines

    def compose(self) -> ComposeResult:
        yield Static(Text(self.title_text), id="diff-title")
        yield LineView(id="diff", cursor_rows=False)
        yield KeyBar()

    def on_mount(self) -> None:
        view = self.query_one("#diff", LineView)
        view.set_lines(self.lines)
        view.focus()


class NewFindings(Screen):
    """The findings B has and A has not; enter on one with a path goes to that path in the tree."""
    BINDINGS = [Binding("escape,q", "app.pop_screen", "Back", tooltip="Back to the tree")]

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__()
        self.findings = findings

    def compose(self) -> ComposeResult:
        yield Static(Text(f"findings in B, not in A ({len(self.findings)}) · enter: go to its path"), id="diff-title")
        yield LineView(id="findings", cursor_rows=True)
        yield KeyBar()

    def on_mount(self) -> None:
        view = self.query_one("#findings", LineView)
        view.set_lines(finding_rows(self.findings))
        view.focus()

    @on(LineView.Chosen, "#findings")
    def _chosen(self, message: LineView.Chosen) -> None:
        if message.row < len(self.findings) and self.findings[message.row].path:
            path = self.findings[message.row].path
            self.app.pop_screen()
            self.app.show_path(path)


class CompareApp(App):
    BINDINGS = [
        Binding("q", "quit", "Quit", tooltip="Leave the comparison"),
        Binding("f", "findings", "New findings", tooltip="The findings B has and A has not"),
        Binding("s", "same", "Same paths", tooltip="Show or hide the paths that are the same on both sides"),
    ]

    def __init__(self, cmp: Comparison) -> None:
        super().__init__()
        self.cmp = cmp
        self.root = build_tree(cmp)
        self.opened = opened_at_start(self.root)
        self.hide_same = False
        self.rows: list[Node] = []

    def compose(self) -> ComposeResult:
        a, b = self.cmp.a.source, self.cmp.b.source
        head = Text(f"A {safe(a.reference)}\nB {safe(b.reference)}\n", style="bold")
        head.append(f"{self.cmp.count(ADDED)} added, {self.cmp.count(REMOVED)} removed, "
                    f"{self.cmp.count(CHANGED)} changed, {self.cmp.unchanged} unchanged · "
                    f"{len(self.cmp.shared)} shared layer(s) · {len(self.cmp.new_findings)} new finding(s) · "
                    "enter: open a folder, diff a file · s: hide same · f: new findings", style=Style(dim=True))
        yield Static(head, id="compare-head")
        yield LineView(id="paths", cursor_rows=True)
        yield KeyBar()

    def on_mount(self) -> None:
        self.redraw()
        self.query_one("#paths", LineView).focus()

    def redraw(self, cursor_path: str | None = None) -> None:
        view = self.query_one("#paths", LineView)
        if cursor_path is None and self.rows:
            cursor_path = self.rows[min(view.cursor, len(self.rows) - 1)].path
        self.rows = visible(self.root, self.opened, self.hide_same)
        lines = [node_row(n, n.path in self.opened) for n in self.rows]
        view.set_lines(Lines(lines or [Text("the two final filesystems are the same", style=MUTED)]))
        at = next((i for i, n in enumerate(self.rows) if n.path == cursor_path), 0)
        view.go_to(at, center=False)

    def show_path(self, path: str) -> None:
        """Open the folders above `path` and put the cursor on it."""
        node = find(self.root, path)
        if node is None:
            return
        parent = path.rsplit("/", 1)[0]
        while parent:
            self.opened.add(parent)
            parent = parent.rsplit("/", 1)[0]
        if self.hide_same and not node.interesting:
            self.hide_same = False
        self.redraw(path)

    @on(LineView.Chosen, "#paths")
    def _chosen(self, message: LineView.Chosen) -> None:
        if message.row >= len(self.rows):
            return
        node = self.rows[message.row]
        if node.is_dir and node.children:
            self.opened.symmetric_difference_update({node.path})
            self.redraw(node.path)
            return
        self.push_screen(FileDiff(f"{SIGN[node.change]} {safe(node.path)} ({node.change})", file_diff(self.cmp, node)))

    def action_same(self) -> None:
        self.hide_same = not self.hide_same
        self.redraw()

    def action_findings(self) -> None:
        self.push_screen(NewFindings(self.cmp.new_findings))
