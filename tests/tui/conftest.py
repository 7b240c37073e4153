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
