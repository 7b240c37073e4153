"""A read-only view of one copy of a file: text when it is text, a hex dump otherwise."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from explorer.layerfs.analysis import ImageAnalysis
from explorer.model import FileEntry
from explorer.redact import redact_content
from explorer.textsafe import safe

LIMIT = 256 * 1024


def render_content(data: bytes, truncated: bool) -> Text:
    sample = data[:8192]
    if b"\x00" not in sample:
        try:
            text = data.decode("utf-8")
            lines = [safe(line) for line in text.split("\n")]
            out = Text("\n".join(f"{i:>5}  {line}" for i, line in enumerate(lines, start=1)))
            if truncated:
                out.append(f"\n… (first {LIMIT} bytes shown)", style="dim")
            return out
        except UnicodeDecodeError:
            pass
    rows = []
    for offset in range(0, min(len(data), 16 * 2048), 16):
        chunk = data[offset:offset + 16]
        hexpart = " ".join(f"{b:02x}" for b in chunk)
        asciipart = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        rows.append(f"{offset:08x}  {hexpart:<47}  {asciipart}")
    out = Text("\n".join(rows))
    if len(data) > 16 * 2048 or truncated:
        out.append("\n… (hex dump truncated)", style="dim")
    return out


class FileViewer(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,v", "dismiss", "Close viewer")]
    DEFAULT_CSS = """
    FileViewer { align: center middle; }
    FileViewer > VerticalScroll { width: 95%; height: 90%; border: thick $accent; background: $surface; }
    """

    def __init__(self, analysis: ImageAnalysis, entry: FileEntry) -> None:
        super().__init__()
        self.analysis = analysis
        self.entry = entry
        self.loaded = False
        """True once the content (or the error) is on screen."""

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = f"{safe(self.entry.path)} — layer {self.entry.layer}"
            yield Static(Text("loading…", style="dim"), id="content")

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="viewer")
    def load(self) -> None:
        try:
            data = self.analysis.read(self.entry, LIMIT + 1)
            text = render_content(redact_content(data[:LIMIT]), len(data) > LIMIT)
        except Exception as exc:  # noqa: BLE001 - a damaged layer shows an error, not a traceback
            text = Text(f"cannot read this copy: {safe(str(exc))}", style="bold red")
        self.app.call_from_thread(self._show, text)

    def _show(self, text: Text) -> None:
        self.query_one("#content", Static).update(text)
        self.loaded = True
