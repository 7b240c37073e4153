"""The explorer app: layers, findings, the file tree of the selected layer, and details."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Footer, Header, LoadingIndicator, Static

from explorer.commands.layers import human
from explorer.detectors.base import ScanOptions
from explorer.engine import ScanResult
from explorer.findings import summary
from explorer.model import EntryKind
from explorer.sources import ImageSource
from explorer.redact import redact_text
from explorer.textsafe import safe
from explorer.tui.index import ScanIndex
from explorer.tui.screens.config import ConfigView
from explorer.tui.screens.help import HelpScreen
from explorer.tui.screens.search import SearchScreen
from explorer.tui.screens.viewer import FileViewer
from explorer.tui.widgets.details import Details
from explorer.tui.widgets.filetree import FileTree, NodeData
from explorer.tui.widgets.findings import FindingsTable
from explorer.tui.widgets.layers import LayerTable


class ExplorerApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "explorer"
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit", tooltip="Leave explorer"),
        Binding("question_mark", "help", "Help", id="help", tooltip="List every key"),
        Binding("c", "toggle_changes", "Changes only", id="changes",
                tooltip="Show only what the selected layer added, modified and deleted"),
        Binding("v", "view", "View file", id="view", tooltip="Show the selected copy's content"),
        Binding("i", "config", "Image config", id="config",
                tooltip="The image config, its history as a Dockerfile, the raw JSON, layer concepts explained"),
        Binding("slash", "search", "Find", id="find", tooltip="Find a path in every layer, deleted copies included"),
        Binding("l", "focus_layers", "Layers", id="layers", tooltip="Focus the layer list"),
        Binding("t", "focus_tree", "Files", id="files", tooltip="Focus the file tree"),
        Binding("f", "focus_findings", "Findings", id="findings", tooltip="Focus the findings list"),
        Binding("left_square_bracket", "prev_layer", "Prev layer", show=False, id="prev",
                tooltip="Select the layer below"),
        Binding("right_square_bracket", "next_layer", "Next layer", show=False, id="next",
                tooltip="Select the layer above"),
    ]

    @dataclass
    class ScanDone(Message):
        result: ScanResult

    @dataclass
    class ScanFailed(Message):
        error: str

    def __init__(self, source: ImageSource, options: ScanOptions = ScanOptions(), detectors=None) -> None:
        super().__init__()
        self.source = source
        self.options = options
        self._detectors = detectors
        self.scan_index: ScanIndex | None = None
        self.layer_index = 0
        self.changes_only = False
        self._selected: NodeData | None = None
        self._programmatic_row: int | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield LayerTable(id="layers")
                yield FindingsTable(id="findings")
            with Vertical(id="right"):
                yield FileTree(id="files")
                yield Details(id="details")
        yield LoadingIndicator(id="loading")
        yield Static(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"explorer — {safe(self.source.reference)}"
        self.sub_title = "reading layers…"
        self.query_one("#layers").border_title = "Layers"
        self.query_one("#findings").border_title = "Findings"
        self.query_one("#files").border_title = "Files"
        self.query_one("#details").border_title = "Details"
        self.query_one("#main").display = False
        self.run_scan()

    @work(thread=True, exclusive=True, exit_on_error=False, group="scan")
    def run_scan(self) -> None:
        from explorer.engine import scan
        try:
            detectors = self._detectors
            if detectors is None:
                from explorer.detectors.registry import build_detectors
                detectors = build_detectors(self.options)

            def progress(layer: int, done: int, total: int) -> None:
                self.call_from_thread(self._progress, layer, done, total)

            result = scan(self.source, detectors, self.options, progress=progress)
        except Exception as exc:  # noqa: BLE001 - shown in the UI, not as a traceback
            self.post_message(self.ScanFailed(f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.ScanDone(result))

    def _progress(self, layer: int, done: int, total: int) -> None:
        self.query_one("#status", Static).update(
            Text(f"reading layer {layer + 1}/{len(self.source.layers)}: {human(done)} of {human(total)}"))

    @on(ScanFailed)
    def _scan_failed(self, message: ScanFailed) -> None:
        self.query_one("#loading").display = False
        self.query_one("#status", Static).update(Text(f"scan failed: {safe(message.error)}", style="bold red"))

    @on(ScanDone)
    def _scan_done(self, message: ScanDone) -> None:
        self.scan_index = ScanIndex(message.result)
        analysis = self.scan_index.analysis
        counts = summary(message.result.findings)
        self.sub_title = (f"{len(analysis.layers)} layers · {human(analysis.total_size)} · wasted "
                          f"{human(analysis.wasted_bytes)} · efficiency {analysis.efficiency * 100:.1f}% · "
                          + " ".join(f"{n} {s}" for s, n in counts.items() if n))
        self.query_one("#loading").display = False
        self.query_one("#main").display = True
        status = self.query_one("#status", Static)
        problems = analysis.problems
        status.update(Text(f"{len(problems)} problem(s): {safe(problems[0].message)}", style="bold red")
                      if problems else Text(""))
        status.display = bool(problems)
        self.query_one(LayerTable).load(self.scan_index)
        self.query_one(FindingsTable).load(message.result.findings)
        last = max(0, len(analysis.layers) - 1)
        self.select_layer(last)
        self._move_layer_cursor(last)
        self.query_one(LayerTable).focus()

    # -- selection --------------------------------------------------------------------------
    def select_layer(self, index: int) -> None:
        if self.scan_index is None or not self.scan_index.analysis.layers:
            return
        index = max(0, min(index, len(self.scan_index.analysis.layers) - 1))
        self.layer_index = index
        self.query_one(FileTree).show(self.scan_index, index, self.changes_only)
        self.query_one(FileTree).border_title = (f"Files at layer {index}" +
                                                 (" — changes only" if self.changes_only else ""))
        self.query_one(Details).show_layer(self.scan_index, self.scan_index.analysis.layers[index])

    def _move_layer_cursor(self, row: int) -> None:
        """Move the layer list's cursor for a selection the app already made; the highlight event
        that follows (maybe after later selections) must not select that layer again."""
        table = self.query_one(LayerTable)
        if table.cursor_row != row:
            self._programmatic_row = row
            table.move_cursor(row=row)

    @on(LayerTable.LayerSelected)
    def _layer_selected(self, message: LayerTable.LayerSelected) -> None:
        if message.index != self.query_one(LayerTable).cursor_row:
            return  # stale: the cursor has moved on since (e.g. the table's first highlight of row 0)
        if message.index == self._programmatic_row:
            self._programmatic_row = None
            return
        if message.index != self.layer_index or self.query_one(FileTree).scan_index is None:
            self.select_layer(message.index)

    @on(FileTree.FileHighlighted)
    def _file_highlighted(self, message: FileTree.FileHighlighted) -> None:
        self._selected = message.data
        if self.scan_index is not None:
            self.query_one(Details).show_file(self.scan_index, message.data.path, message.data.entry,
                                              message.data.deleted)

    @on(FindingsTable.FindingChosen)
    def _finding_chosen(self, message: FindingsTable.FindingChosen) -> None:
        finding = message.finding
        if finding.source == "history" or (finding.source == "config" and finding.layer is None):
            self.open_config(finding)
            return
        if finding.layer is None:
            self.notify(Text(f"{finding.rule_id}: {safe(finding.evidence)}"), title="config finding")
            return
        self._move_layer_cursor(finding.layer)
        self.select_layer(finding.layer)
        if finding.path:
            tree = self.query_one(FileTree)
            if not tree.reveal(finding.path):
                self.notify(Text(f"{safe(finding.path)} is not visible at layer {finding.layer}"))
            tree.focus()

    # -- actions ----------------------------------------------------------------------------
    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_toggle_changes(self) -> None:
        self.changes_only = not self.changes_only
        self.select_layer(self.layer_index)

    def action_focus_layers(self) -> None:
        self.query_one(LayerTable).focus()

    def action_focus_tree(self) -> None:
        self.query_one(FileTree).focus()

    def action_focus_findings(self) -> None:
        self.query_one(FindingsTable).focus()

    def action_prev_layer(self) -> None:
        self._step_layer(-1)

    def action_next_layer(self) -> None:
        self._step_layer(1)

    def _step_layer(self, delta: int) -> None:
        if self.scan_index is None:
            return
        target = max(0, min(self.layer_index + delta, len(self.scan_index.analysis.layers) - 1))
        self._move_layer_cursor(target)
        self.select_layer(target)

    def action_search(self) -> None:
        if self.scan_index is None:
            self.notify("Still reading the layers")
            return
        self.push_screen(SearchScreen(self.scan_index.analysis), self._found)

    def _found(self, entry) -> None:
        if entry is None:
            return
        self._move_layer_cursor(entry.layer)
        self.select_layer(entry.layer)
        tree = self.query_one(FileTree)
        tree.reveal(entry.path)
        tree.focus()

    def action_view(self) -> None:
        data = self._selected
        if self.scan_index is None or data is None or data.entry is None:
            self.notify("Select a file in the file tree first")
            return
        if data.entry.kind not in (EntryKind.FILE, EntryKind.HARDLINK):
            self.notify("Only regular files have content to show")
            return
        self.push_screen(FileViewer(self.scan_index.analysis, data.entry, self.scan_index.result.findings))

    def action_config(self) -> None:
        self.open_config(None)

    def open_config(self, finding) -> None:
        """The config view, at `finding`'s line when given; enter on a history line selects its layer."""
        if self.scan_index is None:
            self.notify("Still reading the layers")
            return

        def closed(layer: int | None) -> None:
            if layer is not None:
                self._step_layer(layer - self.layer_index)
        self.push_screen(ConfigView(self.scan_index.analysis, self.scan_index.result.findings, finding), closed)

    def get_system_commands(self, screen):
        yield from super().get_system_commands(screen)
        yield SystemCommand("Help: list every key", "Show the help screen", self.action_help)
        yield SystemCommand("Toggle changes only", "Show only what the selected layer changed",
                            self.action_toggle_changes)
        yield SystemCommand("Focus findings", "Move to the findings list", self.action_focus_findings)
        yield SystemCommand("Find a path", "Search every layer, deleted copies included", self.action_search)
        yield SystemCommand("Image config", "Config, history as a Dockerfile, raw JSON, layer concepts",
                            self.action_config)
        if self.scan_index is not None:
            for report in self.scan_index.analysis.layers:
                created = " ".join(safe(redact_text(report.ref.created_by)).split())[:60]
                yield SystemCommand(f"Go to layer {report.index}", created,
                                    lambda i=report.index: self._step_layer(i - self.layer_index))
            for finding in self.scan_index.result.findings[:200]:
                if finding.layer is not None:
                    yield SystemCommand(f"Finding: {finding.rule_id} {safe(finding.path or '')}",
                                        f"{finding.severity} in layer {finding.layer}",
                                        lambda f=finding: self.post_message(FindingsTable.FindingChosen(f)))
