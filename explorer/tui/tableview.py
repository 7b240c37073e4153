"""A virtualised table: a LineView whose rows are cells in columns, under a header that stays put.

Only the rows on screen are built (from a function of the row number) and rendered, so a table of a
hundred thousand rows costs what a screenful costs, and a focus change redraws a screenful of plain
lines, not every cell of every row as Textual's DataTable did (its render caches are keyed on the
focus state: 70-100 ms per focus change on the findings list). Cells are rich `Text` built from
escaped strings, never markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.strip import Strip

from explorer.tui.lineview import LineView, Lines, RowMessage

PAD = 1
"""Blank cells on each side of a cell (as DataTable's cell_padding)."""


@dataclass(frozen=True)
class Column:
    label: str
    width: int | None = None
    """Cells (without padding); None: as wide as the widest cell when the rows are set (small tables)."""
    key: str = ""
    """Names the column in HeaderClicked (default: the label)."""
    flex: int = 0
    """>0: the column shares the pane's spare width with the other flex columns, in this proportion
    (`width` is then its least width), so that a row fits the pane instead of running off its right edge."""
    most: int | None = None
    """A flex column's greatest width (None: no limit, or its widest cell's for an auto one)."""
    cut: str = "end"
    """Where a cell too long for the column loses its text, marked with an ellipsis: `end`, or `middle`
    (paths, history lines: the start and the end both say something)."""


ELLIPSIS = "…"


def cut_text(cell: Text, width: int, where: str = "end") -> Text:
    """`cell` in at most `width` cells, an ellipsis where text was cut (at the end, or in the middle)."""
    if cell.cell_len <= width:
        return cell
    if width <= 1:
        return Text(ELLIPSIS[:width], style=cell.style)
    if where == "middle" and width >= 5:
        tail = (width - 1) // 2
        head = cell[:width - 1 - tail]
        head.truncate(width - 1 - tail, overflow="crop")
        end = cell[len(cell) - tail:]
        while end.cell_len > tail:  # wide characters: fewer of them
            end = end[1:]
        return Text.assemble(head, ELLIPSIS, end, style=cell.style)
    cut = cell.copy()
    cut.truncate(width, overflow="ellipsis")
    return cut


def clip(text: str, limit: int, where: str = "end") -> str:
    """`text` in at most `limit` characters, an ellipsis where it was cut (at the end, or in the middle)."""
    if len(text) <= limit:
        return text
    if where == "middle":
        tail = (limit - 1) // 2
        return text[:limit - 1 - tail] + ELLIPSIS + (text[-tail:] if tail else "")
    return text[:limit - 1] + ELLIPSIS


def fit(cell: Text, width: int, cut: str = "end") -> Text:
    """`cell` on one line, cut (with an ellipsis) or padded to `width` cells (right-aligned when its
    justify says so)."""
    cell = cell.copy()
    if "\n" in cell.plain:
        cell = Text(cell.plain.replace("\n", " "), style=cell.style)
    cell = cut_text(cell, width, cut)
    room = width - cell.cell_len
    if room > 0:
        if cell.justify == "right":
            cell.pad_left(room)
        else:
            cell.pad_right(room)
    return cell


class TableView(LineView):
    """Rows of cells with a cursor row (enter chooses it), zebra stripes and a clickable header."""

    COMPONENT_CLASSES = {"tableview--header", "tableview--cursor", "tableview--even-row"}
    DEFAULT_CSS = """
    TableView { height: auto; max-height: 100%; background: $surface; color: $foreground; }
    TableView > .tableview--header { text-style: bold; background: $panel; color: $foreground; }
    TableView > .tableview--even-row { background: $surface-lighten-1 50%; }
    TableView:dark > .tableview--even-row { background: $surface-darken-1 40%; }
    TableView > .tableview--cursor { background: $block-cursor-blurred-background;
                                     color: $block-cursor-blurred-foreground;
                                     text-style: $block-cursor-blurred-text-style; }
    TableView:focus > .tableview--cursor { background: $block-cursor-background; color: auto;
                                           text-style: $block-cursor-text-style; }
    """
    header_rows = 1

    class Highlighted(RowMessage):
        """The cursor moved to another row."""

    class HeaderClicked(RowMessage):
        """A click on the header, over column `key` (`row` is -1)."""

        def __init__(self, view: "TableView", key: str) -> None:
            super().__init__(view, -1)
            self.key = key

    def __init__(self, columns: Sequence[Column], **kwargs) -> None:
        super().__init__(cursor_rows=True, show_gutter=False, **kwargs)
        self.columns = list(columns)
        self._widths = [c.width or len(c.label) for c in self.columns]
        self._natural = list(self._widths)
        self._cells: Callable[[int], Sequence[Text]] = lambda _row: ()
        self._styles: dict[str, Style] = {}

    # -- content ---------------------------------------------------------------------------
    def set_rows(self, count: int, cells: Callable[[int], Sequence[Text]], cursor: int = 0) -> None:
        """`count` rows, row i's cells (one Text per column) from `cells(i)`, built when drawn; the cursor
        on row `cursor`, scrolled into view."""
        self._cells = cells
        self._natural = [c.width if c.width is not None
                         else max([len(c.label)] + [cells(i)[n].cell_len for i in range(count)])
                         for n, c in enumerate(self.columns)]
        self._widths = self._fitted(self._pane_width())
        self.set_lines(Lines(count=count, build=self._row_text, width=sum(w + 2 * PAD for w in self._widths)),
                       cursor=cursor)
        if cursor:
            self.go_to(cursor)

    def _fitted(self, pane: int) -> list[int]:
        """Column widths: each flex column gets its least width (`width`, or its label's for an auto one), then
        the flex columns share what is left of `pane` cells by their weights, none past `most` (an auto column:
        past its widest cell)."""
        widths = list(self._natural)
        flex = [n for n, c in enumerate(self.columns) if c.flex]
        if not flex or pane <= 0:
            return widths
        cap = {n: self.columns[n].most or (widths[n] if self.columns[n].width is None else pane) for n in flex}
        for n in flex:
            widths[n] = min(cap[n], len(self.columns[n].label) if self.columns[n].width is None
                            else self.columns[n].width)
        spare = pane - sum(w + 2 * PAD for w in widths)
        while spare > 0:
            growing = [n for n in flex if widths[n] < cap[n]]
            if not growing:
                break
            weights = sum(self.columns[n].flex for n in growing)
            given = 0
            for n in growing:
                more = min(cap[n] - widths[n], max(1, spare * self.columns[n].flex // weights), spare - given)
                widths[n] += more
                given += more
            spare -= given
            if not given:
                break
        return widths

    def _pane_width(self) -> int:
        """Cells a row may take without a horizontal scroll bar (LineView's virtual width has one more)."""
        return self.scrollable_content_region.width - 1

    def render_lines(self, crop):
        """The columns follow the pane's width as laid out for this paint: a resize, or a scroll bar coming or
        going (which changes the width without a resize, and can come and go while an auto-height pane
        settles), is followed here, once per paint (a few integers: no row is built)."""
        self._refit()
        return super().render_lines(crop)

    def _refit(self) -> None:
        widths = self._fitted(self._pane_width())
        if widths != self._widths:
            self._widths = widths
            self.lines.width = sum(w + 2 * PAD for w in widths)
            self._forget_rows()
            self.virtual_size = Size(self._gutter_width() + self.lines.width + 1, len(self.lines) + self.header_rows)
            self.refresh()

    def _row_text(self, row: int) -> Text:
        return self._join(self._cells(row))

    def _join(self, cells: Sequence[Text]) -> Text:
        """The cells on one line, padded to their columns (what `render` and tests read)."""
        line = Text(no_wrap=True, overflow="crop")
        for cell, width, column in zip(cells, self._widths, self.columns):
            line.append(" " * PAD)
            line.append_text(fit(cell, width, column.cut))
            line.append(" " * PAD)
        return line

    def _cells_strip(self, cells: Sequence[Text]) -> Strip:
        """The cells as `_join` lays them out, each cell's segments marked with its column (as DataTable
        marks them): Textual merges neighbouring segments of one style, and in an SVG screenshot a long
        run of text and blanks drifts, while a run per cell starts at its column."""
        strips = []
        for n, (cell, width) in enumerate(zip(cells, self._widths)):
            column = self._column_meta(n)
            cut = self.columns[n].cut if n < len(self.columns) else "end"
            body = Segment.apply_style(self.text_strip(fit(cell, width, cut)), post_style=column)
            strips.append(Strip([Segment(" " * PAD, column), *body, Segment(" " * PAD, column)], width + 2 * PAD))
        return Strip.join(strips)

    @staticmethod
    @lru_cache(maxsize=64)
    def _column_meta(column: int) -> Style:
        return Style.from_meta({"column": column})

    def row_strip(self, row: int) -> Strip:
        return self._cells_strip(self._cells(row))

    @property
    def row_count(self) -> int:
        return len(self.lines)

    def get_row_at(self, row: int) -> list[Text]:
        """Row `row`'s cells, as given."""
        return list(self._cells(row))

    @property
    def cursor_row(self) -> int:
        return self.cursor

    def move_cursor(self, row: int) -> None:
        self.go_to(row, center=False)

    def watch_cursor(self, old: int, new: int) -> None:
        if old != new and 0 <= new < len(self.lines):
            self.post_message(self.Highlighted(self, new))

    # -- drawing ---------------------------------------------------------------------------
    def _component(self, name: str) -> Style:
        if name not in self._styles:
            self._styles[name] = self.get_component_rich_style(name)
        return self._styles[name]

    def render_header(self, y: int, scroll_x: int, width: int) -> Strip:
        strip = self._cells_strip([Text(c.label) for c in self.columns])
        return strip.crop(scroll_x, scroll_x + width).extend_cell_length(width).apply_style(
            self._component("tableview--header"))

    def row_style(self, row: int, is_cursor: bool) -> Style:
        if is_cursor:
            return self._component("tableview--cursor")
        return self._component("tableview--even-row") if row % 2 == 0 else super().row_style(row, False)

    def over_style(self, row: int, is_cursor: bool) -> Style | None:
        """The focused cursor row's text in the cursor's colour, over the cells' own (as DataTable draws it;
        a cell's own background, a critical finding's red, stays)."""
        if not is_cursor or not self.has_focus:
            return None
        return Style(color=self._component("tableview--cursor").color)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = {}

    def header_clicked(self, x: int) -> None:
        left = 0
        for column, width in zip(self.columns, self._widths):
            left += width + 2 * PAD
            if x < left:
                self.post_message(self.HeaderClicked(self, column.key or column.label))
                return
