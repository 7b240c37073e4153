"""Drawing the file tree's rows: the cells Textual's `Tree._render_line` draws, in a fraction of its time.

Textual builds each row as a rich Text (a span per guide, the label copied and styled twice, mouse
metadata pickled into each span) and renders it through the console: 165-250 µs a row on a deep path,
5-10 ms a screen of the tree, paid on every jump, theme switch, filter and page of scrolling. Here the
styles rows need are looked up once a frame, the guides are one segment per style, and a label made as a
`RowLabel` (one line, cut into parts that each have one style or none) becomes segments directly. Any
other label (the root's, the placeholder rows') is drawn by Textual's code. tests/tui/test_treerows.py
checks, cell by cell (character, colours, attributes, mouse metadata), that both draw the same rows.
FileTree._render_line (explorer.tui.widgets.filetree) calls `render_row` only while the gate
(explorer.tui.patches) is open; a RowLabel is a rich Text, which Textual's own code draws the same.

`resized` stands in for Tree's resize handler, which rebuilt the rows too (`_invalidate`) though they do
not depend on the size.

`restyled` stands in for what Tree does on a restyle (`Tree._invalidate`: every row's strip dropped, the
list of rows rebuilt, and a layout of the whole screen asked for). A restyle (a theme switch, the focus
coming or going, the tour's highlight) changes how rows look, not which rows there are nor any size: the
strips are dropped and the tree repainted, without the rebuild and the reflow of every widget of the
screen that a theme switch, a focus change and the tour's steps each paid.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Span, Text
from textual.strip import Strip
from textual.widgets import Tree


class RowLabel(Text):
    """A row's label made from parts, each with one style or none: what `render_row` draws directly."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[tuple[str, str]]) -> None:
        spans, end = [], 0
        for part, style in parts:
            start, end = end, end + len(part)
            if style:
                spans.append(Span(start, end, style))
        super().__init__("".join(part for part, _ in parts), spans=spans)
        # drawn as Text.render cuts it: one segment per span, and unstyled neighbours as one (an SVG
        # screenshot places each segment's text at its column; a lone blank segment leaves a gap there)
        runs: list[tuple[str, str]] = []
        for part, style in parts:
            if runs and not style and not runs[-1][1]:
                runs[-1] = (runs[-1][0] + part, "")
            elif part:
                runs.append((part, style))
        self.parts = runs


class Frame:
    """The component styles one frame of the tree needs (they change only between frames)."""

    def __init__(self, tree: Tree) -> None:
        rich = tree.get_component_rich_style

        def hidden(name: str) -> bool:
            return tree.get_component_styles(name).color.a == 0

        base = rich("tree--guides", partial=True)
        self.guide_base = (base, hidden("tree--guides"))
        self.guide_hover = (base + rich("tree--guides-hover", partial=True), hidden("tree--guides-hover"))
        self.guide_selected = (base + rich("tree--guides-selected", partial=True), hidden("tree--guides-selected"))
        self.label = rich("tree--label", partial=True)
        self.highlight = rich("tree--highlight", partial=True)
        self.cursor = rich("tree--cursor", partial=False)
        self.highlight_line = rich("tree--highlight-line")
        self.has_focus = tree.has_focus
        self.get_style = tree.app.console.get_style
        self._tree = tree
        self._guides: dict[tuple[Style, bool], tuple[str, str, str, str]] = {}
        self._styles: dict[tuple, Style] = {}

    def guides(self, style: Style, hidden: bool) -> tuple[str, str, str, str]:
        """Space, vertical, terminator and cross, as Textual's get_guides makes them."""
        key = (style, hidden)
        found = self._guides.get(key)
        if found is None:
            tree = self._tree
            if tree.show_guides and not hidden:
                lines = tree.LINES["default"]
                if style.bold:
                    lines = tree.LINES["bold"]
                elif style.underline2:
                    lines = tree.LINES["double"]
            else:
                lines = ("  ", "  ", "  ", "  ")
            depth = max(0, tree.guide_depth - 2)
            found = self._guides[key] = tuple(f"{c[0]}{c[1] * depth} " for c in lines)  # type: ignore[assignment]
        return found

    def combined(self, *styles: Style | str | None) -> Style:
        """The styles added left to right (named ones parsed), remembered for the frame."""
        found = self._styles.get(styles)
        if found is None:
            total = Style()
            for style in styles:
                if style:
                    total += self.get_style(style, default=Style.null()) if isinstance(style, str) else style
            found = self._styles[styles] = total
        return found


def render_row(tree: Tree, frame: Frame, y: int, line, is_hover: bool, base_style: Style, width: int) -> Strip:
    """Row `y` of the tree (its label a RowLabel), uncropped, as Tree._render_line makes it."""
    path = line.path
    node = path[-1]
    has_focus = frame.has_focus
    line_base = frame.highlight_line if is_hover else base_style
    line_meta = Style.from_meta({"line": y})

    segments: list[Segment] = []
    guides: list[str] = []
    run_style = None

    def flush() -> None:
        if guides:
            segments.append(Segment("".join(guides), frame.combined(line_base, run_style) + line_meta))
            guides.clear()

    def guide(text: str, style: Style) -> None:
        """One more guide; guides of one style in a row make one segment."""
        nonlocal run_style
        if style != run_style:
            flush()
            run_style = style
        guides.append(text)

    hover = path[0]._hover
    selected = path[0]._selected and has_focus
    guide_style, hidden = frame.guide_base
    for ancestor in path[1:]:
        guide_style, hidden = (frame.guide_selected if selected else frame.guide_hover if hover
                               else frame.guide_base)
        if ancestor is not node:
            space, vertical, _, _ = frame.guides(guide_style, hidden)
            guide(space if ancestor.is_last else vertical, guide_style)
        hover = hover or ancestor._hover
        selected = (selected or ancestor._selected) and has_focus
    if len(path) > 1:
        _, _, terminator, cross = frame.guides(guide_style, hidden)
        guide(terminator if line.last else cross, guide_style)
    flush()

    label_style = frame.label
    if tree.hover_line == y:
        label_style += frame.highlight
    if tree.cursor_line == y:
        label_style += frame.cursor
    node_meta = Style.from_meta({"line": y, "node": node._id})
    if node._allow_expand:
        icon = tree.ICON_NODE_EXPANDED if node.is_expanded else tree.ICON_NODE
        segments.append(Segment(icon, line_base + Style.from_meta({"line": y, "toggle": True, "node": node._id})))
    for part, style in node._label.parts:
        if part:
            segments.append(Segment(part, frame.combined(line_base, style, label_style) + node_meta))

    used = sum(cell_len(text) for text, _, _ in segments)
    pad = max(tree.virtual_size.width, width) - used
    if pad > 0:
        segments.append(Segment(" " * pad, line_base + line_meta))
    return Strip(segments, used + max(pad, 0))


def resized(tree: Tree, size) -> bool:
    """Tree._on_resize without its `_invalidate`, when the tree has rows: the line cache grows to the new
    height and the tree is repainted. The rows (`Tree._build`) and their widths do not depend on the
    widget's size (only an empty tree's virtual width does, hence the rows test), and the cached strips
    are keyed by the width. The rebuild cost a resize of the tree 60 ms on the bench image after a deep
    jump (leaving the guided tour gives the tree the tour panel's rows). False: do as Tree does."""
    if not tree._tree_lines_cached:
        return False
    tree._line_cache.grow(size.height)
    tree.refresh()
    return True


def restyled(tree: Tree) -> None:
    """Tree.notify_style_update without its `_invalidate`: the rows' strips are dropped (a bump of the
    count their cache key holds), the rows and the layout are kept."""
    tree._updates += 1
    tree.refresh()

