"""SVG snapshots of the preview and the config view on the demo image (update with --snapshot-update)."""

from __future__ import annotations

import pytest

from explorer.tui.app import ExplorerApp
from tests.support.pilot import wait_until_scanned
from explorer.tui.screens.viewer import FileViewer

SIZE = (150, 44)


@pytest.fixture
def demo_app(demo_source):
    return ExplorerApp(demo_source)


async def settle(pilot, test, attempts: int = 200) -> None:
    for _ in range(attempts):
        await pilot.pause(0.02)
        if test():
            break
    await pilot.pause(0.1)


def preview(layer: int, path: str, *keys: str):
    """Steps: open the preview on one copy (as `v` does), wait for its content, press `keys`."""
    async def steps(pilot):
        await wait_until_scanned(pilot)
        app = pilot.app
        entry = next(e for e in app.scan_index.analysis.layers[layer].entries
                     if e.path == path and not e.is_whiteout)
        viewer = FileViewer(app.scan_index.analysis, entry, app.scan_index.result.findings)
        app.push_screen(viewer)
        await settle(pilot, lambda: viewer.loaded and viewer.versions)
        for key in keys:
            await pilot.press(key)
            await settle(pilot, lambda: viewer.loaded)
    return steps


def config(*keys: str, finding: str | None = None):
    async def steps(pilot):
        await wait_until_scanned(pilot)
        app = pilot.app
        if finding:
            app.open_config(next(f for f in app.scan_index.result.findings if f.rule_id == finding))
        else:
            await pilot.press("i")
        await settle(pilot, lambda: getattr(app.screen, "ready", False))
        for key in keys:
            await pilot.press(key)
        await pilot.pause(0.1)
    return steps


def test_preview_text_with_masked_secrets(snap_compare, demo_app):
    assert snap_compare(demo_app, terminal_size=SIZE, run_before=preview(2, "/srv/app/.env"))


def test_preview_hex_of_a_deleted_miner(snap_compare, demo_app):
    assert snap_compare(demo_app, terminal_size=SIZE, run_before=preview(3, "/tmp/.x/kworker"))


def test_preview_diff_of_two_versions(snap_compare, demo_app):
    assert snap_compare(demo_app, terminal_size=SIZE, run_before=preview(5, "/usr/bin/curl", "d"))


def test_config_view(snap_compare, demo_app):
    assert snap_compare(demo_app, terminal_size=SIZE, run_before=config())


def test_history_as_dockerfile_at_a_history_finding(snap_compare, demo_app):
    assert snap_compare(demo_app, terminal_size=SIZE,
                        run_before=config(finding="suspicious.history.download-exec"))


def test_concepts(snap_compare, demo_app):
    assert snap_compare(demo_app, terminal_size=SIZE, run_before=config("6"))
