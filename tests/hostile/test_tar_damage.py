"""Damage inside a layer's tar that tarfile would pass over silently, and whiteouts that name no real file."""

from __future__ import annotations

import json
import tarfile

import pytest

from hostile_images import docker_archive, member, run_inprocess, tar_bytes

OK = tar_bytes([member("etc/ok", data=b"ok")])
HIDDEN = tar_bytes([member("hidden/xmrig", data=b"stratum+tcp://pool.minexmr.com:4444")], end=False)
FIRST = tar_bytes([member("a", data=b"A")], end=False)


def _bad_checksum() -> bytes:
    bad = bytearray(tar_bytes([member("b", data=b"B")], end=False))
    bad[148:150] = b"99"
    return bytes(bad)


@pytest.mark.parametrize("middle, message", [
    (_bad_checksum(), "layer 1: cannot be read to its end (tar header at byte 1024: checksum is not a number); "
                      "1 entries read"),
    (b"\xff" * 512, "layer 1: cannot be read to its end (tar header at byte 1024: bad checksum (a damaged or not "
                    "a tar stream)); 1 entries read"),
    (bytes(512), "layer 1: cannot be read to its end (a zero block at byte 1024 is followed by more data (a false "
                 "end of archive)); 1 entries read"),
], ids=["bad-checksum", "garbage", "false-end"])
def test_members_hidden_after_damage_are_reported(tmp_path, middle, message):
    image = docker_archive(tmp_path / "image.tar", [OK, FIRST + middle + HIDDEN + bytes(1024), OK])
    rc, out, err = run_inprocess("scan", image, "--format", "json")
    assert rc == 2
    assert err.splitlines() == [f"explorer: warning: {message}"]
    doc = json.loads(out)
    assert [(f["rule_id"], f["layer"]) for f in doc["findings"] if f["category"] == "integrity"] == [
        ("integrity.corrupt-layer", 1)]
    assert [layer["added"] for layer in doc["layers"]] == [1, 1, 0]


@pytest.mark.parametrize("tail", [b"", bytes(1024), bytes(10240 - 1024)], ids=["no-end-blocks", "end", "padded"])
def test_a_sound_end_of_archive_is_not_damage(tmp_path, tail):
    image = docker_archive(tmp_path / "image.tar", [OK, FIRST + tail])
    rc, _out, err = run_inprocess("layers", image)
    assert rc == 0 and err == ""


@pytest.mark.parametrize("name", [".wh.", "./.wh..", "etc/.wh...", ".wh..."])
def test_whiteout_of_dot_or_dotdot_is_refused(tmp_path, name):
    image = docker_archive(tmp_path / "image.tar", [OK, tar_bytes([member(name), member("x", data=b"x")])])
    rc, out, err = run_inprocess("tree", image, "--format", "json")
    assert rc == 0
    assert [e["path"] for e in json.loads(out)] == ["/etc", "/etc/ok", "/x"]
    assert "never a real name" in err


@pytest.mark.parametrize("cut", [0.5, 0.99], ids=["half", "last-bytes"])
def test_a_cut_zstd_layer_is_truncated_not_empty(tmp_path, cut):
    """zstandard's stream reader stops silently where a cut frame stops (a small layer: no output at all)."""
    import os

    import zstandard

    layer = tar_bytes([member(f"f{i}", data=os.urandom(2000)) for i in range(20)])
    blob = zstandard.ZstdCompressor().compress(layer)
    image = docker_archive(tmp_path / "image.tar", [OK, blob[: int(len(blob) * cut)], OK])
    rc, _out, err = run_inprocess("layers", image)
    assert rc == 2
    assert "layer 1: cannot be read to its end (compressed layer ends before the end of its zstd stream)" in err


@pytest.mark.parametrize("where", [0.5, 0.999], ids=["middle", "crc"])
def test_a_corrupt_gzip_layer_is_reported_not_a_crash(tmp_path, where):
    """isa-l raises its own error class (not zlib.error) on bad deflate data or a wrong CRC."""
    import gzip
    import os

    blob = bytearray(gzip.compress(tar_bytes([member(f"f{i}", data=os.urandom(2000)) for i in range(20)])))
    blob[int(len(blob) * where)] ^= 0x55
    image = docker_archive(tmp_path / "image.tar", [OK, bytes(blob), OK])
    rc, _out, err = run_inprocess("layers", image)
    assert rc == 2
    assert "layer 1: cannot be read to its end (" in err and "Traceback" not in err


@pytest.mark.parametrize("field", ["path", "linkpath"])
def test_names_of_megabytes_are_left_out(tmp_path, field):
    info, _ = member("x", tarfile.SYMTYPE, linkname="y")
    info.pax_headers = {field: "n" * 2_000_000}
    image = docker_archive(tmp_path / "image.tar", [OK, tar_bytes([(info, b""), member("z", data=b"z")])])
    rc, out, err = run_inprocess("tree", image, "--format", "json")
    assert rc == 2  # Docker refuses an extended header over 1 MiB: damaged, and what it holds still shown
    assert [e["path"] for e in json.loads(out)] == ["/etc", "/etc/ok", "/z"]
    assert "over 65536 characters; left out" in err and len(err) < 1000
    assert "layer 1: corrupt: tar header at byte 0: extended header of 2000" in err
