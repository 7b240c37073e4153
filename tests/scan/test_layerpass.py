"""The in-process pass (`layerpass.Collector`): a file over PENDING_BYTES is scanned by a second set of
the detectors on a thread of its own, so the files after it are read and scanned meanwhile; the
outcome is the one the single detection thread gives."""

from __future__ import annotations

import json
import threading

import pytest

import explorer.scan.layerpass as layerpass
from explorer.detectors.base import FileDetector
from explorer.detectors.registry import build_detectors
from explorer.scan.engine import DetectorSet, scan
from explorer.scan.layerjobs import read_layers
from explorer.core.findings import Match
from explorer.demo.imagewriter import Entry, ImageSpec, Layer
from explorer.reports.findings_json import scan_document
from explorer.sources import open_image

GITHUB = b"token = ghp_" + b"Zq8Rt1yZp0Lm4Nc7Xw2Ds9Fh6Jg5Ae3Ui0Oo" + b"\n"
SMALL_BUDGET = 64 * 1024


@pytest.fixture
def small_budget(monkeypatch):
    monkeypatch.setattr(layerpass.Collector, "PENDING_BYTES", SMALL_BUDGET)


class Gate(FileDetector):
    """Holds the scan of /big until /after has been scanned (or 10 s passed), and says which."""

    name = "gate"
    version = "1"
    after_scanned = threading.Event()
    seen: list[tuple[str, bool]] = []

    def wants(self, entry) -> bool:
        return entry.size > 0

    def scan(self, entry, data: bytes):
        if entry.path == "/after":
            Gate.after_scanned.set()
        if entry.path == "/big":
            Gate.seen.append((entry.path, Gate.after_scanned.wait(10)))
            yield Match(rule_id="test.big", category="suspicious", severity="low", title="big", evidence="")


def _set_of(cls) -> DetectorSet:
    """A set of one `cls` detector whose factory makes another (the spare set)."""
    detectors = DetectorSet()
    detectors.file.append(cls())
    detectors.factory = lambda: _set_of(cls)
    return detectors


def _outcome_of_big_then_after(make_image, cls):
    """The one layer's outcome of /big (over the budget) then /after, read in this process with `cls`."""
    image = make_image([Layer([Entry.file("/big", b"b" * (4 * SMALL_BUDGET)), Entry.file("/after", b"after\n")],
                              created_by="COPY . /")])
    detectors = _set_of(cls)
    with open_image(image) as source:
        return read_layers(source, detectors.file, factory=detectors.factory, jobs=1)[0]


def test_a_big_files_scan_does_not_hold_up_the_files_after_it(make_image, small_budget):
    Gate.after_scanned.clear()
    Gate.seen.clear()
    outcome = _outcome_of_big_then_after(make_image, Gate)
    assert Gate.seen == [("/big", True)], "the big file's scan waited for /after, and /after was scanned meanwhile"
    assert [(e.path, m.rule_id) for e, m in outcome.matches] == [("/big", "test.big")]


def _report(image: str, detectors: DetectorSet) -> str:
    with open_image(image) as source:
        result = scan(source, detectors, jobs=1)
    return json.dumps(scan_document(result), indent=1)


def test_the_outcome_is_the_one_thread_outcome_with_cut_big_files_between(make_image, small_budget, monkeypatch):
    """Big files with secrets between small ones, one cut short by a truncated layer (its place on the
    big files' thread is given back, so the next big file does not wait forever): the same report as
    with no second set (every file on the one detection thread)."""
    big = [Entry.file(f"/data/big{i}.bin", bytes([65 + i]) * (3 * SMALL_BUDGET) + GITHUB) for i in range(3)]
    small = [Entry.file(f"/data/small{i}.txt", GITHUB) for i in range(3)]
    whole = Layer([Entry.dir("/data"), big[0], small[0], big[1], small[1], big[2], small[2]], created_by="COPY data /data")
    cut = Layer([Entry.file("/cut/big.bin", b"x" * (6 * SMALL_BUDGET))], created_by="COPY cut /cut", compression="none")
    cut.truncate = 3 * SMALL_BUDGET
    after = Layer([Entry.file("/after/big.bin", b"y" * (3 * SMALL_BUDGET) + GITHUB)], created_by="COPY after /after")
    image = make_image(ImageSpec(layers=[whole, cut, after]))
    spare_built = []
    real_file = layerpass.SpareDetectors.file

    def counted(self):
        spare_built.append(1)
        return real_file(self)

    monkeypatch.setattr(layerpass.SpareDetectors, "file", counted)
    with_spare = _report(image, build_detectors())
    assert spare_built, "the big files went to the second set"
    alone = build_detectors()
    alone.factory = None  # no second set: every file on the one detection thread
    assert _report(image, alone) == with_spare
    found = json.loads(with_spare)["findings"]
    assert sum(f["rule_id"] == "secret.github-pat" for f in found) == 7


class Failing(FileDetector):
    """Raises on every file; on /big only once /after has failed (so the big file's error comes last in time)."""

    name = "failing"
    version = "1"
    after_failed = threading.Event()

    def wants(self, entry) -> bool:
        return entry.size > 0

    def scan(self, entry, data: bytes):
        if entry.path == "/big":
            Failing.after_failed.wait(10)
        if entry.path == "/after":
            Failing.after_failed.set()
        raise ValueError(entry.path)


def test_detector_failures_are_listed_in_file_order_whichever_thread_ends_first(make_image, small_budget):
    Failing.after_failed.clear()
    errors = _outcome_of_big_then_after(make_image, Failing).errors
    assert len(errors) == 2 and "/big" in errors[0] and "/after" in errors[1], errors


class FirstOfTwo(FileDetector):
    """Fails on /big once the second detector has failed on it (on the other thread)."""

    name = "first"
    version = "1"
    second_failed = threading.Event()
    threads: list[str] = []

    def wants(self, entry) -> bool:
        return entry.path == "/big"

    def scan(self, entry, data: bytes):
        FirstOfTwo.threads.append(threading.current_thread().name)
        FirstOfTwo.second_failed.wait(10)
        raise ValueError("first")


class SecondOfTwo(FirstOfTwo):
    name = "second"

    def scan(self, entry, data: bytes):
        SecondOfTwo.threads.append(threading.current_thread().name)
        FirstOfTwo.second_failed.set()
        raise ValueError("second")


def test_a_big_files_first_detector_runs_beside_the_others_and_errors_keep_detector_order(make_image, small_budget):
    FirstOfTwo.second_failed.clear()
    FirstOfTwo.threads, SecondOfTwo.threads = [], []

    def two() -> DetectorSet:
        detectors = DetectorSet()
        detectors.file.extend([FirstOfTwo(), SecondOfTwo()])
        detectors.factory = two
        return detectors

    image = make_image([Layer([Entry.file("/big", b"b" * (4 * SMALL_BUDGET))], created_by="COPY . /")])
    detectors = two()
    with open_image(image) as source:
        outcome = read_layers(source, detectors.file, factory=detectors.factory, jobs=1)[0]
    assert FirstOfTwo.threads[0].startswith("detect-big") and SecondOfTwo.threads[0].startswith("detect_"), \
        (FirstOfTwo.threads, SecondOfTwo.threads)
    assert len(outcome.errors) == 2 and "first" in outcome.errors[0] and "second" in outcome.errors[1], outcome.errors
