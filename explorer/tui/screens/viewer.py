"""The preview of one copy of a file: syntax-highlighted text or a hex view (secrets masked in both),
its metadata and libmagic type, the findings in it, the path's timeline across layers, and a diff
between any two versions (deleted and replaced copies included).

Content is read in a worker (at most WINDOW bytes at a time, from the copy's own layer blob) and
drawn by a virtualised LineView, so neither a 128 MiB file nor a slow layer blocks a key.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from explorer.core.units import human
from explorer.core.findings import Finding
from explorer.layerfs.analysis import ImageAnalysis
from explorer.layerfs.content import DIFF_CAP, HEX_WIDTH, MAX_LINE, diff_copies
from explorer.layerfs.timeline import Version, readable_versions, timeline
from explorer.core.model import FileEntry
from explorer.detectors.redact import mask_in_place
from explorer.core.textsafe import safe
from explorer.tui.lineview import LineView, Lines
from explorer.tui.preview_find import find_in_text, mark_column
from explorer.tui.preview_rows import (DIFF_STYLE, HIGHLIGHT_CAP, Loaded, hex_marks, hex_rows,
                                       text_rows)
from explorer.tui.widgets.keybar import KeyBar
from explorer.tui.screens.timeline import DiffPicker, TimelineList, created_by
from explorer.tui.tableview import clip
from explorer.tui.widgets.layers import SEVERITY_STYLE
from explorer.tui.themes import MUTED

WINDOW = 2 * 1024 * 1024
"""Bytes read at a time (the hex view pages through bigger files window by window)."""


class FileViewer(Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back", id="preview.back", tooltip="Leave the diff, or close the preview"),
        Binding("q,v", "close", "Close", id="preview.close", tooltip="Close the preview"),
        Binding("x", "toggle_hex", "Text/hex", id="preview.hex", tooltip="Switch between the text and the hex view"),
        Binding("p", "version(-1)", "Older", id="preview.older",
                tooltip="Show the older version of this path (deleted and replaced copies too)"),
        Binding("n", "version(1)", "Newer", id="preview.newer", tooltip="Show the newer version of this path"),
        Binding("d", "diff_previous", "Diff prev", id="preview.diff",
                tooltip="Diff the shown copy against the previous version (again: back to the content)"),
        Binding("D", "diff_pick", "Diff any two", id="preview.diff-pick",
                tooltip="Choose two versions of this path and diff them"),
        Binding("m", "next_match", "Next match", id="preview.match",
                tooltip="Go to the next finding or masked secret in the text"),
        Binding("slash", "find", "Find text", id="preview.find",
                tooltip="Find text in this copy (text rows, or bytes in the hex window); enter again: the next one"),
        Binding("greater_than_sign", "window(1)", "Next window", show=False, id="preview.window-next",
                tooltip="Hex view of a big file: the next 2 MiB"),
        Binding("less_than_sign", "window(-1)", "Prev window", show=False, id="preview.window-prev",
                tooltip="Hex view of a big file: the previous 2 MiB"),
    ]
    DEFAULT_CSS = """
    FileViewer #meta { height: auto; max-height: 12; padding: 0 1; background: $boost; overflow-y: auto; }
    FileViewer #body { height: 1fr; }
    FileViewer #content { width: 1fr; border: round $accent; }
    FileViewer #side { width: 40%; max-width: 60; }
    FileViewer #timeline { height: auto; max-height: 45%; border: round $secondary; overflow-x: hidden;
                           background: $surface; border-title-color: $foreground; }
    FileViewer #matches { height: 1fr; border: round $secondary; }
    FileViewer #find { dock: bottom; display: none; }
    """

    def __init__(self, analysis: ImageAnalysis, entry: FileEntry, findings: list[Finding] = ()) -> None:
        super().__init__()
        self.analysis = analysis
        self.entry = entry
        self.all_findings = list(findings)
        self.mode = "text"
        """`text`, `hex` or `diff`."""
        self.loaded = False
        """True once the content (or the error) is on screen."""
        self.versions: list[Version] = []
        self.current: Loaded | None = None
        self.diff_title = ""
        self._request = 0
        self._pick_view = True
        self._pending_line: int | None = None

    # -- layout ----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Static(id="meta")
        with Horizontal(id="body"):
            yield LineView(id="content")
            with Vertical(id="side"):
                yield TimelineList(id="timeline")
                yield LineView(id="matches", cursor_rows=True, show_gutter=False)
        yield Input(placeholder="find text in this copy (enter: next match, escape: close)", id="find")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#timeline").border_title = "Timeline (enter: show)"
        self.query_one("#matches").border_title = "Findings in this copy (enter: go to)"
        self.query_one("#content").focus()
        self._show_meta()
        self._placeholder("loading…")
        # the workers start once the screen is drawn: they hold the GIL for much of their work (reading
        # the layer's tar), and started at once they made the viewer's first frame wait for them (the
        # first frame of `v` on the 746 MB image: 47-58 -> 24-32 ms, the content no later)
        self.call_after_refresh(self._start_loading)

    def _start_loading(self) -> None:
        self.load_timeline()
        self.load(self.entry, 0)

    # -- loading ---------------------------------------------------------------------------
    def _placeholder(self, message: str, style: str = MUTED) -> None:
        self.query_one("#content", LineView).set_lines(Lines([Text(message, style=style)]))

    @work(thread=True, exclusive=True, exit_on_error=False, group="preview-timeline")
    def load_timeline(self) -> None:
        versions = timeline(self.analysis, self.entry.path)
        self.app.call_from_thread(self._timeline_loaded, versions)

    def _timeline_loaded(self, versions: list[Version]) -> None:
        self.versions = versions
        self._show_timeline()

    def load(self, entry: FileEntry, offset: int, pick_view: bool = True) -> None:
        """Read a window of `entry` in a worker; `pick_view`: show binary content as hex."""
        self._request += 1
        self.loaded = False
        self._pick_view = pick_view
        self._read(entry, offset, self._request)

    def read_window(self, entry: FileEntry, offset: int) -> bytes:
        """WINDOW bytes of the copy from `offset` on (on the worker): from its own layer blob."""
        return self.analysis.read(entry, WINDOW, offset)

    @work(thread=True, exclusive=True, exit_on_error=False, group="preview")
    def _read(self, entry: FileEntry, offset: int, request: int) -> None:
        worker = get_current_worker()
        try:
            raw = self.read_window(entry, offset)
            data, spans = mask_in_place(raw)
            loaded = Loaded(entry, offset, data, spans)
            if not loaded.binary:
                loaded.text = text_rows(loaded, highlight=False)
        except Exception as exc:  # noqa: BLE001 - a damaged layer shows an error, not a traceback
            if not worker.is_cancelled:
                self.app.call_from_thread(self._failed, f"cannot read this copy: {safe(str(exc))}", request)
            return
        if worker.is_cancelled:
            return
        self.app.call_from_thread(self._loaded, loaded, request)
        if loaded.text is not None and loaded.language and len(data) <= HIGHLIGHT_CAP:
            highlighted = text_rows(loaded, highlight=True)
            if not worker.is_cancelled:
                self.app.call_from_thread(self._highlighted, loaded, highlighted, request)

    @work(thread=True, exclusive=True, exit_on_error=False, group="preview")
    def _decode(self, loaded: Loaded, request: int) -> None:
        """Text lines of a copy first shown as hex (`x`), built off the UI thread."""
        lines = text_rows(loaded, highlight=False)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._decoded, loaded, lines, request)

    def _decoded(self, loaded: Loaded, lines: Lines, request: int) -> None:
        if request != self._request or self.current is not loaded:
            return
        loaded.text = lines
        self.loaded = True
        if self.mode == "text":
            self._show_content()
            line, self._pending_line = self._pending_line, None
            self._go_to_line(line)

    def _failed(self, message: str, request: int) -> None:
        if request != self._request:
            return
        self._placeholder(message, "bold red")
        self.loaded = True

    def _loaded(self, loaded: Loaded, request: int) -> None:
        if request != self._request:
            return
        self.current = loaded
        self.entry = loaded.entry
        if self.mode == "diff":
            self.mode = "text"
        if loaded.binary and self.mode == "text" and self._pick_view:
            self.mode = "hex"
        self.loaded = True
        self._show_content()
        self._show_meta()
        self._show_timeline()
        self._show_matches()

    def _highlighted(self, loaded: Loaded, lines: Lines, request: int) -> None:
        if request != self._request or self.current is not loaded:
            return
        loaded.text = lines
        if self.mode == "text":
            view = self.query_one("#content", LineView)
            top, cursor = view.scroll_offset.y, view.cursor
            view.set_lines(lines, self._marks(), cursor)
            view.scroll_to(y=top, animate=False)

    # -- showing ---------------------------------------------------------------------------
    def _copy_findings(self) -> list[Finding]:
        return [f for f in self.all_findings
                if f.source == "file" and f.layer == self.entry.layer and f.path == self.entry.path]

    def _marks(self) -> dict[int, str]:
        """Masked secrets' lines, and finding lines marked with their severity (LineView's mark kinds)."""
        marks: dict[int, str] = {}
        if self.current is not None:
            marks.update({n: "secret" for n in self.current.masked_lines})
        for f in self._copy_findings():
            if f.line:
                marks[f.line - 1] = f.severity
        return marks

    def _show_content(self) -> None:
        view = self.query_one("#content", LineView)
        loaded = self.current
        if loaded is None:
            return
        if self.mode == "text" and loaded.text is None:
            self._placeholder("decoding as text…")
            self.loaded = False
            self._decode(loaded, self._request)
            return
        view.show_gutter = self.mode == "text"  # hex rows carry their offset
        if self.mode == "text":
            view.set_lines(loaded.text, self._marks())
            view.border_title = "text" + (f" · {loaded.language}" if loaded.language else "")
        else:
            view.set_lines(hex_rows(loaded), hex_marks(loaded))
            end = loaded.offset + len(loaded.data)
            view.border_title = (f"hex · bytes {loaded.offset:,}–{end:,} of {loaded.entry.size:,}" +
                                 (" · > next window" if end < loaded.entry.size else "") +
                                 (" · < previous window" if loaded.offset else ""))

    def _show_meta(self) -> None:
        entry = self.entry
        rows = self._about()
        loaded = self.current
        if loaded is not None and loaded.entry is entry:
            kind = Text("type ", style="bold")
            kind.append(loaded.kind or ("binary data" if loaded.binary else "text"))
            if loaded.spans:
                kind.append(f" · {len(loaded.spans)} secret(s) masked", style="magenta")
            findings = self._copy_findings()
            if findings:
                kind.append(f" · {len(findings)} finding(s)", style="bold red")
            rows.append(kind)
        if self.mode == "diff":
            rows.append(Text(f"diff {self.diff_title} · escape: back to the content", style="bold yellow"))
        self.query_one("#meta", Static).update(Text("\n").join(rows))

    def _about(self) -> list[Text]:
        """The meta rows about the copy: path, layer and history line, fate, size, mode, owner, sha256."""
        entry, analysis = self.entry, self.analysis
        rows = [Text(safe(entry.path), style="bold")]
        layer = Text(f"layer {entry.layer}  ", style="bold")
        layer.append(created_by(analysis, entry.layer, 2000), style="cyan")
        rows.append(layer)
        fate = analysis.fates.get((entry.layer, entry.path))
        if analysis.in_final(entry):
            rows.append(Text("visible in the final image", style="green"))
        elif fate is not None:
            rows.append(Text(f"{fate.how} in layer {fate.layer} by `{created_by(analysis, fate.layer, 100)}` — "
                             f"not visible in the final image, still shipped in layer {entry.layer}'s blob",
                             style="bold magenta"))
        else:
            rows.append(Text("not visible in the final image", style="bold magenta"))
        names = f" ({safe(entry.uname)}:{safe(entry.gname)})" if entry.uname or entry.gname else ""
        rows.append(Text(f"{human(entry.size)} ({entry.size:,} bytes) · mode {entry.mode:04o} · owner "
                         f"{entry.uid}:{entry.gid}{names} · sha256 {entry.digest or '?'}",
                         style="bold red" if entry.mode & 0o6000 else ""))
        return rows

    def _show_timeline(self) -> None:
        view = self.query_one("#timeline", TimelineList)
        if not self.versions:
            view.say("reading the timeline…")
            return
        view.show(self.analysis, self.versions, self.entry)

    def _show_matches(self) -> None:
        view = self.query_one("#matches", LineView)
        rows = []
        self._match_lines: list[int | None] = []
        for f in self._copy_findings():
            row = Text()
            row.append(f"{f.severity:<8}", style=SEVERITY_STYLE[f.severity])
            row.append(" ")
            row.append(f"{'line ' + str(f.line) if f.line else '':<10} {f.rule_id}  {clip(safe(f.evidence), 80)}")
            rows.append(row)
            self._match_lines.append(f.line - 1 if f.line else None)
        if self.current is not None and not self.current.binary:
            for number in sorted(self.current.masked_lines)[:200]:
                if number not in self._match_lines:
                    rows.append(Text(f"secret   {'line ' + str(number + 1):<10} masked", style="magenta"))
                    self._match_lines.append(number)
        if not rows:
            rows.append(Text("no findings in this copy", style=MUTED))
            self._match_lines.append(None)
        view.set_lines(Lines(rows))

    # -- choosing rows ---------------------------------------------------------------------
    @on(TimelineList.OptionSelected, "#timeline")
    def _version_chosen(self, message: TimelineList.OptionSelected) -> None:
        if not 0 <= message.option_index < len(self.versions):
            return
        version = self.versions[message.option_index]
        if not version.readable:
            self.notify(f"layer {version.layer} deleted this path: its older copies stay readable", markup=False)
            return
        self.load(version.entry, 0)

    @on(LineView.Chosen, "#matches")
    def _match_chosen(self, message: LineView.Chosen) -> None:
        line = self._match_lines[message.row] if message.row < len(self._match_lines) else None
        self._go_to_line(line)

    def _go_to_line(self, line: int | None) -> None:
        if line is None or self.current is None:
            return
        if self.mode != "text":
            self.mode = "text"
            self._show_content()
            self._show_meta()
        if self.current.text is None:
            self._pending_line = line  # shown once the text is decoded
            return
        view = self.query_one("#content", LineView)
        view.go_to(line, column=mark_column(self.current, line))
        view.focus()

    # -- actions ---------------------------------------------------------------------------
    def action_back(self) -> None:
        if self.mode == "diff":
            self.mode = "hex" if self.current is not None and self.current.binary else "text"
            self._show_content()
            self._show_meta()
            return
        self.dismiss()

    def action_close(self) -> None:
        self.dismiss()

    def action_toggle_hex(self) -> None:
        if self.current is None:
            return
        self.mode = "hex" if self.mode != "hex" else "text"
        if self.mode == "text" and self.current.offset:
            self.load(self.entry, 0, pick_view=False)
            return
        self._show_content()
        self._show_meta()
        self._show_matches()

    def action_window(self, direction: int) -> None:
        loaded = self.current
        if loaded is None or self.mode != "hex":
            return
        offset = loaded.offset + direction * WINDOW
        if offset < 0 or offset >= max(1, loaded.entry.size):
            return
        self._placeholder(f"reading bytes {offset:,}–{min(offset + WINDOW, loaded.entry.size):,}…")
        self.load(loaded.entry, offset, pick_view=False)

    def _readable_index(self) -> tuple[list[Version], int]:
        readable = readable_versions(self.versions)
        index = next((i for i, v in enumerate(readable) if v.entry is self.entry), -1)
        return readable, index

    def action_version(self, delta: int) -> None:
        readable, index = self._readable_index()
        target = index + delta
        if not readable or index < 0 or not 0 <= target < len(readable):
            self.notify("no " + ("newer" if delta > 0 else "older") + " version of this path")
            return
        self._placeholder(f"reading layer {readable[target].layer}…")
        self.load(readable[target].entry, 0)

    def action_diff_previous(self) -> None:
        if self.mode == "diff":
            self.action_back()
            return
        readable, index = self._readable_index()
        if index <= 0:
            self.notify("no older version of this path to compare with")
            return
        self.diff(readable[index - 1], readable[index])

    def action_diff_pick(self) -> None:
        readable = readable_versions(self.versions)
        if len(readable) < 2:
            self.notify("this path has one version only")
            return

        def picked(choice: tuple[int, int] | None) -> None:
            if choice is not None:
                self.diff(readable[choice[0]], readable[choice[1]])
        self.app.push_screen(DiffPicker(self.analysis, readable), picked)

    def action_next_match(self) -> None:
        lines = sorted({n for n in getattr(self, "_match_lines", []) if n is not None})
        if not lines:
            self.notify("no findings or masked secrets in this text")
            return
        cursor = self.query_one("#content", LineView).cursor
        self._go_to_line(next((n for n in lines if n > cursor), lines[0]))

    def action_find(self) -> None:
        box = self.query_one("#find", Input)
        box.display = True
        box.focus()

    @on(Input.Submitted, "#find")
    def _find_submitted(self, event: Input.Submitted) -> None:
        needle = event.value
        loaded = self.current
        if not needle or loaded is None or self.mode == "diff":
            return
        view = self.query_one("#content", LineView)
        start = view.cursor + 1 if view.show_cursor else 0
        column = None
        if self.mode == "hex":
            data = loaded.data
            at = data.find(needle.encode(), start * HEX_WIDTH)
            if at < 0:
                at = data.find(needle.encode())
            row = at // HEX_WIDTH if at >= 0 else None
        else:
            found = find_in_text(loaded, needle, start)
            if found is not None and found.hidden:
                # past the characters a line shows as text (a binary's long "line"): show it in hex
                self.notify(f"found at byte {loaded.offset + found.byte:,}, past the {MAX_LINE:,} characters "
                            f"line {found.row + 1} shows as text: shown in the hex view", markup=False)
                self.mode = "hex"
                self._show_content()
                self._show_meta()
                view.go_to(found.byte // HEX_WIDTH)
                return
            row, column = (found.row, found.column) if found is not None else (None, None)
        if row is None:
            self.notify("not found in the shown content", markup=False)
            return
        view.go_to(row, column=column)

    def on_key(self, event) -> None:
        box = self.query_one("#find", Input)
        if event.key == "escape" and box.has_focus:
            event.stop()
            box.display = False
            self.query_one("#content", LineView).focus()

    # -- diff ------------------------------------------------------------------------------
    def diff(self, old: Version, new: Version) -> None:
        self._request += 1
        self.loaded = False
        self.mode = "diff"
        self.diff_title = f"layer {old.layer} → layer {new.layer}"
        self._show_meta()
        self._placeholder(f"comparing layer {old.layer} with layer {new.layer}…")
        self._diff(old.entry, new.entry, self._request)

    @work(thread=True, exclusive=True, exit_on_error=False, group="preview")
    def _diff(self, old: FileEntry, new: FileEntry, request: int) -> None:
        worker = get_current_worker()
        try:
            lines = diff_copies(self.analysis.read(old, DIFF_CAP), self.analysis.read(new, DIFF_CAP),
                                f"{old.path} (layer {old.layer})", f"{new.path} (layer {new.layer})",
                                old.size, new.size)
            rows = [Text(line.text, style=DIFF_STYLE.get(line.kind, "")) for line in lines]
        except Exception as exc:  # noqa: BLE001
            rows = [Text(f"cannot compare: {safe(str(exc))}", style="bold red")]
        if not worker.is_cancelled:
            self.app.call_from_thread(self._diffed, Lines(rows), request)

    def _diffed(self, lines: Lines, request: int) -> None:
        if request != self._request or self.mode != "diff":
            return
        view = self.query_one("#content", LineView)
        view.show_gutter = True
        view.set_lines(lines)
        view.border_title = f"diff · {self.diff_title}"
        self.loaded = True
