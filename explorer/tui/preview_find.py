"""Finding text in the preview's text rows: in the rows as shown (escaped, tabs expanded), and in the
bytes behind them, so that a string inside a binary's long "line" (rows show its first MAX_LINE
characters) is still found. No Textual here: the viewer moves its cursor with the answer."""

from __future__ import annotations

import re
from dataclasses import dataclass

from explorer.layerfs.content import MAX_LINE
from explorer.tui.preview_rows import TEXT_CAP, Loaded

_MASK_RUN = re.compile(r"\*{3,}")


@dataclass(frozen=True)
class Found:
    row: int
    """The text row (0-based) holding the match."""
    column: int | None = None
    """Its character in the row as shown (None: not in the shown part)."""
    byte: int = -1
    """Its offset in the window's bytes (-1: found in the shown text only, e.g. an escape like \\x00)."""

    @property
    def hidden(self) -> bool:
        """The match lies past the characters its row shows."""
        return self.column is None


def find_in_text(loaded: Loaded, needle: str, start: int) -> Found | None:
    """The first match of `needle` (case-insensitive) on row `start` or after, wrapping round: in the
    bytes first (what the file holds), then in the rows as shown (what the screen holds)."""
    rows = loaded.plain
    if not rows or not needle:
        return None
    data = loaded.data[:TEXT_CAP].lower()
    target = needle.lower().encode("utf-8", "replace")
    line_start = _row_start(data, start)
    at = data.find(target, line_start)
    if at < 0:
        at = data.find(target)
    if at >= 0:
        row = data.count(b"\n", 0, at)
        begin = data.rfind(b"\n", 0, at) + 1
        column = _shown_column(rows[row] if row < len(rows) else "", needle, data[begin:at])
        return Found(min(row, len(rows) - 1), column, at)
    lowered = needle.lower()
    for i in list(range(start, len(rows))) + list(range(0, min(start, len(rows)))):
        column = rows[i].lower().find(lowered)
        if column >= 0:
            return Found(i, column)
    return None


def _row_start(data: bytes, row: int) -> int:
    """The offset of row `row`'s first byte (the end of the data when there are fewer rows)."""
    at = 0
    for _ in range(row):
        at = data.find(b"\n", at)
        if at < 0:
            return len(data)
        at += 1
    return at


def _shown_column(row: str, needle: str, before: bytes) -> int | None:
    """Where the match shows in its row: None when it is past the row's first MAX_LINE characters."""
    if len(before.decode("utf-8", "replace")) >= MAX_LINE:
        return None
    column = row.lower().find(needle.lower())
    return column if column >= 0 else len(before)


def mark_column(loaded: Loaded | None, row: int) -> int | None:
    """The character where row `row`'s masked secret starts (None: no mask run on that row)."""
    if loaded is None or not 0 <= row < len(loaded.plain):
        return None
    # the rows hold the masked text: a run of asterisks is where the secret was
    match = _MASK_RUN.search(loaded.plain[row])
    return match.start() if match else None
