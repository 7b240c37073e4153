"""The file tree of one layer: the merged filesystem as of that layer, or only what it changed.

Children are added when a folder is expanded, so that huge images open at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from explorer.commands.layers import human
from explorer.layerfs.tree import Tree as FsTree, parent_of
from explorer.model import EntryKind, FileEntry
from explorer.textsafe import safe
from explorer.tui.index import ScanIndex
from explorer.tui.widgets.layers import SEVERITY_STYLE


@dataclass(frozen=True)
class NodeData:
    path: str
    entry: FileEntry | None
    deleted: bool = False


class FileTree(Tree[NodeData]):
    BINDINGS = [
        Binding("space", "toggle_node", "Expand", show=False),
        Binding("right", "expand_node", "Expand", show=False),
        Binding("left", "collapse_or_parent", "Collapse", show=False),
    ]

    @dataclass
    class FileHighlighted(Message):
        data: NodeData

    def __init__(self, **kwargs) -> None:
        super().__init__(Text("/"), data=NodeData("/", None), **kwargs)
        self.scan_index: ScanIndex | None = None
        self.layer_index = 0
        self.changes_only = False
        self._fs: FsTree | None = None
        self.show_root = True
        self.guide_depth = 3

    def show(self, index: ScanIndex, layer: int, changes_only: bool) -> None:
        self.scan_index, self.layer_index, self.changes_only = index, layer, changes_only
        self._fs = index.analysis.tree_at(layer)
        self.clear()
        self.root.data = NodeData("/", self._fs.get("/"))
        self.root.set_label(Text("/" + ("  (changes only)" if changes_only else ""), style="bold"))
        self._fill(self.root)
        self.root.expand()

    # -- building ---------------------------------------------------------------------------
    def _children(self, path: str) -> list[NodeData]:
        assert self.scan_index is not None and self._fs is not None
        li = self.scan_index.layers[self.layer_index]
        out = []
        for entry in self._fs.list(path):
            if self.changes_only and not (entry.path in li.added or entry.path in li.modified
                                          or entry.path in li.changed_dirs):
                continue
            out.append(NodeData(entry.path, entry))
        for deleted_path, entry in li.deleted.items():
            if parent_of(deleted_path) == path:
                out.append(NodeData(deleted_path, entry, deleted=True))
        out.sort(key=lambda d: (not _is_dir(d), d.path))
        return out

    def _fill(self, node: TreeNode[NodeData]) -> None:
        node.remove_children()
        for data in self._children(node.data.path):
            label = self._label(data)
            if _is_dir(data) and not data.deleted:
                node.add(label, data=data, allow_expand=True)
            else:
                node.add_leaf(label, data=data)

    def _label(self, data: NodeData) -> Text:
        assert self.scan_index is not None
        li = self.scan_index.layers[self.layer_index]
        entry = data.entry
        name = safe(data.path.rsplit("/", 1)[-1])
        style = ""
        if data.deleted:
            style = "red strike"
        elif data.path in li.added:
            style = "green"
        elif data.path in li.modified:
            style = "yellow"
        text = Text(name + ("/" if _is_dir(data) else ""), style=style)
        if entry is not None and entry.kind == EntryKind.SYMLINK:
            text.append(f" → {safe(entry.linkname or '')}", style="dim")
        elif entry is not None and entry.kind == EntryKind.HARDLINK:
            text.append(f" ⇒ {safe(entry.linkname or '')}", style="dim")
        if entry is not None and entry.kind == EntryKind.FILE:
            text.append(f"  {human(entry.size)}", style="dim")
        if entry is not None and entry.mode & 0o6000 and not _is_dir(data):
            text.append("  setuid" if entry.mode & 0o4000 else "  setgid", style="bold red")
        flagged = self._finding_severity(data)
        if flagged:
            text.append("  ●", style=SEVERITY_STYLE[flagged])
        return text

    def _finding_severity(self, data: NodeData) -> str | None:
        assert self.scan_index is not None
        from explorer.findings import SEVERITY_RANK
        entry = data.entry
        layer = entry.layer if entry is not None else self.layer_index
        if data.path not in self.scan_index.paths_with_findings.get(layer, ()):
            return None
        found = [f for f in self.scan_index.by_layer.get(layer, []) if f.path and
                 (f.path == data.path or f.path.startswith(data.path.rstrip("/") + "/"))]
        return max(found, key=lambda f: SEVERITY_RANK[f.severity]).severity if found else None

    # -- events -----------------------------------------------------------------------------
    def on_tree_node_expanded(self, event: Tree.NodeExpanded[NodeData]) -> None:
        event.stop()
        node = event.node
        if node is not self.root and not node.children:
            self._fill(node)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[NodeData]) -> None:
        event.stop()
        if event.node.data is not None:
            self.post_message(self.FileHighlighted(event.node.data))

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

    def reveal(self, path: str) -> bool:
        """Expand down to `path` and put the cursor on it."""
        node = self.root
        parts = [p for p in path.split("/") if p]
        current = ""
        for part in parts:
            current += "/" + part
            if node.allow_expand and not node.children:
                self._fill(node)
            node.expand()
            match = next((c for c in node.children if c.data is not None and c.data.path == current), None)
            if match is None:
                return False
            node = match
        self.call_after_refresh(self._move_to, node)
        return True

    def _move_to(self, node: TreeNode[NodeData]) -> None:
        """Put the cursor on a node once the tree's lines include it (after the expansions refreshed)."""
        self.move_cursor(node)
        self.scroll_to_node(node, animate=False)


def _is_dir(data: NodeData) -> bool:
    return data.entry is not None and data.entry.kind == EntryKind.DIR
