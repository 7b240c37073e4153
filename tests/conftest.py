"""Shared fixtures: the dive reference images, and small images written in-process."""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path

import pytest

from explorer.demo.imagewriter import ImageSpec, Layer, write_image
from explorer.layerfs import analyze
from explorer.sources import open_image

HERE = Path(__file__).resolve().parent
DIVE = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "dive"
"""dive's test images, kept outside the repo (`../shared/fixtures/dive`)."""


def _needs_debian_rootfs(item) -> bool:
    return "debian_root" in getattr(item, "fixturenames", ()) or "precision" in Path(str(item.path)).parts


def pytest_collection_finish(session):
    """Start building the debootstrap tree (tests/detectors/debian_rootfs.py) on a thread as soon as the run
    holds a test that needs it. In a fresh clone the build is a ~40 s download; started by the first such
    test, it kept that xdist worker waiting and the other one too, on the build's lock, when its own Debian
    test came. The tests still call debian_minbase() themselves: it waits for this build (the same lock) and
    says why when the tree cannot be made; it returns at once when the tree is there."""
    if not any(_needs_debian_rootfs(item) for item in session.items):
        return
    # loaded by path, as tests/precision/precision_images.py does (no tests package on sys.path under `pytest`)
    spec = importlib.util.spec_from_file_location("conftest_debian_rootfs", HERE / "detectors" / "debian_rootfs.py")
    helper = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helper)

    def build():
        try:
            helper.debian_minbase()
        except helper.RootfsUnavailable:
            pass  # the test that needs the tree reports why (no debootstrap, not root, the build failed)

    threading.Thread(target=build, name="debian-rootfs", daemon=True).start()


@pytest.fixture(scope="session", autouse=True)
def _private_layer_cache(tmp_path_factory):
    """Command-line runs in the tests use a layer cache of their own, never the user's."""
    old = os.environ.get("EXPLORER_CACHE_DIR")
    os.environ["EXPLORER_CACHE_DIR"] = str(tmp_path_factory.mktemp("layer-cache"))
    yield
    if old is None:
        os.environ.pop("EXPLORER_CACHE_DIR", None)
    else:
        os.environ["EXPLORER_CACHE_DIR"] = old


@pytest.fixture(scope="session", autouse=True)
def _no_progress_lines():
    """stderr is a pipe in the tests, where progress comes as plain lines by default: off (as
    $EXPLORER_PROGRESS=none), so that tests of what stderr says see only that. Tests of progress
    pass --progress or remove the variable."""
    old = os.environ.get("EXPLORER_PROGRESS")
    os.environ["EXPLORER_PROGRESS"] = "none"
    yield
    if old is None:
        os.environ.pop("EXPLORER_PROGRESS", None)
    else:
        os.environ["EXPLORER_PROGRESS"] = old


@pytest.fixture
def dive_image():
    """Path of one of dive's test images; without the fixtures the test is skipped, or fails under CI."""

    def get(name: str) -> str:
        path = DIVE / name
        if not path.is_file():
            if os.environ.get("CI"):
                pytest.fail(f"dive fixture {path} is not present (../shared/fixtures/dive beside the checkout)")
            pytest.skip(f"dive fixture {path} is not present")
        return str(path)

    return get


@pytest.fixture
def make_image(tmp_path):
    """make_image(spec | [Layer, ...] | [ImageSpec, ...], format="docker-archive", **write_kw) -> path.

    A list of Layers is wrapped in an ImageSpec; a list of ImageSpecs writes a multi-image archive
    or a multi-platform index.
    """
    counter = iter(range(1_000_000))

    def make(spec, format: str = "docker-archive", **kw) -> str:
        if isinstance(spec, list) and spec and isinstance(spec[0], Layer):
            spec = ImageSpec(layers=spec)
        suffix = "" if format == "oci" else ".tar"
        path = tmp_path / f"image{next(counter)}-{format}{suffix}"
        return write_image(spec, path, format, **kw)

    return make


@pytest.fixture
def open_analysis():
    """open_analysis(IMAGE, platform=None) -> ImageAnalysis; the source stays open until teardown."""
    sources = []

    def run(image: str, platform: str | None = None):
        source = open_image(image, platform)
        sources.append(source)
        return analyze(source)

    yield run
    for source in sources:
        source.close()


@pytest.fixture
def analysis_of(make_image, open_analysis):
    """analysis_of(spec | [Layer, ...], format=...) -> ImageAnalysis of a freshly written image."""

    def run(spec, format: str = "docker-archive", **kw):
        return open_analysis(make_image(spec, format, **kw))

    return run
