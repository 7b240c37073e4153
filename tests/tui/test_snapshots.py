"""SVG snapshots of the UI on the demo image (pytest-textual-snapshot; update with --snapshot-update)."""

from __future__ import annotations

import pytest

from explorer.tui.app import ExplorerApp
from explorer.tui.pilot import wait_until_scanned

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
