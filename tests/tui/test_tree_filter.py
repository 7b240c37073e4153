"""The file tree's filter by name (ctrl+f) and expand all / collapse all (+ / -)."""

from __future__ import annotations

from explorer.scan.engine import DetectorSet
from explorer.tui.app import ExplorerApp
from explorer.tui.widgets.filetree import FileTree
from explorer.tui.widgets.namefilter import NameFilter

SIZE = (160, 48)


def loaded(tree: FileTree) -> set[str]:
    """Every path with a row in the tree (loaded, open or not)."""
    out, stack = set(), [tree.root]
    while stack:
        node = stack.pop()
        if node.data is not None and not node.data.more:
            out.add(node.data.path)
        stack.extend(node.children)
    return out


def visible(tree: FileTree) -> set[str]:
    """The paths on the tree's lines (under open folders only)."""
    return {line.path[-1].data.path for line in tree._tree_lines if not line.path[-1].data.more}


async def type_filter(pilot, text: str) -> None:
    await pilot.press("ctrl+f", *text)
    for _ in range(100):
        await pilot.pause(0.02)
        if pilot.app.tree_filter.name == text:
            await pilot.pause()
            return
    raise AssertionError(f"the tree was never filtered by {text!r}")


async def test_typing_narrows_the_tree_to_matching_paths_and_escape_clears(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        tree = app.query_one(FileTree)
        everything = loaded(tree)
        await type_filter(pilot, "kwork")
        bar = app.query_one(NameFilter)
        assert bar.has_focus and bar.display
        # layer 5: /tmp/.x/kworker was deleted in layer 4; the copy in /usr/bin is what remains
        assert visible(tree) == loaded(tree) == {"/", "/usr", "/usr/bin", "/usr/bin/kworkerds"}
        assert "names matching kwork" in tree.border_title
        await pilot.press("left_square_bracket")  # no: the bar has the focus, the key goes into it
        await pilot.press("backspace", "enter")  # enter: back to the tree, the filter kept
        assert tree.has_focus and app.tree_filter.name == "kwork"
        await pilot.press("left_square_bracket", "left_square_bracket")  # layer 3: the first copy, kept filter
        await pilot.pause(0.2)
        assert app.layer_index == 3
        assert {"/tmp/.x/kworker"} <= visible(tree) and "/usr/bin/kworkerds" not in loaded(tree)
        await pilot.press("ctrl+f", "escape")
        await pilot.pause()
        assert app.tree_filter.everything and not bar.display and tree.has_focus
        assert "/etc" in loaded(tree) and "names matching" not in tree.border_title


async def test_name_filter_globs_and_combines_with_changes_only(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        tree = app.query_one(FileTree)
        await type_filter(pilot, "*.sh")
        assert loaded(tree) == {"/", "/usr", "/usr/local", "/usr/local/bin", "/usr/local/bin/healthcheck.sh"}
        await pilot.press("enter", "c")  # changes only keeps the name
        assert app.changes_only and app.tree_filter.name == "*.sh"
        await pilot.press("ctrl+f", "ctrl+u", *"bin")
        for _ in range(50):
            await pilot.pause(0.02)
            if app.tree_filter.name == "bin":
                break
        await pilot.pause()
        view = tree.view
        changed = view.changes.added | view.changes.modified
        files = {p for p in loaded(tree) if view.tree.get(p) is not None and view.tree.get(p).kind.value != "dir"}
        assert files == {p for p in changed if "bin" in p and view.tree.get(p).kind.value != "dir"}
        assert files >= {"/bin/ps", "/usr/bin/curl", "/usr/bin/kworkerds"}
        await pilot.press("escape", "0")
        assert app.tree_filter.everything


async def test_expand_all_and_collapse_all(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        tree = app.query_one(FileTree)
        every = set(tree.view.tree.entries) | {e.path for e in tree.view.changes.deleted.values()}
        assert visible(tree) != every
        await pilot.press("t", "plus")
        await pilot.pause()
        assert visible(tree) == every
        tree.reveal("/usr/local/bin/healthcheck.sh")
        await pilot.press("minus")
        await pilot.pause()
        assert visible(tree) == {"/"} | {c.data.path for c in tree.root.children}
        assert tree.cursor_node.data.path == "/usr"  # the top-level row the cursor was under
        assert not any(n.is_expanded for n in tree.root.children)
        # a cap per press on rows loaded: a small budget opens fewer folders, and again opens more
        tree.show(tree.view)  # rebuilt: nothing below the root loaded
        assert tree.expand_all(budget=3) is False
        first = len(visible(tree))
        assert first < len(every)
        assert tree.expand_all(budget=3) is False and len(visible(tree)) > first
        assert tree.border_subtitle == "+ again opens more folders (3 rows a press)"
        assert tree.expand_all() is True and visible(tree) == every and tree.border_subtitle == ""


async def test_keys_typed_while_the_tree_is_filtered_are_kept(demo_source, wait_for_scan, monkeypatch):
    """A key typed while a worker finds the matches of the name before it stays in the line (the worker's
    result, when it comes, does not put the older name back)."""
    import threading

    from explorer.tui.index import LayerView
    from explorer.tui.widgets.namefilter import DEBOUNCE

    gate = threading.Event()
    shown = LayerView.shown

    def gated(view, flt):
        if flt.name:
            gate.wait(10)
        return shown(view, flt)

    monkeypatch.setattr(LayerView, "shown", gated)
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        await pilot.press("ctrl+f", "k")
        await pilot.pause(DEBOUNCE * 2)  # "k" asked for: its worker waits at the gate
        assert app.tree_filter.name == ""
        await pilot.press("w")
        gate.set()  # "k" is shown now, while "kw" is in the line
        for _ in range(100):
            await pilot.pause(0.02)
            if app.tree_filter.name == "kw":
                break
        assert app.query_one(NameFilter).value == app.tree_filter.name == "kw"
        await pilot.press("enter", "0")  # every file again: the line follows
        assert app.query_one(NameFilter).value == "" and not app.query_one(NameFilter).display


async def test_each_name_starts_a_worker_described_in_a_few_words(demo_source, wait_for_scan, monkeypatch):
    """Textual describes a worker by the repr of its arguments, on the UI thread, as it starts: the layer's
    view must not print its trees and matched paths (200-400 ms a letter on a 73k-entry image). Enter with
    the name already applied starts none."""
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    described = []
    run_worker = app.run_worker

    def spy(*args, **kwargs):
        if kwargs.get("group") == "name-filter":
            described.append(kwargs["description"])
        return run_worker(*args, **kwargs)

    monkeypatch.setattr(app, "run_worker", spy)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        await type_filter(pilot, "bin")
        await pilot.press("escape")
        await type_filter(pilot, "kw")
        started = len(described)
        await pilot.press("enter")  # back to the tree with the name already applied: no filter again
        await pilot.pause(0.3)
        assert app.query_one(FileTree).has_focus and len(described) == started
    assert len(described) >= 2
    assert all(len(text) < 200 and "LayerView(layer=" in text for text in described), described


def test_folders_of_matches_and_names_lowered_once():
    from explorer.tui.index import with_folders
    from explorer.tui.pathmatch import lowered_matcher, matcher

    assert with_folders(["/a/b/c", "/a/d", "/x"]) == {"/", "/a", "/a/b", "/a/b/c", "/a/d", "/x"}
    assert with_folders([]) == {"/"}
    for query, path in (("LIB", "/usr/Lib/x"), ("*.SO", "/usr/lib/A.so"), ("/usr/*/x", "/USR/lib/x")):
        assert matcher(query)(path) and lowered_matcher(query)(path.lower())
    assert not matcher("*.so")("/usr/lib/a.so.1") and not lowered_matcher("zz")("/usr/lib")
