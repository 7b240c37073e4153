"""The image's trees after stacking: the merged tree as of any layer, every copy of a path, folder sizes.

Everything here is computed from the layers' entries alone (no blob is read). The front ends ask
these questions of `ImageAnalysis` (`tree_at`, `history`) and keep only their own view state.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Iterator, Sequence

from explorer.layerfs.tree import Tree, apply_layer, parent_of
from explorer.core.model import EntryKind, FileEntry

if TYPE_CHECKING:
    from explorer.layerfs.analysis import LayerReport

KEEP_TREES = 8
"""Merged trees kept (each holds every visible entry as of its layer: memory grows with the image's
file count)."""


def ancestors(path: str) -> Iterator[str]:
    """The folders above `path`, nearest first, up to "/"."""
    p = parent_of(path)
    while p:
        yield p
        p = parent_of(p)


class LayerTrees:
    """The merged tree as of each layer, built on demand: a copy of the nearest lower tree kept with
    the layers between applied (about ten times quicker than stacking every layer again), else
    stacked from layer 0. The top layer's tree is the final one. The trees handed out are shared:
    callers read them, never change them."""

    def __init__(self, layers: Sequence[LayerReport], final: Tree, keep: int = KEEP_TREES) -> None:
        self._layers = layers
        self._final = final
        self._keep = keep
        self._kept: OrderedDict[int, Tree] = OrderedDict()
        self._lock = threading.Lock()

    def at(self, layer: int) -> Tree:
        if layer >= len(self._layers) - 1:
            return self._final
        with self._lock:
            tree = self._kept.get(layer)
            if tree is not None:
                self._kept.move_to_end(layer)
                return tree
            below = max((n for n in self._kept if n < layer), default=None)
            tree = self._kept[below].copy() if below is not None else Tree()
            for report in self._layers[(below + 1 if below is not None else 0): layer + 1]:
                apply_layer(tree, report.entries)
            self._kept[layer] = tree
            while len(self._kept) > self._keep:
                self._kept.popitem(last=False)
            return tree


class PathCopies:
    """Every copy of every path and every whiteout naming it, lowest layer first: a path's history
    is a lookup, not a walk over every layer."""

    def __init__(self, layers: Sequence[LayerReport]) -> None:
        copies: dict[str, list[FileEntry]] = {}
        for report in layers:
            for entry in report.entries:
                same = copies.get(entry.path)
                if same is None:
                    copies[entry.path] = [entry]
                else:
                    same.append(entry)
        self.copies = copies

    def history(self, path: str) -> list[FileEntry]:
        """Every copy of a path and every whiteout of it or of a folder above it, lowest layer first."""
        out = list(self.copies.get(path, ()))
        for p in ancestors(path):
            out += [e for e in self.copies.get(p, ()) if e.is_whiteout]
        out.sort(key=lambda e: (e.layer, e.member))
        return out


def folder_sizes(tree: Tree) -> dict[str, int]:
    """Bytes of regular files below each folder: files add to their folder, folders to theirs, deepest first."""
    sizes: dict[str, int] = dict.fromkeys(tree.children, 0)
    for path, entry in tree.entries.items():
        if entry.kind == EntryKind.FILE and entry.size:
            parent = parent_of(path)
            if parent in sizes:
                sizes[parent] += entry.size
    for folder in sorted(sizes, key=lambda p: p.count("/"), reverse=True):
        parent = parent_of(folder)
        if parent and parent in sizes and folder != "/":
            sizes[parent] += sizes[folder]
    return sizes
