"""`containerd-root:`: reference normalisation, and a damaged or foreign metadata database gives one clear line.

Real containerd roots (a private containerd fed by `ctr images import`) are read in
tests/integration/test_docker_root.py."""

from __future__ import annotations

import struct

import pytest

from explorer.core.errors import SourceError
from explorer.sources import open_image
from explorer.sources.containerd_root import META, normalised


@pytest.mark.parametrize("ref, stored", [
    ("busybox", "docker.io/library/busybox:latest"),
    ("explorer-it/build:1", "docker.io/explorer-it/build:1"),
    ("registry.local:5000/app", "registry.local:5000/app:latest"),
    ("localhost/app:2", "localhost/app:2"),
    ("app@sha256:" + "a" * 64, "docker.io/library/app@sha256:" + "a" * 64),
])
def test_normalised(ref, stored):
    assert normalised(ref) == stored


def bolt_meta(page_size: int, root: int) -> bytes:
    """A page holding a bbolt meta record (header, magic, version 2, page size, flags, root bucket…)."""
    head = struct.pack("<QHHI", 0, 0x04, 0, 0)
    meta = struct.pack("<IIIIQQQQQQ", 0xED0CDAED, 2, page_size, 0, root, 0, 2, 4, 1, 0)
    return (head + meta).ljust(page_size, b"\0")


@pytest.mark.parametrize("content, message", [
    (b"", "not a bbolt database"),
    (b"SQLite format 3\0" + b"\0" * 5000, "not a bbolt database"),
    (bolt_meta(4096, 7) + bolt_meta(4096, 7), "page 7 lies outside the file"),
    (bolt_meta(4096, 1) + bolt_meta(4096, 1), "page 1 is a meta page"),
])
def test_a_bad_metadata_database_is_one_clear_error(tmp_path, content, message):
    (tmp_path / META).parent.mkdir(parents=True)
    (tmp_path / META).write_bytes(content)
    with pytest.raises(SourceError, match=message):
        open_image(f"containerd-root:{tmp_path}:app")


def test_not_a_containerd_root(tmp_path):
    with pytest.raises(SourceError, match="not a containerd root"):
        open_image(f"containerd-root:{tmp_path}")
