"""Precision: whole clean images through `explorer.scan.engine.scan` with the full detector registry.

A plain Debian image and a CPython image (this machine's Python installation at /usr/local on top of the
same Debian layers, like the official python images) must raise nothing high or critical. See
precision_images.py for how the images are made (debootstrap rootfs, streamed, cached in tests/.cache).
Without a Debian rootfs the tests are skipped, except under CI, where they fail.
"""

from __future__ import annotations

import os
import sys
from collections import Counter

import pytest

from explorer.detectors.base import ScanOptions
from explorer.detectors.registry import build_detectors
from explorer.scan.engine import scan
from explorer.core.findings import at_least
from explorer.sources import open_image

import precision_images  # tests/precision is on sys.path (rootdir-relative test folder without __init__)

SHOWN = 60


@pytest.fixture(scope="module")
def layout():
    try:
        return precision_images.build_layout(with_python=True)
    except precision_images.rootfs_unavailable_error() as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Debian minbase rootfs cannot be made under CI: {exc}", pytrace=False)
        pytest.skip(f"Debian minbase rootfs cannot be made here: {exc}")


@pytest.fixture(scope="module")
def scan_image():
    detectors = build_detectors(ScanOptions())
    done = {}

    def run(ref: str):
        if ref not in done:
            source = open_image(ref)
            try:
                done[ref] = scan(source, detectors, ScanOptions())
            finally:
                source.close()
        return done[ref]

    return run


def report(findings) -> str:
    counts = Counter((f.severity, f.rule_id) for f in findings)
    lines = [f"  {n:4} x {sev:8} {rule}" for (sev, rule), n in sorted(counts.items())]
    lines.append("  --- first findings:")
    lines += [f"  {f.severity:8} {f.rule_id:40} L{f.layer} {f.path} {f.evidence[:70]!r} {f.reason}"
              for f in findings[:SHOWN]]
    return "\n".join(lines)


def assert_quiet(result, what: str) -> None:
    assert not result.errors, "\n".join(result.errors[:20])
    loud = [f for f in result.findings if at_least(f.severity, "high")]
    rest = [f for f in result.findings if not at_least(f.severity, "high")]
    assert not loud, (f"{what}: {len(loud)} high/critical findings on a clean image:\n{report(loud)}\n"
                      f"medium and below ({len(rest)}):\n{report(rest)}")


def test_debian_image_is_quiet(layout, scan_image):
    result = scan_image(layout["debian"])
    layers = result.analysis.layers
    assert len(layers) == 2
    assert len(layers[0].entries) > 4000, "the Debian rootfs layer looks incomplete"
    removed = layout["state"]["apt"]["removed_docs"]
    deleted = {e.path for e in layers[1].changes.deleted}
    assert {f"/usr/share/doc/{name}" for name in removed} <= deleted
    assert "/var/lib/dpkg/status" in {new.path for _, new in layers[1].changes.modified}
    assert_quiet(result, "debian")


def test_python_image_is_quiet(layout, scan_image):
    result = scan_image(layout["python"])
    layers = result.analysis.layers
    assert len(layers) == 4
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    core = {e.path for e in layers[2].changes.added}
    assert f"/usr/local/lib/{version}/os.py" in core
    assert f"/usr/local/lib/{version}/test/test_ssl.py" in core, "the stdlib's test/ folder is part of the image"
    assert f"/usr/local/bin/{version}" in core
    site = {e.path for e in layers[3].changes.added}
    assert any(p.startswith(f"/usr/local/lib/{version}/site-packages/pip/") for p in site)
    assert_quiet(result, "python")
