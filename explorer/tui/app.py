"""The explorer app: layers, findings, the file tree of the selected layer, and details."""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, replace
from functools import cache

from rich.terminal_theme import TerminalTheme
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.reactive import Reactive
from textual.theme import BUILTIN_THEMES
from textual.widgets import Header, LoadingIndicator, ProgressBar, Static

from explorer.core.units import human
from explorer.core.options import ScanOptions
from explorer.scan.engine import ScanResult
from explorer.core.findings import summary
from explorer.core.limits import DEFAULT as DEFAULT_LIMITS, Limits
from explorer.core.model import EntryKind, FileEntry
from explorer.detectors.archivelisting import split_archive_path
from explorer.sources import ImageSource
from explorer.core.textsafe import safe
from explorer.tui import handover
from explorer.tui.gcpolicy import collections_paused
from explorer.tui.index import CHANGES_ONLY, LayerView, ScanIndex, TreeFilter
from explorer.tui.palette import palette_commands
from explorer.tui.screens.archive import ArchiveView
from explorer.tui.screens.config import ConfigView
from explorer.tui.screens.export import NEVER_WRITTEN, ExportScreen, export_copy
from explorer.tui.screens.help import HelpScreen
from explorer.tui.screens.rawlayer import RawLayerView
from explorer.tui.screens.search import SearchScreen
from explorer.tui.screens.space import space_screen
from explorer.tui.screens.viewer import FileViewer
from explorer.tui.runtime import LIGHT_AND_DARK, RuntimePolicy
from explorer.tui.screenshot import screenshot_folder
from explorer.tui import settings
from explorer.tui.themes import EXPLORER_LIGHT, ansi_palette, theme_colours
from explorer.tui.widgets.details import Details
from explorer.tui.widgets.downloads import LayerDownloads
from explorer.tui.widgets.filetree import EXPAND_ROWS, FileTree, NodeData
from explorer.tui.widgets.findings import FindingsTable
from explorer.tui.widgets.keybar import KeyBar
from explorer.tui.widgets.layers import LayerTable
from explorer.tui.widgets.namefilter import NameFilter
from explorer.tui.widgets.summary import SummaryPanel
from explorer.tui.widgets.tour import start_tour


class ExplorerApp(RuntimePolicy):
    """Composition, selection and screen routing; how the app runs (driver, collections, theme warm-up,
    worker log) is RuntimePolicy's (explorer.tui.runtime)."""

    CSS_PATH = "app.tcss"
    TITLE = "explorer"
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]
    """Screen classes by terminal height: app.tcss gives the panes fixed small heights below 36 rows."""
    ansi_theme_dark = Reactive(ansi_palette(theme_colours(BUILTIN_THEMES[LIGHT_AND_DARK[1]]), True), init=False)
    ansi_theme_light = Reactive(ansi_palette(theme_colours(EXPLORER_LIGHT), False), init=False)
    """The ANSI colours of the theme the app starts in (Textual reads these before any theme switch)."""

    @property
    def ansi_theme(self) -> TerminalTheme:
        """The ANSI colour names in rows (severities, markers, syntax highlighting) drawn in the current theme's
        colours, each readable on the lists' backgrounds (explorer.tui.themes.ansi_palette): Textual reads this
        on each theme switch, and when it draws a widget (so it is kept per theme)."""
        theme = self.current_theme
        palette = self._palettes.get(theme.name)
        if palette is None:
            palette = self._palettes[theme.name] = ansi_palette(self.get_css_variables(), theme.dark)
        return palette
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit",
                tooltip="Leave explorer (over another screen q closes that screen instead)"),
        Binding("question_mark", "help", "Help", id="help", tooltip="List every key"),
        Binding("f1", "help", "Help", show=False, id="help-f1", tooltip="List every key (as ?)"),
        Binding("c", "toggle_changes", "Changes", id="changes",
                tooltip="Show only what the selected layer added, modified and deleted (hide unchanged)"),
        Binding("a", "toggle_status('added')", "Added", show=False, id="filter-added",
                tooltip="Show or hide what the selected layer added (A)"),
        Binding("m", "toggle_status('modified')", "Modified", show=False, id="filter-modified",
                tooltip="Show or hide what the selected layer modified (M)"),
        Binding("d", "toggle_status('deleted')", "Deleted", show=False, id="filter-deleted",
                tooltip="Show or hide what the selected layer deleted (D)"),
        Binding("u", "toggle_status('unchanged')", "Unchanged", show=False, id="filter-unchanged",
                tooltip="Show or hide what the selected layer left unchanged"),
        Binding("exclamation_mark", "toggle_flagged", "Flagged", id="filter-flagged",
                tooltip="Show only paths with findings (! and the worst severity)"),
        Binding("0", "clear_filters", "All files", show=False, id="filter-none",
                tooltip="Clear the file filters: show every path"),
        Binding("s", "sort", "Sort", id="sort",
                tooltip="Sort the findings (severity, layer, category) when they have the focus, else the files "
                        "(name, size)"),
        Binding("x", "export", "Export", id="export",
                tooltip="Write the selected copy (file or folder) to a folder, as explorer extract does"),
        Binding("v", "view", "View", id="view", tooltip="Show the selected copy's content"),
        Binding("i", "config", "Config", id="config",
                tooltip="The image config, its history as a Dockerfile, the raw JSON, layer concepts explained"),
        Binding("slash", "search", "Find", id="find", tooltip="Find a path in every layer, deleted copies included"),
        Binding("l", "focus_layers", "Layers", show=False, id="layers", tooltip="Focus the layer list"),
        Binding("t", "focus_tree", "Files", show=False, id="files", tooltip="Focus the file tree"),
        Binding("f", "focus_findings", "Findings", show=False, id="findings", tooltip="Focus the findings list"),
        Binding("left_square_bracket", "prev_layer", "Prev layer", show=False, id="prev",
                tooltip="Select the layer below"),
        Binding("right_square_bracket", "next_layer", "Next layer", show=False, id="next",
                tooltip="Select the layer above"),
        Binding("r", "raw_layer", "Raw tar", id="raw-layer",
                tooltip="The selected layer's tar members as stored: .wh. whiteouts and opaque markers, "
                        "with their meaning"),
        Binding("T", "tour", "Tour", show=False, id="tour",
                tooltip="A guided tour of the layer concepts on this image (n/→ next, p/← back, escape leaves)"),
        Binding("ctrl+t", "toggle_dark", "Light/dark", show=False, id="theme",
                tooltip="Switch between the light and the dark theme"),
        Binding("w", "space('wasted')", "Wasted", id="wasted",
                tooltip="The files wasting the most space (copies deleted or replaced by a later layer)"),
        Binding("b", "space('largest')", "Largest", show=False, id="largest",
                tooltip="The largest files, in any layer (deleted copies included)"),
        Binding("ctrl+f", "filter_names", "Filter names", show=False, id="filter-names",
                tooltip="Filter the file tree by name as you type (escape clears)"),
        Binding("plus", "expand_all", "Expand all", show=False, id="expand-all",
                tooltip=f"Open every folder of the file tree ({EXPAND_ROWS} rows a press; again for more)"),
        Binding("minus", "collapse_all", "Collapse all", show=False, id="collapse-all",
                tooltip="Close every folder of the file tree"),
        Binding("y", "copy_menu", "Copy", id="copy",
                tooltip="Copy the selection to the clipboard: path, sha256, or the finding as text or JSON"),
        Binding("ctrl+c", "copy_path", "Copy path", show=False, id="copy-path", priority=True,
                tooltip="Copy the selected file's or finding's path (or the text selected with the mouse)"),
        Binding("R", "export_report", "Report", id="report",
                tooltip="Write the findings report (SARIF, JSON as scan writes them, or Markdown) to a folder"),
        Binding("o", "archive", "Archive", show=False, id="archive",
                tooltip="Browse the selected archive (zip, jar, war, whl, apk, tar.gz…): its members, member "
                        "archives, each member's content"),
    ]

    @dataclass
    class ScanDone(Message):
        result: ScanResult
        index: ScanIndex | None = None
        """Built on the scan worker, with the last layer's view (None: built on arrival)."""

    @dataclass
    class ViewReady(Message):
        view: LayerView
        reveal: str | None = None

    @dataclass
    class ScanFailed(Message):
        error: str

    def __init__(self, source: ImageSource, options: ScanOptions = ScanOptions(), detectors=None, *,
                 cache=None, jobs: int | None = 1, limits: Limits = DEFAULT_LIMITS, ignores=(),
                 ignore_file: str | None = None) -> None:
        self._palettes: dict[str, TerminalTheme] = {}
        super().__init__()
        self.register_theme(EXPLORER_LIGHT)
        self.theme = settings.remembered_theme(self.available_themes) or self.theme
        from explorer.reports.ignorefile import DEFAULT_NAME
        self.ignores = list(ignores)
        """The ignore file's entries (explorer.reports.ignorefile): their findings are left out, as scan does."""
        self.ignore_file = ignore_file or DEFAULT_NAME
        """Where `A` appends accepted findings."""
        self.ignored: list = []
        self.accepted: list = []
        """(finding, reason) pairs: left out by the ignore file; accepted in this session."""
        self.report_paths: list[str] = []
        self.source = source
        self.options = options
        self.limits = limits
        self._detectors = detectors
        self._cache = cache
        """The layer-result cache (explorer.scan.cache.LayerCache) or None; `jobs`: as for engine.scan."""
        self._jobs = jobs
        self.scan_index: ScanIndex | None = None
        self.layer_index = 0
        self.tree_filter = TreeFilter()
        self._prewarmed = False
        self._selected: NodeData | None = None
        self._programmatic_row: int | None = None
        self._focus_when_shown: type = LayerTable
        """The pane focused when the scan result is shown (l, t, f pressed while loading change it)."""

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield SummaryPanel(id="summary")
                yield LayerTable(id="layers")
                yield FindingsTable(id="findings")
            with Vertical(id="right"):
                yield FileTree(id="files")
                yield Details(id="details")
        yield LayerDownloads(self.source, id="downloads")
        yield LoadingIndicator(id="loading")
        yield ProgressBar(id="progress", total=max(1, sum(r.compressed_size for r in self.source.layers)),
                          show_eta=False)
        yield Static(id="status")
        yield KeyBar()

    def on_mount(self) -> None:
        self.title = f"explorer — {safe(self.source.reference)}"
        self.sub_title = "reading layers…"
        self.query_one("#layers").border_title = "Layers"
        self.query_one("#findings").border_title = "Findings"
        self.query_one("#files").border_title = "Files"
        self.query_one("#details").border_title = "Details"
        self.query_one("#main").display = False
        self._started = time.perf_counter()
        self.start_runtime()
        self.theme_changed_signal.subscribe(self, lambda theme: settings.save(theme=theme.name))
        self.run_scan()

    @work(thread=True, exclusive=True, exit_on_error=False, group="scan")
    def run_scan(self) -> None:
        from explorer.scan.engine import scan
        try:
            detectors = self._detectors
            if detectors is None:
                from explorer.detectors.registry import build_detectors
                detectors = build_detectors(self.options)

            def progress(layer: int, done: int, total: int) -> None:
                self.call_from_thread(self._progress, layer, done, total)

            # one pause from the scan to the index: the scan's own (explorer.scan.engine) ends with collection on
            # again and every object it made still young, and the first gen 0 pass then walked them all
            # (57 ms on the 746 MB image, on this thread, just before the first paint)
            with collections_paused():
                result = scan(self.source, detectors, self.options, progress=progress, cache=self._cache,
                              jobs=self._jobs, limits=self.limits)
                result = self._without_ignored(result)
                self.call_from_thread(self._status, "indexing…")
                index = ScanIndex(result)
                if index.layers:
                    index.view(len(index.layers) - 1)
        except Exception as exc:  # noqa: BLE001 - shown in the UI, not as a traceback
            self.post_message(self.ScanFailed(f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.ScanDone(result, index))

    def _without_ignored(self, result: ScanResult) -> ScanResult:
        """The result less the findings the ignore file accepts (kept in `ignored`), as scan reports it."""
        if not self.ignores:
            return result
        import dataclasses

        from explorer.reports.ignorefile import apply_ignores
        kept, self.ignored = apply_ignores(result.findings, self.ignores)
        return dataclasses.replace(result, findings=kept)

    def show_counts(self) -> None:
        """The title's line: the image's size and the findings' counts by severity."""
        index = self.scan_index
        counts = summary(index.result.findings)
        self.sub_title = (f"{len(index.analysis.layers)} layers · {human(index.total_size)} · wasted "
                          f"{human(index.wasted_bytes)} · efficiency {index.analysis.efficiency * 100:.1f}% · "
                          + " ".join(f"{n} {s}" for s, n in counts.items() if n))

    def _status(self, text: str) -> None:
        self.query_one("#status", Static).update(Text(text))

    def _progress(self, layer: int, done: int, total: int) -> None:
        before = sum(r.compressed_size for r in self.source.layers[:layer])
        self.query_one("#progress", ProgressBar).update(progress=before + min(done, total))
        self.query_one(LayerDownloads).layer_read(layer, done, total)
        self._status(f"reading layer {layer + 1}/{len(self.source.layers)}: {human(done)} of {human(total)}")

    @on(ScanFailed)
    def _scan_failed(self, message: ScanFailed) -> None:
        self._worker_messages()
        self.query_one("#loading").display = False
        self.query_one("#progress").display = False
        self.query_one("#downloads").display = False
        self.query_one("#status", Static).update(Text(f"scan failed: {safe(message.error)}", style="bold red"))

    @on(ScanDone)
    def _scan_done(self, message: ScanDone) -> None:
        done = time.perf_counter()
        self._worker_messages()
        self.timings["scan"] = done - self._started
        self.scan_index = message.index or ScanIndex(message.result)
        gc.freeze()  # the scan's millions of objects live as long as the app: full collections that walked
        # them took 0.2-0.7 s on a 1.5 GB image, each one a frozen key press
        analysis = self.scan_index.analysis
        self.show_counts()
        # removed, not hidden: every widget in the DOM is restyled on each theme switch
        self.query_one("#loading").remove()
        self.query_one("#progress").remove()
        self.query_one("#downloads").remove()
        self.query_one("#main").display = True
        self.query_one(SummaryPanel).show(self.scan_index)
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
        self.query_one(self._focus_when_shown).focus()  # t, f or l pressed while loading: that pane
        self.call_after_refresh(self._painted, done)

    def _painted(self, since: float) -> None:
        self.timings["first_paint"] = time.perf_counter() - since
        self.log(f"scan {self.timings['scan']:.2f} s; layer list and tree drawn "
                 f"{self.timings['first_paint'] * 1000:.0f} ms after the result")
        self._prewarm(self.layer_index)
        self._warm()

    @work(thread=True, exclusive=True, exit_on_error=False, group="warm")
    def _warm(self) -> None:
        """Made ahead, once the layers are shown, so that the key that needs it does not wait: the help's
        layout (?), and the tour's examples, each a walk over every entry of the image (T)."""
        from explorer.tui.screens import help as help_screen
        help_screen.warm(self)
        if self.scan_index is not None:
            for kind in (EntryKind.WHITEOUT, EntryKind.OPAQUE):
                self.scan_index.first_entry(kind)

    # -- selection --------------------------------------------------------------------------
    @property
    def changes_only(self) -> bool:
        return "unchanged" not in self.tree_filter.statuses

    def select_layer(self, index: int, reveal: str | None = None) -> None:
        """Show a layer's files (its merged tree is built on a worker when it is big) and details;
        then put the tree's cursor on `reveal`, if given."""
        if self.scan_index is None or not self.scan_index.analysis.layers:
            return
        index = max(0, min(index, len(self.scan_index.analysis.layers) - 1))
        self.layer_index = index
        tree = self.query_one(FileTree)
        if self.scan_index.cheap(index):
            tree.loading = False
            self._show_view(self.scan_index.view(index), reveal)
        else:
            tree.loading = True
            self._build_view(index, reveal)
        self.query_one(Details).show_layer(self.scan_index, self.scan_index.analysis.layers[index])

    @work(thread=True, exclusive=True, exit_on_error=False, group="view")
    def _build_view(self, index: int, reveal: str | None) -> None:
        assert self.scan_index is not None
        with collections_paused():
            view = self.scan_index.view(index)
            if self.tree_filter.name:
                view.shown(self.tree_filter)  # the paths matching the filter by name, found here too
        self.post_message(self.ViewReady(view, reveal))

    @on(ViewReady)
    def _view_ready(self, message: ViewReady) -> None:
        if message.view.layer == self.layer_index:
            self.query_one(FileTree).loading = False
            self._show_view(message.view, message.reveal)

    def _show_view(self, view: LayerView, reveal: str | None) -> None:
        tree = self.query_one(FileTree)
        if tree.view is not view or tree.filter != self.tree_filter:
            tree.show(view, self.tree_filter)
        if reveal:
            self._reveal(reveal)
        if "first_paint" in self.timings:  # the first time, after the first paint (a busy worker slows it)
            self._prewarm(view.layer)

    @work(thread=True, exclusive=True, exit_on_error=False, group="prewarm")
    def _prewarm(self, layer: int) -> None:
        """Build views ahead of time, so that [ and ] answer at once: the first time, the layers below
        the last (lowest first, each from the one below it); later, the selected layer's neighbours."""
        from textual.worker import get_current_worker
        from explorer.tui.index import VIEW_CACHE
        index = self.scan_index
        if index is None:
            return
        count = len(index.layers)
        if not self._prewarmed:
            self._prewarmed = True
            wanted = list(range(max(0, count - VIEW_CACHE + 1), count))
        else:
            wanted = [layer - 1, layer + 1]
        with collections_paused():
            for neighbour in wanted:
                if get_current_worker().is_cancelled:
                    return
                if 0 <= neighbour < count and index.cached_view(neighbour) is None:
                    index.view(neighbour)

    def _reveal(self, path: str) -> bool:
        """Put the tree's cursor on `path`, clearing the file filters if they hide it."""
        tree = self.query_one(FileTree)
        if tree.reveal(path):
            self.call_after_refresh(self._details_at_cursor)
            return True
        if not self.tree_filter.everything:
            self._set_filter(TreeFilter())
            self.notify(f"Filters cleared to show {safe(path)}", markup=False)
            if tree.reveal(path):
                self.call_after_refresh(self._details_at_cursor)
                return True
        self.notify(f"{safe(path)} is not visible at layer {tree.layer_index}", markup=False)
        return False

    def _details_at_cursor(self) -> None:
        """The cursor's file in the details pane (a jump may land where the cursor already was: no highlight event)."""
        data = self._cursor_data()
        if data is not None and self.scan_index is not None:
            self.query_one(Details).show_file(self.scan_index, data.path, data.entry, data.deleted)

    def show_copy(self, layer: int, path: str, focus_tree: bool = True) -> None:
        """Select `layer` and put the file tree's cursor on `path` there (findings, search results)."""
        self._move_layer_cursor(layer)
        self.select_layer(layer, reveal=path)
        if focus_tree:
            self.query_one(FileTree).focus()

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
        if message.index != self.layer_index or self.query_one(FileTree).view is None:
            self.select_layer(message.index)

    @on(FileTree.FileHighlighted)
    def _file_highlighted(self, message: FileTree.FileHighlighted) -> None:
        self._selected = message.data
        if self.scan_index is not None:
            for details in self.query(Details):  # none when the highlight arrives as the app closes
                details.show_file(self.scan_index, message.data.path, message.data.entry, message.data.deleted)

    @on(FindingsTable.FindingChosen)
    def _finding_chosen(self, message: FindingsTable.FindingChosen) -> None:
        finding = message.finding
        if finding.source == "history" or (finding.source == "config" and finding.layer is None):
            self.open_config(finding)
            return
        if finding.layer is None:
            self.notify(f"{safe(finding.rule_id)}: {safe(finding.evidence)}", title="config finding", markup=False)
            return
        inside = self._archive_of(finding)
        if inside is not None:  # a member of an archive: the archive in the tree, the member in the archive view
            archive, rest = inside
            self.show_copy(finding.layer, archive.path, focus_tree=False)
            self.push_screen(ArchiveView(self.scan_index.analysis, archive, self.scan_index.result.findings,
                                         self.limits, at=rest))
        elif finding.path:
            # the focus stays on the findings: down, enter walks through them; t goes to the tree
            self.show_copy(finding.layer, finding.path, focus_tree=False)
        else:
            self._move_layer_cursor(finding.layer)
            self.select_layer(finding.layer)

    def _archive_of(self, finding) -> tuple[FileEntry, str] | None:
        """(the archive's copy, the rest of the path from its `!/` on) for a file finding on a member of an
        archive (explorer.detectors.archives names it `ARCHIVE!/MEMBER`), else None."""
        if finding.source != "file" or not finding.path or "!/" not in finding.path or self.scan_index is None:
            return None
        tree = self.scan_index.analysis.tree_at(finding.layer)

        def copy_in_layer(path: str) -> FileEntry | None:
            entry = tree.get(path)
            return entry if entry is not None and entry.layer == finding.layer and entry.kind == EntryKind.FILE \
                else None
        split = split_archive_path(finding.path, copy_in_layer)
        return (copy_in_layer(split[0]), split[1]) if split is not None else None

    @on(FindingsTable.FindingOpened)
    def _finding_opened(self, message: FindingsTable.FindingOpened) -> None:
        handover.open_finding(self, message.finding)

    # -- actions ----------------------------------------------------------------------------
    ANYWHERE = frozenset({"quit", "help", "toggle_dark", "command_palette"})
    """Actions that also work over another screen (the viewer, the config view); the others act on the
    main screen's panes and wait until it is back."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.ANYWHERE or len(self.screen_stack) <= 1:
            return True
        return action not in self._main_actions()

    @classmethod
    @cache
    def _main_actions(cls) -> frozenset[str]:
        """The actions of the app's own bindings (Textual asks check_action for each shown key on every
        footer update: ~180 times a screen opening)."""
        return frozenset(b.action.split("(")[0] for b in cls.BINDINGS if isinstance(b, Binding))

    def action_help(self) -> None:
        if not self.is_screen_installed("help"):
            self.install_screen(HelpScreen(), "help")  # composed once: its table takes ~100 ms to lay out
        self.push_screen("help")

    def _set_filter(self, flt: TreeFilter) -> None:
        self.tree_filter = flt
        self.query_one(FileTree).refilter(flt)
        for bar in self.query(NameFilter):
            bar.show_name(flt.name)

    def action_toggle_changes(self) -> None:
        unnamed = replace(self.tree_filter, name="")
        self._set_filter(replace(TreeFilter() if unnamed == CHANGES_ONLY else CHANGES_ONLY,
                                 name=self.tree_filter.name))

    def action_toggle_status(self, status: str) -> None:
        self._set_filter(self.tree_filter.toggle(status))

    def action_toggle_flagged(self) -> None:
        self._set_filter(replace(self.tree_filter, flagged_only=not self.tree_filter.flagged_only))

    def action_clear_filters(self) -> None:
        self._set_filter(TreeFilter())

    async def action_filter_names(self) -> None:
        bars = self.query(NameFilter)
        bar = bars.first() if bars else NameFilter(id="name-filter")
        if not bars:
            await self.query_one("#right").mount(bar, before=self.query_one(FileTree))
        bar.display = True
        bar.focus()

    @on(NameFilter.Wanted)
    def _name_wanted(self, message: NameFilter.Wanted) -> None:
        self._filter_by_name(self.query_one(FileTree).view, replace(self.tree_filter, name=message.name))

    @work(thread=True, exclusive=True, exit_on_error=False, group="name-filter")
    def _filter_by_name(self, view: LayerView | None, flt: TreeFilter) -> None:
        """The matching paths found off the UI thread (every path of a 73k-entry layer), then shown (unless
        a newer name came meanwhile)."""
        from textual.worker import get_current_worker

        if view is not None and flt.explicit:
            view.shown(flt)
        if not get_current_worker().is_cancelled:
            self.call_from_thread(self._set_filter, flt)

    def action_expand_all(self) -> None:
        self.query_one(FileTree).expand_all()

    def action_collapse_all(self) -> None:
        self.query_one(FileTree).collapse_all()

    def action_sort(self) -> None:
        findings = self.query_one(FindingsTable)
        if findings.has_focus:
            findings.action_cycle_sort()
        else:
            self.query_one(FileTree).action_cycle_sort()

    def action_toggle_dark(self) -> None:
        self.theme = LIGHT_AND_DARK[0] if self.current_theme.dark else LIGHT_AND_DARK[1]

    def action_focus_layers(self) -> None:
        self._focus_pane(LayerTable)

    def action_focus_tree(self) -> None:
        self._focus_pane(FileTree)

    def action_focus_findings(self) -> None:
        self._focus_pane(FindingsTable)

    def _focus_pane(self, pane: type) -> None:
        """Focus a pane; while the layers are read (the panes are hidden), once they are shown."""
        if self.scan_index is None:
            self._focus_when_shown = pane
            return
        self.query_one(pane).focus()

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

    def scanned(self) -> bool:
        """Are the layers read? If not, says so (for keys that need the whole scan)."""
        if self.scan_index is None:
            self.notify("Still reading the layers")
        return self.scan_index is not None

    def action_search(self) -> None:
        if not self.scanned():
            return
        self.push_screen(SearchScreen(self.scan_index.analysis), self._found)

    def action_space(self, kind: str) -> None:
        if not self.scanned():
            return
        self.push_screen(space_screen(self.scan_index, kind), self._found)

    def _found(self, entry) -> None:
        if entry is None:
            return
        self.show_copy(entry.layer, entry.path)

    def _cursor_data(self) -> NodeData | None:
        node = self.query_one(FileTree).cursor_node
        return node.data if node is not None and node.data is not None and not node.data.more else None

    def _cursor_file(self, none: str, other: str) -> FileEntry | None:
        """The regular file (or hard link) under the tree's cursor; else None, with the notice `none` (no
        file selected) or `other` (a folder, a symlink, a device...)."""
        data = self._cursor_data()
        if self.scan_index is None or data is None or data.entry is None:
            self.notify(none)
            return None
        if data.entry.kind not in (EntryKind.FILE, EntryKind.HARDLINK):
            self.notify(other)
            return None
        return data.entry

    def action_view(self) -> None:
        entry = self._cursor_file("Select a file in the file tree first", "Only regular files have content to show")
        if entry is not None:
            self.push_screen(FileViewer(self.scan_index.analysis, entry, self.scan_index.result.findings))

    def action_archive(self) -> None:
        entry = self._cursor_file("Select an archive in the file tree first", "Only a regular file can be an archive")
        if entry is not None:
            self.push_screen(ArchiveView(self.scan_index.analysis, entry, self.scan_index.result.findings,
                                         self.limits))

    def action_export(self) -> None:
        data = self._cursor_data()
        tree = self.query_one(FileTree)
        if self.scan_index is None or data is None or data.entry is None or tree.view is None:
            self.notify("Select a file or folder in the file tree first")
            return
        entry = data.entry
        if entry.kind in NEVER_WRITTEN:
            self.notify(f"{entry.kind.value} nodes are never written", severity="warning")
            return
        # a deleted copy is exported as it was just before the layer that deleted it
        as_of = tree.view.layer - 1 if data.deleted else tree.view.layer

        def chosen(dest: str | None) -> None:
            if dest:
                self._export(entry, as_of, dest)
        self.push_screen(ExportScreen(entry, as_of), chosen)

    @work(thread=True, exit_on_error=False, group="export")
    def _export(self, entry, as_of: int, dest: str) -> None:
        assert self.scan_index is not None
        try:
            where, tally = export_copy(self.scan_index.analysis, entry, as_of, dest)
        except Exception as exc:  # noqa: BLE001 - ExplorerError or OSError: said in the UI
            self.call_from_thread(self.notify, f"export failed: {safe(str(exc))}", severity="error",
                                  timeout=10, markup=False)
            return
        message = (f"wrote {safe(where)}: {tally.files} files, {tally.dirs} folders, {tally.symlinks} symlinks; "
                   f"{tally.skipped} skipped" + (f" ({safe(tally.warnings[0])})" if tally.warnings else ""))
        self.call_from_thread(self.notify, message, title="exported", timeout=10, markup=False)

    def action_raw_layer(self) -> None:
        if self.scan_index is None or not self.scan_index.analysis.layers:
            self.notify("Still reading the layers")
            return
        layer = self.layer_index

        def chosen(path: str | None) -> None:
            if path:
                self.show_copy(layer, path)
        self.push_screen(RawLayerView(self.scan_index.analysis, layer, self.limits), chosen)

    def action_tour(self) -> None:
        if not self.scanned():
            return
        start_tour(self)

    def action_copy_menu(self) -> None:
        handover.copy_menu(self)

    def action_copy_path(self) -> None:
        handover.copy_path(self)

    def action_export_report(self) -> None:
        handover.export_report(self)

    def action_filter_findings(self) -> None:
        handover.filter_findings(self)

    def action_accept_finding(self) -> None:
        handover.accept_finding(self)

    def action_config(self) -> None:
        self.open_config(None)

    def open_config(self, finding) -> None:
        """The config view, at `finding`'s line when given; enter on a history line selects its layer."""
        if not self.scanned():
            return

        def closed(layer: int | None) -> None:
            if layer is not None:
                self._step_layer(layer - self.layer_index)
        self.push_screen(ConfigView(self.scan_index.analysis, self.scan_index.result.findings, finding), closed)

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """The palette's screenshot: into the downloads folder, or one that exists, saying which."""
        if path is None:
            path, why = screenshot_folder()
            if why:
                self.notify(f"{safe(why)}: saving the screenshot in {safe(path)}", title="Screenshot",
                            markup=False)
        return super().deliver_screenshot(filename, path, time_format)

    @on(events.DeliveryComplete)
    def _on_delivery_complete(self, event: events.DeliveryComplete) -> None:
        if event.name == "screenshot":  # (replaces Textual's notice, which read the path as markup)
            event.prevent_default()
            self.notify(f"saved {safe(str(event.path or ''))}", title="Screenshot", markup=False)

    @on(events.DeliveryFailed)
    def _on_delivery_failed(self, event: events.DeliveryFailed) -> None:
        if event.name == "screenshot":  # (replaces Textual's notice, which did not say why)
            event.prevent_default()
            self.notify(f"could not save the screenshot: {safe(str(event.exception))}", title="Screenshot",
                        severity="error", markup=False)

    def get_system_commands(self, screen):
        yield from super().get_system_commands(screen)
        yield from palette_commands(self)

