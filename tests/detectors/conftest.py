"""Fixtures shared by the detector tests that scan whole images written in-process."""

from __future__ import annotations

import pytest

from explorer.detectors.base import ScanOptions
from explorer.detectors.registry import build_detectors
from explorer.scan.engine import scan
from explorer.sources import open_image


@pytest.fixture(scope="module")
def full_detectors():
    """The full detector registry with the default options (built once per test module)."""
    return build_detectors(ScanOptions())


@pytest.fixture
def scan_layers(make_image, full_detectors):
    """scan_layers(spec | [Layer, ...]) -> ScanResult of the full registry over a freshly written image;
    no detector may fail."""
    def run(spec):
        source = open_image(make_image(spec))
        try:
            result = scan(source, full_detectors, ScanOptions())
        finally:
            source.close()
        assert result.errors == []
        return result
    return run
