"""Trees after stacking, owned by layerfs: the tree as of a layer is built from the nearest lower one
kept, and is the same tree stacking every layer gives; a path's history is one lookup."""

from __future__ import annotations

import explorer.layerfs.trees as trees
from explorer.demo.imagewriter import Entry, Layer
from explorer.layerfs.tree import Tree, apply_layer
from explorer.layerfs.trees import folder_sizes

F = Entry.file
D = Entry.dir

LAYERS = [Layer([D("/a"), F("/a/one", b"1"), D("/a/deep"), F("/a/deep/x", b"xxxx")])] + [
    Layer([F(f"/a/f{n}", b"n" * n), *([Entry.whiteout("/a/one")] if n == 3 else []),
           *([Entry.opaque("/a/deep")] if n == 5 else [])]) for n in range(1, 8)]


def _shape(tree: Tree) -> list[tuple]:
    return sorted((e.path, e.kind, e.layer, e.size) for e in tree.walk("/"))


def _stacked(analysis, layer: int) -> Tree:
    tree = Tree()
    for report in analysis.layers[: layer + 1]:
        apply_layer(tree, report.entries)
    return tree


def test_a_tree_is_built_from_the_nearest_lower_one_and_matches_full_stacking(analysis_of, monkeypatch):
    a = analysis_of(LAYERS)
    applied: list[int] = []
    real = trees.apply_layer
    monkeypatch.setattr(trees, "apply_layer", lambda tree, entries: (applied.append(entries[0].layer), real(tree, entries))[1])
    assert _shape(a.tree_at(2)) == _shape(_stacked(a, 2)) and applied == [0, 1, 2]
    applied.clear()
    assert _shape(a.tree_at(5)) == _shape(_stacked(a, 5)) and applied == [3, 4, 5]
    applied.clear()
    assert _shape(a.tree_at(4)) == _shape(_stacked(a, 4)) and applied == [3, 4]
    applied.clear()
    assert a.tree_at(5) is a.tree_at(5) and a.tree_at(7) is a.final and applied == []
    for n in range(8):
        assert _shape(a.tree_at(n)) == _shape(_stacked(a, n)), n


def test_history_is_every_copy_and_every_whiteout_above(analysis_of):
    a = analysis_of(LAYERS)
    brute = [e for r in a.layers for e in r.entries
             if e.path == "/a/one" or (e.is_whiteout and e.path in ("/a", "/"))]
    assert a.history("/a/one") == brute and [e.layer for e in brute] == [0, 3]
    assert [e.layer for e in a.history("/a/deep/x")] == [0, 5]
    assert a.path_copies() is a.path_copies()


def test_folder_sizes_add_up_below_each_folder(analysis_of):
    a = analysis_of(LAYERS)
    sizes = folder_sizes(a.final)
    assert sizes["/a/deep"] == 0 and sizes["/a"] == sum(range(1, 8)) and sizes["/"] == sizes["/a"]
    assert folder_sizes(a.tree_at(0)) == {"/": 5, "/a": 5, "/a/deep": 4}
