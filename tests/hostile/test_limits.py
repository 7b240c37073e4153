"""Resource caps (explorer.core.limits): flags, defaults, and what happens when one trips."""

from __future__ import annotations

import argparse
import json

import pytest
from explorer.cli.parser import _parser
from explorer.detectors.base import FileDetector
from explorer.scan.engine import DetectorSet, scan
from explorer.demo.imagewriter import Entry, ImageSpec, Layer, write_image
from explorer.core.limits import DEFAULT, GIB, MIB, RATIO_GRACE, Limits, limits_from_args, parse_size
from explorer.sources import open_image

from hostile_images import TRACEBACK, config_doc, docker_archive, member, run_inprocess, tar_bytes, zero_bomb


@pytest.mark.parametrize("text, value", [("1000", 1000), ("64M", 64 * MIB), ("2G", 2 * GIB), ("512k", 512 << 10),
                                         ("1.5GiB", 3 * GIB // 2), ("3mb", 3 * MIB), ("1T", 1 << 40)])
def test_sizes_take_binary_suffixes(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["", "x", "-1", "0", "1.5x", "G"])
def test_bad_sizes_are_refused(text):
    with pytest.raises(argparse.ArgumentTypeError):
        parse_size(text)


@pytest.mark.parametrize("command", [["open"], ["layers"], ["tree"], ["scan"], ["extract", "/x", "-o", "d"]])
def test_every_command_that_reads_an_image_takes_the_caps(command):
    argv = [command[0], "IMAGE", *command[1:]]
    assert limits_from_args(_parser().parse_args(argv)) == DEFAULT
    args = _parser().parse_args(argv + ["--max-entries", "7", "--max-file-scan", "1M", "--max-ratio", "50",
                                        "--max-total", "3G"])
    assert limits_from_args(args) == Limits(max_entries=7, max_file_scan=MIB, max_ratio=50.0, max_total=3 * GIB)


def test_defaults_never_trip_on_a_layer_of_zeros_below_the_grace():
    """Like bench/'s layer with 128 MiB of zeros: ratio ~1000, but less output than RATIO_GRACE."""
    assert DEFAULT.max_ratio < 1000 and RATIO_GRACE > 128 * MIB


def _image(tmp_path, *, zeros: int = 0, members: int = 1, fmt="docker-archive"):
    middle = Layer([Entry.file(f"/m/{i}", b"") for i in range(members)], created_by="RUN middle")
    if zeros:
        middle = Layer([Entry.file("/zeros", bytes(zeros))], created_by="RUN middle")
    layers = [Layer([Entry.file("/first", b"1")], created_by="RUN first"), middle,
              Layer([Entry.file("/last", b"3")], created_by="RUN last")]
    return write_image(ImageSpec(layers=layers), tmp_path / ("image" if fmt == "oci" else "image.tar"), fmt)


def _json(*argv):
    rc, out, err = run_inprocess(*argv)
    assert TRACEBACK not in err
    return rc, json.loads(out), err


def _bomb_image(tmp_path, kind: str) -> str:
    """Three layers; the middle one a bomb of zeros just past RATIO_GRACE (ratio ~1000 gzip, ~30000 zstd)."""
    blob, diff_id = zero_bomb(RATIO_GRACE + 16 * MIB, kind)
    layers = [tar_bytes([member("first", data=b"1")]), blob, tar_bytes([member("last", data=b"3")])]
    config = config_doc(layers)
    config["rootfs"]["diff_ids"][1] = diff_id
    return docker_archive(tmp_path / "image.tar", layers, config=config)


@pytest.mark.parametrize("kind", ["gzip", "zstd"])
def test_ratio_cap_cuts_the_layer_reports_a_bomb_and_reads_the_others(tmp_path, kind):
    image = _bomb_image(tmp_path, kind)
    rc, doc, err = _json("scan", image, "--format", "json")
    assert rc == 2
    bombs = [f for f in doc["findings"] if f["rule_id"] == "suspicious.decompression-bomb"]
    assert [(f["layer"], f["severity"]) for f in bombs] == [(1, "high")]
    assert "--max-ratio" in bombs[0]["evidence"] and "--max-ratio" in err
    assert [layer["added"] for layer in doc["layers"]] == [1, 0, 1]
    rc, doc, err = _json("layers", image, "--format", "json", "--max-ratio", "50000")
    assert rc == 0, err
    assert doc["layers"][1]["size"] == RATIO_GRACE + 16 * MIB


def test_entries_cap(tmp_path):
    image = _image(tmp_path, members=30)
    rc, doc, err = _json("layers", image, "--format", "json", "--max-entries", "10")
    assert rc == 2
    assert err.splitlines() == ["explorer: warning: layer 1: more than 10 tar members; reading stopped "
                                "(raise --max-entries to read it); 10 entries read"]
    assert [layer["entries"] for layer in doc["layers"]] == [1, 10, 1]
    rc, doc, _err = _json("scan", image, "--format", "json", "--max-entries", "10")
    assert rc == 2
    assert [(f["rule_id"], f["layer"]) for f in doc["findings"] if f["category"] == "integrity"] == [
        ("integrity.layer-too-many-entries", 1)]
    rc, doc, _err = _json("layers", image, "--format", "json", "--max-entries", "30")
    assert rc == 0 and doc["layers"][1]["entries"] == 30


@pytest.mark.parametrize("fmt", ["docker-archive", "oci"])
def test_total_cap_stops_reading_and_says_so_for_each_layer_left(tmp_path, fmt):
    image = _image(tmp_path, zeros=3 * MIB, fmt=fmt)
    rc, doc, err = _json("layers", image, "--format", "json", "--max-total", "2M")
    assert rc == 2
    lines = err.splitlines()
    assert lines[0].startswith("explorer: warning: layer 1: holds more than 2M of uncompressed data; reading stopped")
    assert lines[1] == ("explorer: warning: layer 2: not read, the layers below already hold more than 2M of "
                        "uncompressed data (raise --max-total to read it)")
    assert [layer["added"] for layer in doc["layers"]] == [1, 0, 0]


def test_extract_after_a_cap_tripped_writes_what_was_read_and_exits_2(tmp_path):
    image = _image(tmp_path, members=30)
    rc, _out, err = run_inprocess("extract", image, "/", "-o", str(tmp_path / "out"), "--max-entries", "10")
    assert rc == 2
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["first", "last", "m"]
    assert len(list((tmp_path / "out" / "m").iterdir())) == 10


class Sizes(FileDetector):
    name = "sizes"

    def __init__(self):
        self.seen = {}

    def wants(self, entry):
        return True

    def scan(self, entry, data):
        self.seen[entry.path] = len(data)
        return []


@pytest.mark.parametrize("cap, seen", [(DEFAULT.max_file_scan, 3 * MIB), (MIB, MIB)])
def test_max_file_scan_is_the_prefix_detectors_see(tmp_path, cap, seen):
    image = _image(tmp_path, zeros=3 * MIB)
    detector = Sizes()
    with open_image(image) as source:
        result = scan(source, DetectorSet(file=[detector]), limits=Limits(max_file_scan=cap))
    assert detector.seen["/zeros"] == seen
    assert result.analysis.layers[1].entries[0].size == 3 * MIB  # still hashed to its end
    assert not result.analysis.problems



@pytest.mark.parametrize("command", ["layers", "scan"])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_total_cap_over_the_image_is_the_same_read_in_parallel_or_not(tmp_path, jobs, command):
    layers = [Layer([Entry.file(f"/z{i}", bytes(3 * MIB))], created_by=f"RUN {i}") for i in range(4)]
    image = write_image(ImageSpec(layers=layers), tmp_path / "image.tar")
    rc, doc, err = _json(command, image, "--format", "json", "--max-total", "5M", "--jobs", jobs, "--no-cache",
                         *(["--no-progress"] if command == "scan" else []))
    assert rc == 2
    if command == "scan":
        assert [(f["rule_id"], f["layer"]) for f in doc["findings"] if f["category"] == "integrity"] == [
            ("integrity.image-too-large", 1), ("integrity.image-too-large", 2), ("integrity.image-too-large", 3)]
        return
    assert err.splitlines() == [
        "explorer: warning: layer 1: the image holds more than 5M of uncompressed data up to this layer "
        "(raise --max-total to read the layers above)",
        "explorer: warning: layer 2: not read, the layers below already hold more than 5M of uncompressed data "
        "(raise --max-total to read it)",
        "explorer: warning: layer 3: not read, the layers below already hold more than 5M of uncompressed data "
        "(raise --max-total to read it)"]
    assert [layer["added"] for layer in doc["layers"]] == [1, 1, 0, 0]


def test_yara_reads_a_file_larger_than_max_file_scan_in_parts(tmp_path):
    """--max-file-scan bounds what the detectors hold at once: YARA still sees a larger file's first
    bytes, and the rest in parts, so a miner's strings past the cap are found all the same."""
    import random
    strings = b"\0".join([b"--don" + b"ate-level=N", b"--cpu-" + b"priority", b"rx" + b"/0", b"XMR" + b"ig/6.21.0",
                          b"--rand" + b"omx-1gb-pages"]) + b"\0"
    head = b"\x7fELF\x02\x01\x01" + bytes(9) + b"\x02\x00\x3e\x00"
    noise = random.Random(1).randbytes(3 * MIB)
    early = head + strings + noise[:2 * MIB]
    late = head + noise[:int(1.5 * MIB)] + strings + noise[:2 * MIB]
    image = write_image(ImageSpec(layers=[Layer([Entry.file("/usr/bin/kworker", early, mode=0o755),
                                                 Entry.file("/usr/bin/kswapd", late, mode=0o755)])]),
                        tmp_path / "image.tar")

    def yara_paths(*flags):
        rc, doc, err = _json("scan", image, "--format", "json", "--no-cache", *flags)
        assert rc == 0, err
        return sorted(f["path"] for f in doc["findings"] if f["rule_id"] == "miner.xmrig-strings")

    assert yara_paths() == ["/usr/bin/kswapd", "/usr/bin/kworker"]
    assert yara_paths("--max-file-scan", "1M") == ["/usr/bin/kswapd", "/usr/bin/kworker"]
