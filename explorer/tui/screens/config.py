"""The config view: how the image runs (ENV with secrets masked, entrypoint, user, labels, ports,
volumes), its history as a Dockerfile with finding badges, the raw manifest/config/index JSON, and
short explanations of the layer concepts for people learning how images work.

Opened with `i`, or from a config or history finding at its line. Rows are built in a worker (a
hostile config can hold a huge history) and drawn by virtualised LineViews.
"""

from __future__ import annotations

from collections import Counter

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Static

from explorer.core.units import human
from explorer.core.findings import SEVERITIES, Finding
from explorer.layerfs.analysis import ImageAnalysis
from explorer.reports.digests import layer_note, source_note, summary_note
from explorer.reports.imageconfig import config_rows, dockerfile, locate, redacted_json
from explorer.core.textsafe import safe
from explorer.tui.lineview import LineView, Lines
from explorer.tui.widgets.keybar import KeyBar
from explorer.tui.widgets.layers import SEVERITY_STYLE
from explorer.tui.themes import MUTED

JSON_TABS = (("manifest", "Manifest"), ("config", "Config JSON"), ("index", "Index"), ("container", "Container"))

CONCEPTS = [
    ("Layers", "An image is a stack of tar archives (layers) applied in the order the manifest lists them "
               "(layer 0 first). Each layer records what one build step added, changed or deleted."),
    ("Whiteout", "A layer deletes a path from the layers below by holding an empty file named `.wh.NAME` "
                 "beside it. The deleted bytes still ship in the lower layer's blob: anyone can read them."),
    ("Opaque directory", "A file `DIR/.wh..wh..opq` hides everything the lower layers put in DIR; only what this "
                         "layer puts there remains (`rm -rf DIR && mkdir DIR` in one RUN)."),
    ("digest vs diff_id", "A layer's digest is the sha256 of its blob as stored (usually gzip or zstd "
                          "compressed; the manifest lists it). Its diff_id is the sha256 of the uncompressed "
                          "tar (the config's rootfs.diff_ids lists it). The same content compressed twice has "
                          "two digests but one diff_id; a layer stored uncompressed (as `docker save` writes them since Docker 25) "
                          "has digest = diff_id, since the blob is the tar."),
    ("Empty layers", "History entries marked empty_layer (ENV, ARG, LABEL, CMD, USER…) change only the "
                     "config and make no layer; they have no layer number here."),
    ("History", "Each history entry's created_by is the build step (Dockerfile line) that made it. It is "
                "written by the builder and cannot be verified: treat it as a claim."),
    ("Build args", "`|2 A=1 B=2 /bin/sh -c …` means the RUN saw two build arguments: their values are baked "
                   "into the history, so a secret passed with --build-arg ships with the image."),
    ("Efficiency", "For every path, its smallest size over the sum of all its copies' sizes. Wasted bytes "
                   "are shipped but invisible in the final image: overwritten or deleted copies."),
    ("Final image", "What a container sees: the layers stacked. A finding 'not in the final image' is in a "
                    "copy a later layer deleted or replaced — still recoverable from the blob."),
]


def badge(findings: list[Finding], label: str = "") -> Text:
    """`[2 high 1 medium]`, coloured by severity (empty when there are none)."""
    if not findings:
        return Text()
    counts = Counter(f.severity for f in findings)
    out = Text("[" + (label + " " if label else ""))
    for i, severity in enumerate(s for s in SEVERITIES if counts[s]):
        if i:
            out.append(" ")
        out.append(f"{counts[severity]} {severity}", style=SEVERITY_STYLE[severity])
    out.append("] ")
    return out


class TabBar(Static):
    """`1 Config  2 History …`, the shown tab reversed; a click on a title shows that tab."""

    def show(self, titles: list[tuple[str, str]], active: str) -> None:
        bar = Text()
        self._spans: list[tuple[int, int, str]] = []
        for tab, title in titles:
            start = bar.cell_len
            bar.append(f" {TAB_KEYS[tab]} {title} ", style="bold reverse" if tab == active else "dim")
            self._spans.append((start, bar.cell_len, tab))
            bar.append(" ")
        self.update(bar)

    def on_click(self, event) -> None:
        offset = event.get_content_offset(self)
        for start, end, tab in getattr(self, "_spans", []):
            if offset is not None and start <= offset.x < end:
                self.screen.action_tab(tab)


TAB_KEYS = {"config": 1, "history": 2, "manifest": 3, "config-json": 4, "index": 5, "concepts": 6, "container": 7}


class ConfigView(Screen[int | None]):
    """Dismisses with a layer index when enter is pressed on a history line (the main screen selects
    it), else None."""

    BINDINGS = [
        Binding("escape,q,i", "dismiss(None)", "Close", id="config.close", tooltip="Close the config view"),
        Binding("1", "tab('config')", "Config", show=False, id="config.tab-config",
                tooltip="Config: ENV, entrypoint, user…"),
        Binding("2", "tab('history')", "History", show=False, id="config.tab-history",
                tooltip="History as a Dockerfile, with finding badges"),
        Binding("3", "tab('manifest')", "Manifest", show=False, id="config.tab-manifest",
                tooltip="The raw manifest JSON"),
        Binding("4", "tab('config-json')", "Config JSON", show=False, id="config.tab-json",
                tooltip="The raw config JSON"),
        Binding("5", "tab('index')", "Index", show=False, id="config.tab-index",
                tooltip="The raw index JSON (when there is one)"),
        Binding("6", "tab('concepts')", "Concepts", show=False, id="config.tab-concepts",
                tooltip="Whiteouts, opaque folders, digest vs diff_id, empty layers explained"),
        Binding("7", "tab('container')", "Container", show=False, id="config.tab-container",
                tooltip="The container as the daemon inspects it: HostConfig, mounts, state (containers only)"),
        Binding("n", "finding(1)", "Next finding", id="config.next", tooltip="Go to the next line with a finding"),
        Binding("p", "finding(-1)", "Prev finding", id="config.prev", tooltip="Go to the previous line with a finding"),
    ]
    DEFAULT_CSS = """
    ConfigView #tabs { height: 1fr; }
    ConfigView #tab-bar { height: 1; padding: 0 1; }
    ConfigView #help-line { height: 1; padding: 0 1; background: $boost; }
    """

    def __init__(self, analysis: ImageAnalysis, findings: list[Finding] = (), focus: Finding | None = None) -> None:
        super().__init__()
        self.analysis = analysis
        self.findings = list(findings)
        self.focus_finding = focus
        self.ready = False
        """True once every tab is filled (and the finding, if any, is under the cursor)."""
        self.finding_rows: dict[str, list[int]] = {}
        self.layer_of_row: list[int | None] = []
        self.documents = dict(getattr(analysis.source, "documents", {}) or {})

    def compose(self) -> ComposeResult:
        last = 7 if "container" in self.documents else 6
        yield Static(Text(f"1–{last}: tabs · n/p: next/previous line with a finding · enter on a history line: show its "
                          "layer · escape: close", style="dim"), id="help-line")
        yield TabBar(id="tab-bar")
        with ContentSwitcher(id="tabs", initial="view-config"):
            yield LineView(id="view-config", cursor_rows=True)
            yield LineView(id="view-history", cursor_rows=True)
            for key, _title in JSON_TABS:
                if key in self.documents:
                    yield LineView(id=f"view-{_json_tab(key)}", cursor_rows=True)
            yield LineView(id="view-concepts", show_gutter=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self._show_tab_bar()
        for view in self.query(LineView):
            view.set_lines(Lines([Text("loading…", style=MUTED)]))
        self.build()

    @work(thread=True, exclusive=True, exit_on_error=False, group="config-view")
    def build(self) -> None:
        makers = {"config": self._config_tab, "history": self._history_tab, "concepts": lambda: (self._concepts(), [])}
        for key, _title in JSON_TABS:
            if key in self.documents:
                makers[_json_tab(key)] = lambda key=key: (Lines([Text(line) for line in
                                                                 redacted_json(self.documents[key])]), [])
        tabs = {}
        for tab, make in makers.items():
            try:
                tabs[tab] = make()
            except Exception as exc:  # noqa: BLE001 - one tab that cannot be shown says so; the others still are
                tabs[tab] = (Lines([Text(f"cannot show this tab: {type(exc).__name__}", style=MUTED)]), [])
        self.app.call_from_thread(self._built, tabs)

    # -- tabs ------------------------------------------------------------------------------
    def _config_tab(self) -> tuple[Lines, list[int]]:
        config = self.analysis.source.config
        mine = [f for f in self.findings if f.source == "config" and f.layer is None]
        rows = config_rows(config, mine)
        placed: dict[int, list[Finding]] = {}
        unplaced = []
        for f in mine:
            row = locate(rows, f)
            if row is None:
                unplaced.append(f)
            else:
                placed.setdefault(row, []).append(f)
        self._config_rows_for = {id(f): locate(rows, f) for f in mine}
        texts = []
        for i, row in enumerate(rows):
            line = badge(placed.get(i, []))
            line.append(row.text, style=MUTED if row.text.startswith("#") else "")
            for f in placed.get(i, []):
                line.append(f"  # {f.rule_id}", style=MUTED)
            texts.append(line)
        for f in unplaced:
            line = badge([f])
            line.append(f"# {f.rule_id}: {safe(f.evidence)}", style=MUTED)
            texts.append(line)
        marked = sorted(placed) + list(range(len(rows), len(rows) + len(unplaced)))
        return Lines(texts), marked

    def _history_tab(self) -> tuple[Lines, list[int]]:
        history = [f for f in self.findings if f.source == "history"]
        by_position: dict[int, list[Finding]] = {}
        for f in history:
            if f.line:
                by_position.setdefault(f.line, []).append(f)
        by_layer: dict[int, list[Finding]] = {}
        for f in self.findings:
            if f.source == "file" and f.layer is not None:
                by_layer.setdefault(f.layer, []).append(f)
        texts, marked, layers = [], [], []
        for line in dockerfile(self.analysis.source.config):
            text = Text(f"{'layer ' + str(line.layer) if line.layer is not None else 'empty':<10}",
                        style="bold" if line.layer is not None else MUTED)
            own = by_position.get(line.position, [])
            files = by_layer.get(line.layer, []) if line.layer is not None else []
            text.append_text(badge(own))
            text.append_text(badge(files, "files:"))
            text.append(line.instruction, style="bold" if own else "")
            if line.build_args:
                text.append(f"   # build args: {line.build_args}", style=MUTED)
            if line.layer is not None and line.layer < len(self.analysis.layers):
                size = self.analysis.layers[line.layer].stats.size
                text.append(f"   # {human(size)}", style=MUTED)
            texts.append(text)
            layers.append(line.layer)
            if own or files:
                marked.append(len(texts) - 1)
        if not texts:
            texts.append(Text("# the config has no history", style=MUTED))
            layers.append(None)
        self.layer_of_row = layers
        return Lines(texts), marked

    def _concepts(self) -> Lines:
        rows = []
        for title, body in CONCEPTS:
            rows.append(Text(title, style="bold underline"))
            rows.extend(Text("  " + chunk) for chunk in _wrap(body, 100))
            rows.append(Text(""))
        rows.append(Text("This image", style="bold underline"))
        analysis = self.analysis
        rows.append(Text(f"  {len(analysis.layers)} layers, {human(analysis.total_size)} in all, "
                         f"{human(analysis.final_size)} visible in the final image; wasted "
                         f"{human(analysis.wasted_bytes)}; efficiency {analysis.efficiency * 100:.1f}%"))
        for report in analysis.layers:
            stats, ref = report.stats, report.ref
            rows.append(Text(f"  layer {ref.index}: digest {stats.digest or ref.digest or '?'} "
                             f"({stats.compression}, {human(stats.compressed_size)})"))
            rows.append(Text(f"  {'':>{len(str(ref.index)) + 7}}diff_id {stats.diff_id or ref.diff_id or '?'} "
                             f"({human(stats.size)} of files, {stats.entries} entries)", style=MUTED))
            rows.append(Text(f"  {'':>{len(str(ref.index)) + 7}}{layer_note(report)}", style="italic"))
        rows.append(Text(""))
        rows.append(Text("digest vs diff_id in this image", style="bold underline"))
        for note in (source_note(analysis), summary_note(analysis)):
            rows.extend(Text("  " + chunk) for chunk in _wrap(note, 100))
        return Lines(rows)

    # -- filled ----------------------------------------------------------------------------
    def _built(self, tabs: dict[str, tuple[Lines, list[int]]]) -> None:
        for tab, (lines, marked) in tabs.items():
            self.query_one(f"#view-{tab}", LineView).set_lines(lines, {row: "finding" for row in marked})
            self.finding_rows[tab] = marked
        self.ready = True
        self._focus_finding()

    def _focus_finding(self) -> None:
        finding = self.focus_finding
        if finding is None:
            self.query_one("#view-config", LineView).focus()
            return
        if finding.source == "history":
            self.action_tab("history")
            row = (finding.line or 1) - 1
            self.query_one("#view-history", LineView).go_to(row)
        else:
            self.action_tab("config")
            row = self._config_rows_for.get(id(finding))
            if row is None:
                rows = self.finding_rows.get("config", [])
                row = next((r for r in rows if r >= 0), 0)
            self.query_one("#view-config", LineView).go_to(row)

    # -- actions ---------------------------------------------------------------------------
    @property
    def active(self) -> str:
        """The tab shown: `config`, `history`, `manifest`, `config-json`, `index` or `concepts`."""
        return (self.query_one(ContentSwitcher).current or "view-config").removeprefix("view-")

    def _active_view(self) -> tuple[str, LineView]:
        active = self.active
        return active, self.query_one(f"#view-{active}", LineView)

    def _show_tab_bar(self) -> None:
        titles = [("config", "Config"), ("history", "History (Dockerfile)")]
        titles += [(_json_tab(key), title) for key, title in JSON_TABS if key in self.documents]
        titles.append(("concepts", "Concepts"))
        self.query_one(TabBar).show(titles, self.active)

    def action_tab(self, tab: str) -> None:
        if not self.query(f"#view-{tab}"):
            self.notify(f"this image has no {tab} document", markup=False)
            return
        self.query_one(ContentSwitcher).current = f"view-{tab}"
        self._show_tab_bar()
        self._active_view()[1].focus()

    def action_finding(self, direction: int) -> None:
        key, view = self._active_view()
        rows = self.finding_rows.get(key, [])
        if not rows:
            self.notify("no findings on this tab")
            return
        cursor = view.cursor
        if direction > 0:
            target = next((r for r in rows if r > cursor), rows[0])
        else:
            target = next((r for r in reversed(rows) if r < cursor), rows[-1])
        view.go_to(target)

    @on(LineView.Chosen, "#view-history")
    def _history_chosen(self, message: LineView.Chosen) -> None:
        layer = self.layer_of_row[message.row] if message.row < len(self.layer_of_row) else None
        if layer is None:
            self.notify("an empty-layer entry changes only the config")
            return
        self.dismiss(layer)


def _json_tab(document: str) -> str:
    return "config-json" if document == "config" else document


def _wrap(text: str, width: int) -> list[str]:
    out, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return out + ([line] if line else [])
