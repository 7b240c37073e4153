"""The file tree of one layer: the merged filesystem as of that layer, filtered and sorted.

Every row says in text what the layer did to the path (`A` added, `M` modified, `D` deleted, blank
unchanged), its size, mode, owner, link target and, with `!` and a letter, the worst finding on or
below it. Children are added when a folder is expanded, at most CHUNK at a time (a placeholder row
loads the next ones), so that folders with tens of thousands of files open at once; a jump to a path loads,
in each folder on the way that is not loaded yet or far from it, only a window of JUMP rows around it
(placeholder rows above and below load the rest).
"""

from __future__ import annotations

import stat
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass
from operator import attrgetter
from typing import NamedTuple

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from explorer.core.units import human
from explorer.core.model import EntryKind, FileEntry
from explorer.core.textsafe import safe
from explorer.tui.index import ancestors, MARKER, SEVERITY_LETTER, LayerView, TreeFilter
from explorer.tui.widgets.layers import SEVERITY_STYLE
from explorer.tui import patches
from explorer.tui.patches.treerows import Frame, RowLabel, render_row, resized, restyled

CHUNK = 200
"""Children added to the tree at once; the rest wait behind a 'more' row."""
JUMP = 100
"""Rows loaded around a path a jump reveals, in each folder on its way not loaded yet (more than a screen:
every row added costs about 10 µs, and a jump passes big folders such as site-packages)."""
STATUS_STYLE = {"added": "green", "modified": "yellow", "deleted": "red strike", "unchanged": ""}
OPAQUE_STYLE = "bold magenta"
"""The label of a folder the layer made opaque (what lower layers put in it is hidden)."""
MARKER_STYLE = {"added": "bold green", "modified": "bold yellow", "deleted": "bold red", "unchanged": ""}
_TYPE_BITS = {EntryKind.FILE: stat.S_IFREG, EntryKind.DIR: stat.S_IFDIR, EntryKind.SYMLINK: stat.S_IFLNK,
              EntryKind.HARDLINK: stat.S_IFREG, EntryKind.CHAR: stat.S_IFCHR, EntryKind.BLOCK: stat.S_IFBLK,
              EntryKind.FIFO: stat.S_IFIFO}
EXPAND_ROWS = 500
"""Rows that expand all (+) loads at most per press (each row costs ~10 µs to add, and more to draw)."""
NAME_ROWS = 150
"""Rows a name filter opens as it is typed: a few screens of matches (each letter rebuilds the tree, and 500
rows took 130-160 ms a letter on the 73k-entry bench image); + opens more."""
SORTS = ("name", "size")
_DIR = EntryKind.DIR


class NodeData(NamedTuple):
    """A row of the tree (a named tuple: a big folder's listing makes thousands, at a third of a frozen
    dataclass's cost)."""

    path: str
    entry: FileEntry | None
    deleted: bool = False
    """A copy this layer deleted (a 'ghost' row)."""
    more: int = 0
    """For a placeholder row: the position in its folder's listing where the rest begins (after the
    loaded rows; for an `earlier` row, where the loaded rows begin)."""
    earlier: bool = False
    """A placeholder row above the loaded rows (they start further down the folder)."""


def mode_string(entry: FileEntry) -> str:
    return stat.filemode(_TYPE_BITS.get(entry.kind, 0) | (entry.mode & 0o7777))


class FileTree(Tree[NodeData]):
    BINDINGS = [
        Binding("space", "toggle_node", "Expand", show=False, tooltip="Expand or collapse the folder"),
        Binding("right", "expand_node", "Expand", show=False, tooltip="Expand the folder"),
        Binding("left", "collapse_or_parent", "Collapse", show=False,
                tooltip="Collapse the folder, or go to the parent folder"),
    ]

    _batching = False
    _invalidated = False
    _frame: Frame | None = None

    @dataclass
    class FileHighlighted(Message):
        data: NodeData

    def __init__(self, **kwargs) -> None:
        super().__init__(Text("/"), data=NodeData("/", None), **kwargs)
        self.view: LayerView | None = None
        self.filter = TreeFilter()
        self.sort_by = "name"
        self._listings: dict[str, list[NodeData]] = {}
        self._loaded: dict[str, tuple[int, int]] = {}
        """Folder → the range of its listing's rows that are in the tree."""
        self.show_root = True
        self.guide_depth = 3

    @property
    def layer_index(self) -> int:
        return self.view.layer if self.view is not None else 0

    def show(self, view: LayerView, flt: TreeFilter | None = None, keep: str | None = None) -> None:
        """Show a layer's view (with a new filter, if given), keeping the cursor on `keep` if it is shown."""
        self.view = view
        if flt is not None:
            self.filter = flt
        self._listings.clear()
        self._loaded.clear()
        self.clear()
        root = view.tree.get("/")
        self.root.data = NodeData("/", root)
        label = Text("/", style="bold")
        label.append(f"  {human(self._folder_sizes().get('/', 0))}", style="dim")
        self.root.set_label(label)
        self._fill(self.root)
        self.root.expand()
        self.border_subtitle = ""
        if self.filter.name:
            self.expand_all(NAME_ROWS)  # the matches on show, not behind closed folders
        self._set_title()
        if keep and keep != "/":
            self.reveal(keep)

    def refilter(self, flt: TreeFilter) -> None:
        if self.view is not None:
            self.show(self.view, flt, keep=self._cursor_path())

    def action_cycle_sort(self) -> None:
        self.sort_by = SORTS[(SORTS.index(self.sort_by) + 1) % len(SORTS)]
        if self.view is not None:
            self.show(self.view, keep=self._cursor_path())

    def _cursor_path(self) -> str | None:
        node = self.cursor_node
        return node.data.path if node is not None and node.data is not None and not node.data.more else None

    def _set_title(self) -> None:
        title = f"Files at layer {self.layer_index}"
        extra = [self.filter.describe()] if not self.filter.everything else []
        if "unchanged" not in self.filter.statuses:
            extra.append("folder sizes: this layer's own")
        if self.sort_by != "name":
            extra.append(f"by {self.sort_by}")
        self.border_title = title + (" — " + ", ".join(extra) if extra else "")

    # -- building ---------------------------------------------------------------------------
    def listing(self, path: str) -> list[NodeData]:
        """The folder's rows under the current filter and sort (computed once per show)."""
        rows = self._listings.get(path)
        if rows is not None:
            return rows
        view = self.view
        assert view is not None
        flt = self.filter
        if path != "/" and self._ghost(path):
            # inside a folder this layer deleted: what it removed, as the layer below had it
            below = view.below() if view.below is not None else None
            rows = [NodeData(e.path, e, deleted=True) for e in (below.list(path, False) if below is not None else ())]
        elif flt.everything:
            rows = [NodeData(e.path, e) for e in view.tree.list(path, False)]
            rows += [NodeData(e.path, e, deleted=True) for e in view.changes.deleted_under.get(path, ())]
        else:
            passes = view.passes
            rows = [NodeData(e.path, e) for e in view.tree.list(path, False)
                    if passes(flt, e.path, e.kind is _DIR, False)]
            rows += [NodeData(e.path, e, deleted=True) for e in view.changes.deleted_under.get(path, ())
                     if passes(flt, e.path, e.kind is _DIR, True)]
        by_path = attrgetter("path")
        if self.sort_by == "size":
            rows.sort(key=lambda d: (-self._row_size(d), d.path))
        else:  # folders first, then files, each sorted by path alone (no tuple keys: a big folder lists in 2 ms)
            folders = sorted((d for d in rows if d.entry.kind is _DIR), key=by_path)
            files = sorted((d for d in rows if d.entry.kind is not _DIR), key=by_path)
            rows = folders + files
        self._listings[path] = rows
        return rows

    def _ghost(self, path: str) -> bool:
        """Whether `path` is a folder this layer deleted, or lies inside one."""
        assert self.view is not None
        deleted = self.view.changes.deleted
        return path in deleted or any(p in deleted for p in ancestors(path))

    def _folder_sizes(self) -> dict[str, int]:
        """Whole-image folder sizes; in a changes-only view, what the layer itself added below each folder."""
        assert self.view is not None
        return self.view.dir_size if "unchanged" in self.filter.statuses else self.view.added_size

    def _row_size(self, data: NodeData) -> int:
        if _is_dir(data) and not data.deleted and self.view is not None:
            return self._folder_sizes().get(data.path, 0)
        return data.entry.size if data.entry is not None else 0

    def _fill(self, node: TreeNode[NodeData], upto: int | None = None, earlier: bool = False) -> None:
        """Add a folder's next CHUNK children, or (`earlier`) the CHUNK before the loaded ones; with `upto`,
        make sure the row at that position is loaded: the rows up to it when it is near the loaded ones,
        else a window of JUMP rows around it in place of them (a jump costs the same in any folder)."""
        path = node.data.path
        rows = self.listing(path)
        start, end = self._loaded.get(path, (0, 0))
        if upto is not None:
            if start <= upto < end:
                return
            if upto < start or upto >= end + CHUNK or path not in self._loaded:
                node.remove_children()
                self._forget(path)
                start = max(0, min(upto - JUMP // 2, len(rows) - JUMP))
                self._add_rows(node, rows, start, min(len(rows), start + JUMP))
                return
        if earlier:
            self._add_rows(node, rows, max(0, start - CHUNK), end)
        else:
            self._add_rows(node, rows, start, min(len(rows), max(end + CHUNK, (upto or 0) + 1)))

    # -- cost of adding rows: a jump into a big folder adds hundreds; Textual's Tree, per row, reset its line
    # cache and marked the widget dirty (TreeNode.add calls _invalidate), copied the label (process_label
    # splits it into lines) and rendered it once more to measure it (get_label_width)
    def _invalidate(self) -> None:
        if self._batching:
            self._invalidated = True
        else:
            super()._invalidate()

    def process_label(self, label) -> Text:
        if isinstance(label, Text) and "\n" not in label.plain:
            return label  # ours: one line already (safe() escapes line breaks)
        return super().process_label(label)

    def get_label_width(self, node: TreeNode[NodeData]) -> int:
        icon = (self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE) if node.allow_expand else ""
        return cell_len(icon) + node.label.cell_len

    def _add_rows(self, node: TreeNode[NodeData], rows: list[NodeData], start: int, end: int) -> None:
        """Make rows[start:end] the folder's loaded rows, adding those that are not in the tree yet (the
        Tree invalidated once, at the end)."""
        with self._batch():
            self._add_rows_now(node, rows, start, end)

    @contextmanager
    def _batch(self):
        """Rows added or folders closed inside invalidate the Tree once, at the end."""
        self._batching, self._invalidated = True, False
        try:
            yield
        finally:
            self._batching = False
            if self._invalidated:
                super()._invalidate()

    def _add_rows_now(self, node: TreeNode[NodeData], rows: list[NodeData], start: int, end: int) -> None:
        path = node.data.path
        old_start, old_end = self._loaded.get(path, (start, start))
        for child in list(node.children):
            if child.data is not None and child.data.more:
                child.remove()
        first = node.children[0] if node.children else None
        for data in rows[start:old_start]:
            self._add_row(node, data, before=first)
        for data in rows[max(start, old_end):end]:
            self._add_row(node, data)
        self._loaded[path] = (start, end)
        if start:
            node.add_leaf(Text(f"… {start} earlier (enter shows {min(CHUNK, start)} more)", style="italic dim"),
                          data=NodeData(path, None, more=start, earlier=True), before=0)
        if end < len(rows):
            node.add_leaf(Text(f"… {len(rows) - end} more (enter shows {min(CHUNK, len(rows) - end)} more)",
                               style="italic dim"), data=NodeData(path, None, more=end))

    def _forget(self, folder: str) -> None:
        """The folder's rows and those of every folder below it are no longer in the tree."""
        inside = folder.rstrip("/") + "/"
        for path in [p for p in self._loaded if p == folder or p.startswith(inside)]:
            del self._loaded[path]

    def _add_row(self, node: TreeNode[NodeData], data: NodeData, before: TreeNode[NodeData] | None = None) -> None:
        if _is_dir(data):
            node.add(self._label(data), data=data, allow_expand=True, before=before)
        else:
            node.add_leaf(self._label(data), data=data, before=before)

    def _label(self, data: NodeData) -> RowLabel:
        view = self.view
        assert view is not None
        entry = data.entry
        status = view.status(data.path, data.deleted)
        name = safe(data.path.rsplit("/", 1)[-1])
        parts = [(MARKER[status], MARKER_STYLE[status]), (" ", ""),
                 (name + "/" if _is_dir(data) else name, STATUS_STYLE[status])]
        if data.path in view.changes.opaque and not data.deleted:  # beside the name: seen in a narrow pane
            parts.append((" opaque", OPAQUE_STYLE))
        if entry is None:
            return RowLabel(parts)
        if entry.kind == EntryKind.SYMLINK:
            parts.append((f" -> {safe(entry.linkname or '')}", "dim"))
        elif entry.kind == EntryKind.HARDLINK:
            parts.append((f" => {safe(entry.linkname or '')}", "dim"))
        size = self._row_size(data)
        if entry.kind == EntryKind.FILE or (_is_dir(data) and size):
            parts.append((f"  {human(size)}", "dim"))
        parts.append((f"  {mode_string(entry)} {entry.uid}:{entry.gid}", "dim"))
        if entry.mode & 0o6000 and not _is_dir(data):
            parts.append(("  setuid" if entry.mode & 0o4000 else "  setgid", "bold red"))
        flagged = view.flagged.get(data.path)
        if flagged:
            parts += [("  ", ""), (f"!{SEVERITY_LETTER[flagged]}", SEVERITY_STYLE[flagged])]
        return RowLabel(parts)

    # -- drawing: rows with a RowLabel are drawn by patches.treerows.render_row (same cells, a fraction of
    # the time); off the gate (explorer.tui.patches), by Textual's Tree._render_line
    def render_lines(self, crop):
        self._frame = None
        return super().render_lines(crop)

    def _render_line(self, y: int, x1: int, x2: int, base_style):
        lines = self._tree_lines
        if not patches.ACTIVE or y >= len(lines) or type(lines[y].path[-1]._label) is not RowLabel:
            return super()._render_line(y, x1, x2, base_style)
        line = lines[y]
        is_hover = self.hover_line >= 0 and any(node._hover for node in line.path)
        # Tree._render_line's key: both draw the same strip for it
        key = (y, is_hover, self.size.width, self._updates, self._pseudo_class_state,
               tuple(node._updates for node in line.path))
        strip = self._line_cache.get(key)
        if strip is None:
            if self._frame is None:
                self._frame = Frame(self)
            strip = self._line_cache[key] = render_row(self, self._frame, y, line, is_hover, base_style,
                                                       self.size.width)
        return strip.crop(x1, x2)

    def notify_style_update(self) -> None:
        if not patches.ACTIVE:
            super().notify_style_update()
            return
        super(Tree, self).notify_style_update()  # Tree's would also rebuild the rows and lay the screen out
        restyled(self)

    def _on_resize(self, event: events.Resize) -> None:
        if patches.ACTIVE and resized(self, event.size):
            event.prevent_default()  # not Tree._on_resize: its _invalidate rebuilds every row

    # -- events -----------------------------------------------------------------------------
    def on_tree_node_expanded(self, event: Tree.NodeExpanded[NodeData]) -> None:
        event.stop()
        node = event.node
        if node.data is not None and node.data.path not in self._loaded:
            self._fill(node)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[NodeData]) -> None:
        event.stop()
        if event.node.data is not None and not event.node.data.more:
            self.post_message(self.FileHighlighted(event.node.data))

    def on_tree_node_selected(self, event: Tree.NodeSelected[NodeData]) -> None:
        event.stop()
        data = event.node.data
        if data is not None and data.more and event.node.parent is not None:
            parent = event.node.parent
            self._fill(parent, earlier=data.earlier)
            # the cursor on the first row loaded after the loaded ones, or the last one loaded before them
            self.call_after_refresh(self._move_to_row, parent, data.more - 1 if data.earlier else data.more)

    def _move_to_row(self, parent: TreeNode[NodeData], position: int) -> None:
        rows = self._listings.get(parent.data.path, [])
        if 0 <= position < len(rows):
            node = next((c for c in parent.children if c.data is rows[position]), None)
            if node is not None:
                self.move_cursor(node)

    def action_expand_node(self) -> None:
        node = self.cursor_node
        if node is not None and node.allow_expand:
            node.expand()

    def action_collapse_or_parent(self) -> None:
        node = self.cursor_node
        if node is None:
            return
        if node.is_expanded and node.allow_expand:
            node.collapse()
        elif node.parent is not None:
            self.move_cursor(node.parent)

    def expand_all(self, budget: int = EXPAND_ROWS) -> bool:
        """Open every folder, breadth first (each one's first CHUNK rows), until about `budget` rows are
        loaded; False when some folders stay closed for that (a big image has tens of thousands)."""
        queue = deque([self.root])
        added = 0
        while queue:
            node = queue.popleft()
            if not node.allow_expand or node.data is None or node.data.more:
                continue
            if not node.is_expanded:
                if added >= budget:  # said on the tree's border (a notice would lay the screen out again)
                    self.border_subtitle = f"+ again opens more folders ({budget} rows a press)"
                    return False
                if node.data.path not in self._loaded:
                    before = len(node.children)
                    self._fill(node)
                    added += len(node.children) - before
                node.expand()
            queue.extend(node.children)
        self.border_subtitle = ""
        return True

    def collapse_all(self) -> None:
        """Close every open folder below the root (Textual's collapse_all posts a message for every row
        loaded, open or not); the cursor goes to the top-level row it was under."""
        self.border_subtitle = ""
        top = self.cursor_node
        while top is not None and top.parent is not None and top.parent is not self.root:
            top = top.parent
        with self._batch():
            open_folders = [c for c in self.root.children if c.is_expanded]
            while open_folders:
                node = open_folders.pop()
                node.collapse()
                open_folders += [c for c in node.children if c.is_expanded]
        if top is not None:
            self._tree_lines  # noqa: B018 - built now, with the folders closed: the cursor lands on its line
            self._move_to(top)

    def reveal(self, path: str) -> bool:
        """Expand down to `path` and put the cursor on it; False when the current filter hides it."""
        if self.view is None:
            return False
        node = self.root
        parts = [p for p in path.split("/") if p]
        current = ""
        for part in parts:
            current += "/" + part
            folder = node.data.path
            rows = self.listing(folder)
            position = next((i for i, d in enumerate(rows) if d.path == current), None)
            if position is None:
                return False
            self._fill(node, upto=position)
            node.expand()
            node = next(c for c in node.children if c.data is not None and c.data.path == current
                        and not c.data.more)
        # the lines built now (Textual builds them lazily, at the next refresh): the cursor and the scroll
        # move in this frame, not in one more full redraw of the tree after it
        self._tree_lines  # noqa: B018 - builds them
        self._move_to(node)
        return True

    def _move_to(self, node: TreeNode[NodeData]) -> None:
        """Put the cursor on a node and scroll to it (the tree's lines must include it: built)."""
        self.move_cursor(node)
        self.scroll_to_node(node, animate=False)


def _is_dir(data: NodeData) -> bool:
    return data.entry is not None and data.entry.kind == EntryKind.DIR
