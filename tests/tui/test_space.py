"""The space views (`w` wasted, `b` largest): the rows, their orders, and enter showing the copy."""

from __future__ import annotations

import asyncio

from explorer.core.model import EntryKind
from explorer.reports.waste import wasted_files
from explorer.scan.engine import DetectorSet
from explorer.tui.app import ExplorerApp
from explorer.tui.screens.space import SpaceScreen, SpaceTable
from explorer.tui.widgets.filetree import FileTree
from tests.support.pilot import wait_for_tree

SIZE = (160, 48)


async def open_space(pilot, key: str) -> SpaceScreen:
    """Press `key` (w or b) and wait until the view's rows are on screen."""
    await pilot.press(key)
    screen = pilot.app.screen
    assert isinstance(screen, SpaceScreen)
    await wait_shown(pilot, screen)
    return screen


async def wait_shown(pilot, screen: SpaceScreen) -> None:
    for _ in range(200):
        await pilot.pause(0.02)
        if screen.shown == (screen.kind, screen.sort_by, screen.descending):
            return
    raise AssertionError("the space view's rows never came")


def as_report(screen: SpaceScreen) -> list[dict]:
    return [{"path": r.path, "copies": r.copies, "layers": list(r.layers), "wasted_bytes": r.bytes}
            for r in screen.rows]


async def test_wasted_view_is_the_layers_report_and_enter_shows_the_biggest_wasted_copy(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        screen = await open_space(pilot, "w")
        analysis = app.scan_index.analysis
        expected, count = wasted_files(analysis, top=1000)
        assert as_report(screen) == expected and len(expected) == count == 6
        assert sum(r.bytes for r in screen.rows) == analysis.wasted_bytes == 23963
        first = screen.rows[0]
        assert (first.path, first.copies, first.layers, first.bytes) == ("/tmp/.x/kworker", 1, (3,), 16384)
        cells = [c.plain for c in screen.query_one(SpaceTable).get_row_at(0)]
        assert cells == ["16.4 kB", "1", "3", "layer 3, deleted by layer 4", "/tmp/.x/kworker"]
        curl = next(r for r in screen.rows if r.path == "/usr/bin/curl")
        assert curl.layers == (1, 5) and curl.entry.layer == 1  # the copy layer 5 replaced
        await pilot.press("enter")  # two keys from the main screen to the biggest wasted file
        await wait_for_tree(pilot)
        tree = app.query_one(FileTree)
        assert app.layer_index == 3 and tree.cursor_node.data.path == "/tmp/.x/kworker"
        assert tree.has_focus


async def test_sort_keys_order_by_each_column_and_reverse_without_computing_again(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        screen = await open_space(pilot, "w")
        paths = lambda: [r.path for r in screen.rows]  # noqa: E731
        lists = "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease"  # under layer 4's opaque folder
        assert paths() == ["/tmp/.x/kworker", "/usr/bin/curl", lists, "/tmp/.x/config.json", "/srv/app/.env",
                           "/etc/passwd"]
        screen.query_one(SpaceTable).move_cursor(1)  # the cursor stays on its path through the sorts
        await pilot.press("p")
        await wait_shown(pilot, screen)
        assert paths() == sorted(paths()) and paths()[0] == "/etc/passwd"
        assert screen.current().path == "/usr/bin/curl"
        await pilot.press("p")
        await wait_shown(pilot, screen)
        assert paths() == sorted(paths(), reverse=True)
        await pilot.press("c")
        await wait_shown(pilot, screen)
        assert [r.copies for r in screen.rows] == [2, 2, 1, 1, 1, 1]
        assert paths()[:2] == ["/usr/bin/curl", "/etc/passwd"]  # ties: bytes, largest first
        await pilot.press("l")
        await wait_shown(pilot, screen)
        assert [r.layers for r in screen.rows] == [(0, 5), (1,), (1, 5), (2,), (3,), (3,)]
        await pilot.press("s")
        await wait_shown(pilot, screen)
        assert [r.bytes for r in screen.rows] == sorted((r.bytes for r in screen.rows), reverse=True)
        assert "sorted by bytes, descending" in str(screen.query_one("#space-count").render())
        keys = {binding.key for (_node, binding, _on, _tip) in screen.active_bindings.values() if binding.show}
        assert {"s", "p", "c", "l"} <= keys  # in the footer
        assert screen.space.computed == 1
        await pilot.press("b")
        await wait_shown(pilot, screen)
        await pilot.press("w")
        await wait_shown(pilot, screen)
        assert screen.space.computed == 2  # once per view, whatever was pressed
        await pilot.press("escape")
        assert not isinstance(app.screen, SpaceScreen)
        await pilot.press("w")  # cached with the scan: shown at once
        assert app.screen.shown == ("wasted", "bytes", True) and app.screen.space.computed == 2


async def test_largest_view_lists_the_biggest_copy_of_every_path(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        screen = await open_space(pilot, "b")
        analysis = app.scan_index.analysis
        biggest: dict[str, int] = {}
        layers: dict[str, list[int]] = {}
        for report in analysis.layers:
            for entry in report.entries:
                if entry.kind == EntryKind.FILE:
                    biggest[entry.path] = max(biggest.get(entry.path, 0), entry.size)
                    layers.setdefault(entry.path, []).append(report.index)
        expected = sorted(((-size, path) for path, size in biggest.items() if size))
        assert [(-r.bytes, r.path) for r in screen.rows] == expected
        assert all(list(r.layers) == layers[r.path] and r.copies == len(layers[r.path]) for r in screen.rows)
        assert screen.rows[0].path == "/tmp/.x/kworker"  # deleted, but it ships: the largest file
        curl = next(r for r in screen.rows if r.path == "/usr/bin/curl")
        assert curl.entry.layer == 5 and analysis.in_final(curl.entry)  # the bigger copy, in the final image
        position = screen.rows.index(curl)
        screen.query_one(SpaceTable).move_cursor(position)
        await pilot.press("enter")
        await wait_for_tree(pilot)
        assert app.layer_index == 5 and app.query_one(FileTree).cursor_node.data.path == "/usr/bin/curl"


def layer_folder_bytes(report) -> dict[str, int]:
    """From the layer's own tar entries: bytes of its regular files below each folder."""
    sizes: dict[str, int] = {}
    for entry in report.entries:
        if entry.kind == EntryKind.FILE and entry.size:
            folder = entry.path
            while folder != "/":
                folder = folder.rsplit("/", 1)[0] or "/"
                sizes[folder] = sizes.get(folder, 0) + entry.size
    return sizes


def shown_sizes(tree: FileTree) -> dict[str, int]:
    """Folder → the size its row shows (every loaded folder row, the root included)."""
    out = {}
    stack = [tree.root]
    while stack:
        node = stack.pop()
        if node.data is not None and node.data.entry is not None and node.data.entry.kind == EntryKind.DIR:
            label = node.label.plain
            out[node.data.path] = label
        stack.extend(node.children)
    return out


async def test_changes_only_folder_sizes_are_what_the_layer_added(demo_source, wait_for_scan):
    from explorer.core.units import human

    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        tree = app.query_one(FileTree)
        whole = tree.view.dir_size
        report = app.scan_index.analysis.layers[5]
        own = layer_folder_bytes(report)
        await pilot.press("c", "t")
        for path in ("/usr/local/bin", "/bin/ps", "/etc/passwd", "/var/www/html", "/root/.ssh"):
            assert tree.reveal(path), path
        await pilot.pause()
        labels = shown_sizes(tree)
        assert {"/", "/usr", "/usr/local", "/bin", "/etc", "/var", "/root"} <= set(labels)
        assert all(own[p] < whole[p] for p in ("/", "/usr", "/usr/local", "/bin", "/etc", "/var", "/root"))
        for path, label in labels.items():
            assert f"  {human(own[path])}  " in label + "  ", (path, label)
        assert "this layer's own" in tree.border_title
        await pilot.press("left_square_bracket", "left_square_bracket")  # layer 3, still changes only
        await wait_for_tree(pilot)
        own3 = layer_folder_bytes(app.scan_index.analysis.layers[3])
        assert tree.view.added_size == own3 and own3["/tmp/.x"] == 16384 + 266
        await pilot.press("c")  # every file again: whole-image sizes
        assert f"  {human(tree.view.dir_size['/'])}" in tree.root.label.plain


async def test_search_lists_every_match_with_sizes_and_sorts_by_layer_path_and_size(tmp_path, wait_for_scan):
    from explorer.demo.imagewriter import Entry, ImageSpec, Layer, write_image
    from explorer.sources import open_image
    from tests.support.pilot import search

    # 450 matches in layer 0 (more than the old cap of 300), 3 of them replaced by bigger copies in layer 1
    files = [Entry.file(f"/data/part-{n:03d}.bin", b"x" * (n + 1)) for n in range(450)]
    spec = ImageSpec(layers=[Layer([Entry.dir("/data"), *files]),
                             Layer([Entry.file(f"/data/part-{n:03d}.bin", b"y" * 5000) for n in (7, 8, 9)])])
    with open_image(write_image(spec, str(tmp_path / "many.tar"))) as source:
        app = ExplorerApp(source, detectors=DetectorSet())
        async with app.run_test(size=SIZE) as pilot:
            await wait_for_scan(pilot, app)
            screen = await search(pilot, "part-")
            assert len(screen.found) == 453
            assert [e.layer for e in screen.found] == [0] * 450 + [1] * 3  # lowest layer first
            count = str(screen.query_one("#count").render())
            assert count.startswith("453 copies;") and "stopped" not in count
            first = screen.row_text(0).plain
            assert "/data/part-000.bin" in first and " 1 B " in first and "in the final image" in first
            assert "replaced by layer 1" in screen.row_text(7).plain and "8 B" in screen.row_text(7).plain
            await pilot.press("down", "s")  # to the list; by size, largest first
            assert [(e.layer, e.path, e.size) for e in screen.found[:4]] == [
                (1, "/data/part-007.bin", 5000), (1, "/data/part-008.bin", 5000), (1, "/data/part-009.bin", 5000),
                (0, "/data/part-449.bin", 450)]
            assert "5.0 kB" in screen.row_text(0).plain
            await pilot.press("s")  # again: smallest first
            assert [e.size for e in screen.found[:2]] == [1, 2]
            await pilot.press("p")
            assert [e.path for e in screen.found] == sorted(e.path for e in screen.found)
            assert [(e.layer, e.path) for e in screen.found[7:11]] == [
                (0, "/data/part-007.bin"), (1, "/data/part-007.bin"), (0, "/data/part-008.bin"),
                (1, "/data/part-008.bin")]
            await pilot.press("l", "l")  # by layer, then reversed: layer 1's copies first
            assert [e.layer for e in screen.found[:4]] == [1, 1, 1, 0]
            assert "by layer, descending" in str(screen.query_one("#count").render())
            assert screen.found[screen.query_one("#results").cursor_row].path == "/data/part-000.bin"  # kept
            await pilot.press("home", "enter")
            await wait_for_tree(pilot)
            assert app.layer_index == 1 and app.query_one(FileTree).cursor_node.data.path == "/data/part-007.bin"


def test_search_stops_at_its_cap_and_says_so(demo_source):
    from explorer.scan.engine import scan
    from explorer.tui.screens.search import find_paths

    analysis = scan(demo_source, DetectorSet()).analysis
    every = find_paths(analysis, "/")
    assert len(every) == sum(1 for e in analysis.entries() if not e.is_whiteout) > 40
    assert find_paths(analysis, "/", limit=10) == every[:10]


def test_a_cancelled_search_stops_within_cancel_every_entries(demo_source, monkeypatch):
    from explorer.scan.engine import scan
    from explorer.tui.screens import search

    analysis = scan(demo_source, DetectorSet()).analysis
    every = search.find_paths(analysis, "/")
    monkeypatch.setattr(search, "CANCEL_EVERY", 8)
    asked = []
    found = search.find_paths(analysis, "/", cancelled=lambda: asked.append(1) or len(asked) == 2)
    assert len(asked) == 2 and found == every[:len(found)] and 8 <= len(found) <= 16


async def test_closing_the_search_cancels_its_running_search_at_once(demo_source, wait_for_scan, monkeypatch):
    import threading

    from explorer.tui.screens import search

    started, stop = threading.Event(), threading.Event()

    def slow(analysis, text, limit=search.LIMIT, cancelled=lambda: False):
        started.set()
        while not cancelled() and not stop.wait(0.001):
            pass
        return []

    monkeypatch.setattr(search, "find_paths", slow)
    app = ExplorerApp(demo_source)
    async with app.run_test() as pilot:
        await wait_for_scan(pilot, app)
        await pilot.press("slash", "e", "t")
        assert await asyncio.to_thread(started.wait, 5)
        screen = app.screen
        (worker,) = [w for w in app.workers if w.group == "search" and w.is_running]
        screen.dismiss(None)
        assert worker.is_cancelled  # now, not when the screen is unmounted after the next frame
        await pilot.pause()
    stop.set()


async def test_the_new_keys_are_in_the_palette_and_the_help(demo_source, wait_for_scan):
    from explorer.tui.screens.help import binding_rows

    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Wasted space", "Largest files", "Files: filter by name", "Files: expand all",
                "Files: collapse all"} <= titles
        command = next(c for c in app.get_system_commands(app.screen) if c.title == "Wasted space")
        command.callback()
        await pilot.pause()
        assert isinstance(app.screen, SpaceScreen) and app.screen.kind == "wasted"
        await pilot.press("escape")
        rows = {(where, does) for where, _key, does in binding_rows(app)}
        for does in ("The files wasting the most space (copies deleted or replaced by a later layer)",
                     "The largest files, in any layer (deleted copies included)",
                     "Filter the file tree by name as you type (escape clears)",
                     "Close every folder of the file tree"):
            assert ("main", does) in rows
        assert ("wasted/largest", "Sort by copies, most first (again: reverse)") in rows
        assert ("name filter", "Clear the filter by name and close it") in rows
        assert any(where == "find" and does.startswith("Results by size") for where, does in rows)
