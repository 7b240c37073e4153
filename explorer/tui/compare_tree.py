"""The comparison as a tree: every path of either final filesystem, each marked added, removed, changed
or same, each folder counting what differs below it. No Textual here: `tui/compare.py` draws it.

Built once, linear in the paths of both images; the rows shown are the folders' children in name order
for the folders open, so opening and closing a folder costs the rows shown, not the image.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from explorer.core.model import EntryKind, FileEntry
from explorer.layerfs.compare import ADDED, CHANGED, REMOVED, Comparison, PathChange

SAME = "same"
KINDS = (ADDED, REMOVED, CHANGED, SAME)


@dataclass
class Node:
    path: str
    change: str
    """`added`, `removed`, `changed` or `same` (the path itself, not what lies below it)."""
    a: FileEntry | None = None
    b: FileEntry | None = None
    detail: PathChange | None = None
    depth: int = 0
    children: list["Node"] = field(default_factory=list)
    below: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    """For a folder: how many paths below it (at any depth) are added, removed, changed, same."""

    @property
    def name(self) -> str:
        return posixpath.basename(self.path) or "/"

    @property
    def is_dir(self) -> bool:
        entry = self.b if self.b is not None else self.a
        return bool(self.children) or (entry is not None and entry.kind == EntryKind.DIR)

    @property
    def differs_below(self) -> int:
        return self.below[ADDED] + self.below[REMOVED] + self.below[CHANGED]

    @property
    def interesting(self) -> bool:
        """Itself or something below it differs."""
        return self.change != SAME or self.differs_below > 0


def _key(path: str) -> list[str]:
    return path.split("/")


def build_tree(cmp: Comparison) -> Node:
    """The root ("/") of the union of both final filesystems."""
    left, right = cmp.a.final.entries, cmp.b.final.entries
    changes = {c.path: c for c in cmp.changes}
    root = Node("/", SAME)
    nodes = {"/": root}
    order = []
    for path in sorted((left.keys() | right.keys()) - {"/"}, key=_key):
        parent_path = posixpath.dirname(path)
        parent = nodes.get(parent_path)
        if parent is None:  # a folder no tar named (implicit): the same on both sides
            parent = _implicit(nodes, parent_path, order)
        change = changes.get(path)
        node = Node(path, change.change if change else SAME, left.get(path), right.get(path), change,
                    parent.depth + 1)
        parent.children.append(node)
        nodes[path] = node
        order.append(node)
    for node in reversed(order):  # children before parents: each folder adds itself and its counts up
        parent = nodes[posixpath.dirname(node.path)]
        parent.below[node.change] += 1
        for kind in KINDS:
            parent.below[kind] += node.below[kind]
    return root


def _implicit(nodes: dict[str, Node], path: str, order: list[Node]) -> Node:
    parent_path = posixpath.dirname(path)
    parent = nodes.get(parent_path) or _implicit(nodes, parent_path, order)
    node = Node(path, SAME, depth=parent.depth + 1)
    parent.children.append(node)
    nodes[path] = node
    order.append(node)
    return node


def opened_at_start(root: Node) -> set[str]:
    """The folders open when the comparison is shown: those with a difference below them."""
    out = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if node.differs_below:
            out.add(node.path)
            stack.extend(c for c in node.children if c.children)
    return out


def visible(root: Node, opened: set[str], hide_same: bool = False) -> list[Node]:
    """The rows shown: the children of each open folder, depth first, by name (`hide_same`: only paths
    that differ or hold a difference)."""
    out: list[Node] = []
    stack = list(reversed(root.children))
    while stack:
        node = stack.pop()
        if hide_same and not node.interesting:
            continue
        out.append(node)
        if node.path in opened:
            stack.extend(reversed(node.children))
    return out


def find(root: Node, path: str) -> Node | None:
    node = root
    for part in [p for p in path.split("/") if p]:
        node = next((c for c in node.children if c.name == part), None)
        if node is None:
            return None
    return node
