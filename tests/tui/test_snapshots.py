"""SVG snapshots of the UI on the demo image (pytest-textual-snapshot; update with --snapshot-update)."""

from __future__ import annotations

import pytest

from explorer.tui.app import ExplorerApp
from tests.support.pilot import go_to, search, wait_until_scanned

SIZE = (150, 44)


@pytest.fixture
def demo_app(demo_source):
    return ExplorerApp(demo_source)


def test_main_screen(snap_compare, demo_app):
    assert snap_compare(demo_app, terminal_size=SIZE, run_before=wait_until_scanned)


def test_cleanup_layer_changes_only(snap_compare, demo_app):
    async def steps(pilot):
        await wait_until_scanned(pilot)
        await pilot.press("left_square_bracket", "c", "t")
        await pilot.pause()

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=steps)


def test_help_screen(snap_compare, demo_app):
    async def steps(pilot):
        await wait_until_scanned(pilot)
        await pilot.press("question_mark")

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=steps)


def test_flagged_only_tree(snap_compare, demo_app):
    """Layer 5, only the paths with findings, every folder open: the A/M/D markers and !severity badges."""
    async def steps(pilot):
        await wait_until_scanned(pilot)
        await pilot.press("exclamation_mark", "t")
        tree = pilot.app.query_one("#files")
        for path in ("/bin/ps", "/etc/ld.so.preload", "/root/.ssh/authorized_keys", "/var/www/html/up.php"):
            tree.reveal(path)
        await pilot.pause()
        await go_to(pilot, 5, "/var/www/html/up.php")

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=steps)


def test_search_results(snap_compare, demo_app):
    """'/' and a glob: every copy in every layer, deleted and replaced ones with the layer that did it."""
    async def steps(pilot):
        await wait_until_scanned(pilot)
        await search(pilot, "*/tmp/.x/*")
        await pilot.pause()

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=steps)


def test_findings_sorted_by_layer(snap_compare, demo_app):
    async def steps(pilot):
        await wait_until_scanned(pilot)
        await pilot.press("f", "s")
        await pilot.pause()

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=steps)


def test_light_theme_changes_only(snap_compare, demo_app):
    """ctrl+t: the light theme; layer 3 (the dropper), changes only, every folder open."""
    async def steps(pilot):
        await wait_until_scanned(pilot)
        await pilot.press("ctrl+t", "c")
        await go_to(pilot, 3, "/tmp/.x/kworker")
        for path in ("/etc/cron.d/sysupdate", "/usr/local/lib/libprocesshider.so"):
            pilot.app.query_one("#files").reveal(path)
        await pilot.pause()

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=steps)
