"""A container in the UI: its runtime layer in the history like any layer, and the config view showing how it
runs (mounts, host namespaces) with its findings, plus the Container tab (its inspect JSON, masked)."""

from __future__ import annotations

import os

import pytest

from explorer.sources import open_image
from explorer.tui.app import ExplorerApp
from tests.sources.test_data_root import add_container, make_root
from tests.tui.test_preview_config import SIZE, config_view, shown

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="overlay whiteouts need root to make")


async def test_config_view_of_a_container(tmp_path, wait_for_scan):
    root, _folder, _diff_id = make_root(tmp_path)
    add_container(root, upper_files={"tmp/x": b"x"}, whiteouts=("etc/motd",))
    source = open_image(f"docker-root:{root}:container:web")
    try:
        app = ExplorerApp(source)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for_scan(pilot, app)
            view = await config_view(pilot)
            assert str(view.query_one("#help-line").render()).startswith("1–7: tabs")
            config = shown(view, "#view-config")
            assert "# container web · exited" in config
            assert "[1 high] --mount bind /var/run/docker.sock -> /var/run/docker.sock" in config
            assert "[1 high] --pid=host" in config
            await pilot.press("2")
            history = shown(view, "#view-history").splitlines()
            assert "runtime changes (container web)" in history[-1] and history[-1].split()[:2] == ["layer", "1"]
            await pilot.press("7")
            assert view.active == "container"
            inspected = shown(view, "#view-container")
            assert '"HostConfig": {' in inspected and '"PidMode": "host"' in inspected
            assert "API_TOKEN" in inspected and "Z" * 12 not in inspected
    finally:
        source.close()
