"""Fixtures for the UI tests: the demo image (and hostile ones) opened in the app, scan finished."""

from __future__ import annotations

import pytest

from explorer.demo import write_demo
from explorer.sources import open_image


@pytest.fixture(autouse=True)
def no_cursor_blink(monkeypatch):
    """Stable screenshots: the cursor never blinks."""
    from textual.widgets import Input
    monkeypatch.setattr(Input, "cursor_blink", False, raising=False)


@pytest.fixture(autouse=True)
def own_config_home(tmp_path, monkeypatch):
    """The UI's settings (the remembered theme) go to this test's folder, never the user's."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.fixture
def demo_source(tmp_path):
    source = open_image(write_demo(str(tmp_path), integrity=True))
    source.reference = "explorer demo image"
    yield source
    source.close()


@pytest.fixture
def wait_for_scan():
    """await wait_for_scan(pilot, app): until the scan worker has delivered its result."""
    from tests.support.pilot import wait_until_scanned

    return lambda pilot, _app: wait_until_scanned(pilot)


@pytest.fixture
async def demo_ui(demo_source):
    """(app, pilot): the app on the demo image at 200x55 (the size of the issue's tmux checks), scan done."""
    from explorer.tui.app import ExplorerApp
    from tests.support.pilot import wait_until_scanned

    app = ExplorerApp(demo_source)
    async with app.run_test(size=(200, 55)) as pilot:
        await wait_until_scanned(pilot)
        yield app, pilot
