"""The rows the preview draws for one window of one copy: text (escaped, maybe highlighted, masked
secrets marked) or hex dump rows, built on demand for the LineView. Built in the preview's workers.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rich.style import Style
from rich.text import Text

from explorer.core.units import human
from explorer.layerfs.content import HEX_WIDTH, file_type, guess_language, hex_row, looks_binary, text_lines
from explorer.core.model import FileEntry
from explorer.tui.lineview import Lines

TEXT_CAP = 1024 * 1024
"""Bytes shown as text (the hex view shows the rest)."""
HIGHLIGHT_CAP = 512 * 1024
HIGHLIGHT_LINES = 20000
"""Text longer than this (bytes or lines) is shown without syntax highlighting."""
DIFF_STYLE = {"+": "green", "-": "red", "@": "cyan", "=": "bold", "!": "yellow italic", " ": ""}
_MASK_RUN = re.compile(r"\*{3,}")


@lru_cache(maxsize=1)
def syntax_theme():
    """Rich's ANSI syntax theme (colour names, given the current theme's colours when drawn: the highlighted
    rows are built once for every theme), comments in the muted grey rather than dim (dimmed text is
    blended into its background, under 4.5:1 in the light theme)."""
    from pygments.token import Comment
    from rich.syntax import ANSI_DARK, ANSISyntaxTheme
    return ANSISyntaxTheme({**ANSI_DARK, Comment: Style(color="bright_black", italic=True)})


class Loaded:
    """One window of one copy, masked and ready to draw (built in the worker)."""

    def __init__(self, entry: FileEntry, offset: int, data: bytes, spans: list[tuple[int, int]]) -> None:
        self.entry = entry
        self.offset = offset
        self.data = data
        self.spans = spans
        self.binary = looks_binary(data)
        self.kind = file_type(data) if offset == 0 else ""
        self.language = guess_language(entry.path, data) if offset == 0 and not self.binary else None
        self.masked_lines = {data.count(b"\n", 0, start) + i for start, end in spans[:1000]
                             for i in range(data.count(b"\n", start, end) + 1)}
        self.text: Lines | None = None
        self.plain: list[str] = []
        """The text rows as shown (escaped), for finding text."""


def text_rows(loaded: Loaded, highlight: bool) -> Lines:
    """The text rows, built on demand from escaped strings (a million short lines cost a list of
    strings, not a million Text objects); highlighted rows are kept when the text is small."""
    lines = text_lines(loaded.data[:TEXT_CAP])
    loaded.plain = lines
    styled: list[Text] | None = None
    if highlight and len(lines) <= HIGHLIGHT_LINES:
        from rich.syntax import Syntax
        code = "\n".join(lines)
        syntax = Syntax(code, loaded.language, theme=syntax_theme(), background_color="default")
        styled = syntax.highlight(code).split("\n", allow_blank=True)[: len(lines)]
    masked = loaded.masked_lines
    note = None
    if len(loaded.data) > TEXT_CAP or loaded.entry.size > len(loaded.data):
        shown = min(len(loaded.data), TEXT_CAP)
        note = Text(f"… showing the first {human(shown)} of {human(loaded.entry.size)} as text; "
                    f"x: hex view (pages through all of it)", style="yellow italic")

    def build(i: int) -> Text:
        if i >= len(lines):
            return note or Text()
        row = styled[i].copy() if styled is not None and i < len(styled) else Text(lines[i])
        if i in masked:
            row.highlight_regex(_MASK_RUN, "bold reverse magenta")
        return row
    return Lines(count=len(lines) + (note is not None), build=build,
                 width=max(map(len, lines), default=0))


def hex_rows(loaded: Loaded) -> Lines:
    data, base = loaded.data, loaded.offset
    count = (len(data) + HEX_WIDTH - 1) // HEX_WIDTH

    def build(i: int) -> Text:
        return Text(hex_row(data[i * HEX_WIDTH:(i + 1) * HEX_WIDTH], base + i * HEX_WIDTH))
    return Lines(count=count, build=build, width=78)


def hex_marks(loaded: Loaded) -> dict[int, str]:
    marks = {}
    for start, end in loaded.spans[:1000]:
        for row in range(start // HEX_WIDTH, (end - 1) // HEX_WIDTH + 1):
            marks[row] = "secret"
    return marks
