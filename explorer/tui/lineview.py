"""A virtualised view of many lines (file text, hex rows, diffs, JSON): only the rows on screen are
rendered, through `render_line`, with an LRU cache of rendered rows. Lines are rich `Text` objects
built from escaped strings — never markup.

A `Lines` source says how many rows there are and builds one on demand (a hex dump row from a
window of bytes, say), so a 16 MiB window costs nothing until it is scrolled to.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from explorer.tui.themes import MARKS, MUTED, mark_css


class Lines:
    """Rows of a LineView: a list of Text, or a count and a function that builds row i."""

    def __init__(self, rows: Sequence[Text] | None = None, *, count: int = 0,
                 build: Callable[[int], Text] | None = None, width: int | None = None) -> None:
        self._rows = rows
        self._build = build
        self.count = len(rows) if rows is not None else count
        self.width = width if width is not None else max((r.cell_len for r in rows or ()), default=0)

    def __len__(self) -> int:
        return self.count

    def row(self, index: int) -> Text:
        if self._rows is not None:
            return self._rows[index]
        return self._build(index) if self._build else Text()

    @property
    def plain(self) -> str:
        return "\n".join(self.row(i).plain for i in range(self.count))


def listing_lines(header: str, items: Sequence, row: Callable[[object], Text], notes: Sequence[str],
                  width: int) -> Lines:
    """A listing's rows: `header` (bold, underlined), one row per item (`row(item)`, built when scrolled to:
    a listing may hold hundreds of thousands), then the notes (why it stops early) in bold red."""
    def build(index: int) -> Text:
        if index == 0:
            return Text(header, style="bold underline")
        if index <= len(items):
            return row(items[index - 1])
        return Text(notes[index - 1 - len(items)], style="bold red")
    return Lines(count=1 + len(items) + len(notes), build=build, width=width)


class RowMessage(Message):
    """Something about row `row` of a LineView (the message's `control`)."""

    def __init__(self, view: "LineView", row: int) -> None:
        super().__init__()
        self.view = view
        self.row = row

    @property
    def control(self) -> "LineView":
        return self.view


class LineView(ScrollView, can_focus=True):
    """Rows with a line-number gutter, a highlighted cursor row (when `cursor_rows`) and marked rows."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False, tooltip="Previous line"),
        Binding("down", "cursor(1)", "Down", show=False, tooltip="Next line"),
        Binding("pageup", "page(-1)", "Page up", show=False, tooltip="Previous page"),
        Binding("pagedown", "page(1)", "Page down", show=False, tooltip="Next page"),
        Binding("home", "edge(0)", "Top", show=False, tooltip="First line"),
        Binding("end", "edge(1)", "Bottom", show=False, tooltip="Last line"),
        Binding("enter", "choose", "Choose", show=False, tooltip="Choose the line under the cursor"),
    ]
    COMPONENT_CLASSES = {"lineview--cursor", *(f"lineview--mark-{kind}" for kind in MARKS)}
    DEFAULT_CSS = ("LineView { height: 1fr; background: $surface; border-title-color: $foreground; }\n"
                   "LineView > .lineview--cursor { background: $block-cursor-blurred-background; }\n" + mark_css())

    cursor = reactive(0, always_update=True, repaint=True)
    header_rows = 0
    """Rows drawn at the top that do not scroll (a table's column labels): `render_header` draws them."""

    class Chosen(RowMessage):
        """Enter on a row (cursor mode)."""

    def __init__(self, *, cursor_rows: bool = False, show_gutter: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.lines = Lines([])
        self.marks: dict[int, str] = {}
        """Rows drawn with a background: row -> a kind of MARKS (the component class lineview--mark-KIND)."""
        self.cursor_rows = cursor_rows
        self.show_cursor = cursor_rows
        """Draw the cursor row (always with `cursor_rows`; in a scrolling view, once something jumped there)."""
        self.show_gutter = show_gutter
        self._generation = 0
        self._base_style: Style | None = None
        self._render_row = lru_cache(maxsize=1024)(self._render_row_uncached)
        self._row_body = lru_cache(maxsize=1024)(self._row_body_uncached)

    # -- content ---------------------------------------------------------------------------
    def set_lines(self, lines: Lines, marks: dict[int, str] | None = None, cursor: int = 0) -> None:
        self.lines = lines
        self.marks = marks or {}
        self._forget_rows()
        self.virtual_size = Size(self._gutter_width() + lines.width + 1, len(lines) + self.header_rows)
        self.cursor = max(0, min(cursor, len(lines) - 1))
        self.show_cursor = self.cursor_rows
        self.scroll_to(0, 0, animate=False, immediate=True)  # before any go_to that follows, not after it
        self.refresh()

    def _forget_rows(self) -> None:
        """The rows changed (new lines, new column widths): none is drawn from the caches again."""
        self._generation += 1
        self._render_row.cache_clear()
        self._row_body.cache_clear()

    def render(self) -> Text:
        """The whole content as one Text (what tests and copy read; drawing goes through render_line)."""
        return Text(self.lines.plain)

    def _gutter_width(self) -> int:
        return len(str(len(self.lines))) + 2 if self.show_gutter else 0

    # -- drawing ---------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        if y < self.header_rows:
            return self.render_header(y, scroll_x, width)
        row = scroll_y + y - self.header_rows
        if row >= len(self.lines):
            return Strip.blank(width, self._base_style or self.rich_style)
        is_cursor = self.show_cursor and row == self.cursor
        return self._render_row(row, scroll_x, width, self._generation, is_cursor, self._base_style,
                                is_cursor and self.has_focus)

    def render_lines(self, crop):
        """Rows come from the row cache, keyed by the widget's style (and, for the cursor row, the focus),
        so that a focus change, which restyles every widget and repaints the whole screen, draws no row
        again unless its look depends on it."""
        self._base_style = self.rich_style
        return super().render_lines(crop)

    def render_header(self, y: int, scroll_x: int, width: int) -> Strip:
        """Line `y` of the rows that stay at the top (`header_rows` of them: none here)."""
        return Strip.blank(width, self.rich_style)

    def row_style(self, row: int, is_cursor: bool) -> Style:
        """The style under row `row`'s own (the cursor's, a mark's, or the widget's): component classes, so
        they follow the theme (Textual keeps each in a cache it empties when the widget is restyled)."""
        if self._base_style is None:
            self._base_style = self.rich_style
        if is_cursor:
            return self._base_style + self.get_component_rich_style("lineview--cursor")
        if row in self.marks:
            return self._base_style + self.get_component_rich_style(f"lineview--mark-{self.marks[row]}")
        return self._base_style

    def text_strip(self, text: Text) -> Strip:
        """`text` (one line) as a Strip, its own base style included."""
        console = self.app.console
        segments = text.render(console, end="")
        if text.style:  # Text.render leaves the Text's own (base) style out
            segments = Segment.apply_style(segments, console.get_style(text.style))
        return Strip(list(segments), text.cell_len)

    def row_strip(self, row: int) -> Strip:
        """Row `row` as a Strip, uncropped. Its styles are the row's own (rich styles, the same in every
        theme): the widget's are applied over it."""
        return self.text_strip(self.lines.row(row))

    def _row_body_uncached(self, row: int, _generation: int) -> Strip:
        return self.row_strip(row)

    def over_style(self, row: int, is_cursor: bool) -> Style | None:
        """A style over row `row`'s own (None: nothing)."""
        return None

    def _render_row_uncached(self, row: int, scroll_x: int, width: int, _generation: int, is_cursor: bool,
                             _style: Style | None, _focused: bool) -> Strip:
        gutter_w = self._gutter_width()
        # the row's own strip is kept apart from the styled one: a theme switch (or a focus change) styles
        # every row anew, but builds none again (a findings row's cells are fitted and rendered in ~1 ms)
        body = self._row_body(row, self._generation).crop(scroll_x, scroll_x + max(0, width - gutter_w))
        segments = []
        if gutter_w:
            segments.append(Segment(f"{row + 1:>{gutter_w - 1}} ", Style(color=MUTED)))
        strip = Strip.join([Strip(segments, gutter_w), body]).extend_cell_length(width)
        strip = strip.apply_style(self.row_style(row, is_cursor))
        over = self.over_style(row, is_cursor)
        if over is not None:
            strip = Strip(Segment.apply_style(strip, post_style=over), strip.cell_length)
        return strip.crop(0, width)

    # -- moving ----------------------------------------------------------------------------
    def go_to(self, row: int, *, center: bool = True, column: int | None = None) -> None:
        """Move the cursor to `row` (and show it); with `column` (a cell of the row's text), scroll
        sideways so that it is on screen too."""
        if not len(self.lines):
            return
        row = max(0, min(row, len(self.lines) - 1))
        self.show_cursor = True
        self.cursor = row
        height = self._rows_shown()
        # immediate: Textual defers a scroll to after the next refresh, and a set_lines' return to the top
        # deferred the same way could land after it; force: right after set_lines the scrollbars are
        # still those of the old lines (none for a short text), and Textual ignores a scroll that no
        # scrollbar allows (`m` from the hex view, a search that switches to hex: the cursor off-screen)
        if center:
            self.scroll_to(y=max(0, row - height // 3), animate=False, immediate=True, force=True)
        elif row < self.scroll_offset.y:
            self.scroll_to(y=row, animate=False, immediate=True, force=True)
        elif row >= self.scroll_offset.y + height:
            self.scroll_to(y=row - height + 1, animate=False, immediate=True, force=True)
        if column is not None:
            width = max(1, self.scrollable_content_region.width - self._gutter_width())
            if not self.scroll_offset.x <= column < self.scroll_offset.x + width - 10:
                self.scroll_to(x=max(0, column - width // 3), animate=False, immediate=True, force=True)

    def go_to_next(self, rows: Sequence[int], direction: int) -> None:
        """The cursor to the next (`direction` 1) or previous (-1) of `rows` (sorted, not empty) from where
        it is, wrapping round."""
        if direction > 0:
            target = next((r for r in rows if r > self.cursor), rows[0])
        else:
            target = next((r for r in reversed(rows) if r < self.cursor), rows[-1])
        self.go_to(target)

    def _rows_shown(self) -> int:
        """Rows of content on screen (a horizontal scrollbar hides the last row of the widget)."""
        return max(1, self.scrollable_content_region.height - self.header_rows)

    def action_cursor(self, delta: int) -> None:
        if self.cursor_rows:
            self.go_to(self.cursor + delta, center=False)
        else:
            self.scroll_to(y=self.scroll_offset.y + delta, animate=False)

    def action_page(self, direction: int) -> None:
        step = max(1, self._rows_shown() - 1) * direction
        if self.cursor_rows:
            self.go_to(self.cursor + step, center=False)
        else:
            self.scroll_to(y=self.scroll_offset.y + step, animate=False)

    def action_edge(self, end: int) -> None:
        target = len(self.lines) - 1 if end else 0
        if self.cursor_rows:
            self.go_to(target, center=False)
        else:
            self.scroll_to(y=max(0, target), animate=False)

    def on_click(self, event) -> None:
        """A click puts the cursor on a row; a click on the cursor row chooses it."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y < self.header_rows:
            self.header_clicked(offset.x + self.scroll_offset.x)
            return
        if not self.cursor_rows or not len(self.lines):
            return
        row = offset.y - self.header_rows + self.scroll_offset.y
        if 0 <= row < len(self.lines):
            if row == self.cursor:
                self.action_choose()
            else:
                self.go_to(row, center=False)

    def header_clicked(self, x: int) -> None:
        """A click on the header rows, `x` cells from the content's left edge."""

    def action_choose(self) -> None:
        if self.cursor_rows and len(self.lines):
            self.post_message(self.Chosen(self, self.cursor))
