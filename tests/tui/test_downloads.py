"""The loading screen's per-layer lines: bytes received from a registry as they arrive, bytes read by
the pass, `read` once a layer is done; gone once the layers are shown."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from explorer.core.units import human
from explorer.demo import write_demo
from explorer.sources.registry import open_registry
from explorer.tui.app import ExplorerApp
from explorer.tui.widgets.downloads import LayerDownloads, download_lines

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sources"))
from registrykit import FaultProxy, push, start_registry  # noqa: E402


def test_lines_say_what_arrived_and_what_was_read(demo_source):
    layers = demo_source.layers
    read = {0: (layers[0].compressed_size, layers[0].compressed_size), 1: (100, layers[1].compressed_size)}
    received = {layers[1].blob: (300, layers[1].compressed_size), layers[2].blob: (7, layers[2].compressed_size)}
    lines = [text for text, _ in download_lines(demo_source, read, received)]
    assert len(lines) == len(layers) == 6
    assert lines[0].startswith(f"layer 1/6  {layers[0].compressed_size} B read  ")
    assert lines[1].startswith(f"layer 2/6  300 B of {layers[1].compressed_size} B received, 100 B read")
    assert lines[2].startswith(f"layer 3/6  7 B of {layers[2].compressed_size} B received, 0 B read")
    assert lines[5].startswith(f"layer 6/6  {human(layers[5].compressed_size)} waiting")
    assert all(layer.created_by[:20] in line for layer, line in zip(layers, lines) if layer.created_by)


@pytest.fixture
def slow_registry(tmp_path):
    for tool in ("docker-registry", "skopeo"):
        if shutil.which(tool) is None:
            if os.environ.get("CI"):
                pytest.fail(f"{tool} is not installed (.ci/setup installs it)", pytrace=False)
            pytest.skip(f"{tool} is not installed")
    registry = start_registry(tmp_path / "registry")
    proxy = FaultProxy(registry.port)
    try:
        push(f"docker-archive:{write_demo(str(tmp_path))}", f"{registry.host}/demo/app:1")
        proxy.faults.rate = 8000  # bytes a second: the demo's 44 KB take seconds
        yield proxy
    finally:
        proxy.stop()
        registry.stop()


async def test_loading_screen_shows_bytes_received_per_layer(slow_registry, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    source = open_registry(f"{slow_registry.host}/demo/app:1")
    seen = []
    try:
        app = ExplorerApp(source)
        async with app.run_test(size=(160, 48)) as pilot:
            downloads = app.query_one(LayerDownloads)
            for _ in range(3000):  # until the scan is done; what the list said on the way
                if app.scan_index is not None:
                    break
                seen.append(downloads.plain)
                await pilot.pause(0.01)
            assert app.scan_index is not None
            await pilot.pause(0.1)
            assert not app.query(LayerDownloads)  # removed with the loading screen
    finally:
        source.close()
    received = [line for text in seen for line in text.splitlines() if " received, " in line]
    assert received, seen[-1]
    assert any(text.count(" read  ") >= 1 and " received, " in text for text in seen)  # some done, some coming
