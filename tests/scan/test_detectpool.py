"""Detection worker processes (explorer.scan.detectpool): the same report as one process, whatever
worker scanned what, and a worker that dies does not end the scan."""

from __future__ import annotations

import functools
import json
import os
import sys

import pytest

import explorer.scan.detectpool as detectpool
from explorer.scan import workerlog
from explorer.detectors.base import FileDetector
from explorer.detectors.registry import build_detectors
from explorer.scan.engine import DetectorSet, scan
from explorer.core.findings import Match
from explorer.demo.imagewriter import Entry, ImageSpec, Layer
from explorer.reports.findings_json import scan_document
from explorer.sources import open_image

GITHUB = b"token = ghp_" + b"Zq8Rt1yZp0Lm4Nc7Xw2Ds9Fh6Jg5Ae3Ui0Oo" + b"\n"


def _many_files_image(make_image) -> str:
    """Three layers, ~900 files (several batches per layer), secrets, ELF files and a big file
    that travels in a batch of its own."""
    layers = []
    for n in range(3):
        entries = [Entry.dir(f"/srv{n}")]
        for i in range(300):
            body = (b"line %d of file %d\n" % (i, n)) * (i % 40 + 1)
            if i % 97 == 5:
                body += GITHUB
            if i % 151 == 7:
                body += b"BOOM\n"
            entries.append(Entry.file(f"/srv{n}/f{i:03d}.txt", body))
        entries.append(Entry.file(f"/srv{n}/big.bin", b"\x7fELF" + bytes(3 * 1024 * 1024) + GITHUB, mode=0o755))
        layers.append(Layer(entries, created_by=f"COPY srv{n} /srv{n}"))
    return make_image(ImageSpec(layers=layers))


class Boom(FileDetector):
    """Fails on files holding BOOM; when `crash_outside` is a process id, a process other than that
    one (a worker) dies on them instead — as a native library might on hostile bytes."""

    name = "boom"

    def __init__(self, crash_outside: int | None = None) -> None:
        self.crash_outside = crash_outside

    def wants(self, entry):
        return entry.size > 0

    def scan(self, entry, data):
        if b"BOOM" not in data:
            return [Match("test.boom-seen", "suspicious", "low", "a file the boom detector read")] \
                if entry.path.endswith("0.txt") else []
        if self.crash_outside is not None and os.getpid() != self.crash_outside:
            os._exit(3)
        raise ValueError(f"boom in {entry.path}")


def detector_set(crash_outside: int | None = None) -> DetectorSet:
    real = build_detectors()
    return DetectorSet(file=[Boom(crash_outside), *real.file], layer=real.layer, image=real.image,
                       catalog=real.catalog, rules_sha256=real.rules_sha256,
                       factory=functools.partial(detector_set, crash_outside))


def report(image: str, detectors: DetectorSet, **kw):
    with open_image(image) as source:
        result = scan(source, detectors, **kw)
    return json.dumps(scan_document(result), indent=1), result


def test_workers_give_the_report_of_one_process_with_errors_in_file_order(make_image, monkeypatch):
    monkeypatch.setattr(detectpool, "BATCH_FILES", 16)  # many batches, spread over the workers
    image = _many_files_image(make_image)
    one, one_result = report(image, detector_set(), jobs=1)
    three, three_result = report(image, detector_set(), jobs=3)
    assert three == one
    assert three_result.errors == one_result.errors
    booms = [e for e in one_result.errors if "boom in" in e]
    assert len(booms) == 6 and booms == sorted(booms, key=lambda e: (e.split()[4], e.split()[-1]))
    rules = {f.rule_id for f in one_result.findings}
    assert {"test.boom-seen", "secret.github-pat"} <= rules


def test_a_worker_that_dies_leaves_its_files_to_this_process(make_image, monkeypatch):
    monkeypatch.setattr(detectpool, "BATCH_FILES", 16)
    image = _many_files_image(make_image)
    one, one_result = report(image, detector_set(), jobs=1)
    lost = []
    real_lost = detectpool.DetectionPool._lost
    monkeypatch.setattr(detectpool.DetectionPool, "_lost", lambda pool, worker: (lost.append(worker),
                                                                                 real_lost(pool, worker)))
    crashing = detector_set(crash_outside=os.getpid())
    two, two_result = report(image, crashing, jobs=2)
    assert sorted(set(lost)) == [0, 1], "both workers died on a BOOM file"
    assert _failures_alike(two) == _failures_alike(one), "every file a dead worker held was scanned here"
    died = [f for f in two_result.findings if "worker process died" in f.evidence]
    assert len(died) == 2 and all(f.rule_id == "suspicious.detector-failure" and f.evidence.startswith("boom: ")
                                  and f.severity == "high" for f in died), \
        "the file each worker died on is not scanned again: it gets the finding a raising detector gives"
    assert [e.split(": ")[0] for e in two_result.errors] == [e.split(": ")[0] for e in one_result.errors]
    assert sum("worker process died (exit status 3)" in e for e in two_result.errors) == 2


def _failures_alike(report_text: str) -> dict:
    """The report with the detector-failure findings' evidence cut to the detector's name (`boom:
    ValueError` where it raised, `boom: its worker process died …` where it took a worker down)."""
    doc = json.loads(report_text)
    for f in doc["findings"]:
        if f["rule_id"] == "suspicious.detector-failure":
            f["evidence"] = f["evidence"].split(":")[0]
    return doc


@pytest.mark.parametrize("jobs", [None, 1, 2, 4])
def test_workers_for_a_scan_are_not_bounded_by_the_layer_count(make_image, jobs):
    from explorer.scan.layerjobs import auto_jobs

    with open_image(make_image([Layer([Entry.file("/a", b"a")])])) as source:
        refs = list(source.layers)
    assert auto_jobs(refs, jobs, per_layer=True) == 1
    assert auto_jobs(refs, jobs, per_layer=False) == (jobs or 1)  # None: too little to read


def test_big_files_travel_alone_a_few_at_a_time_and_a_cut_one_frees_its_place(make_image, monkeypatch):
    """Files over IN_FLIGHT are held here BIG_FILES at a time; one whose content ends early (a cut
    layer) gives its place back, so the next big file does not wait forever."""
    monkeypatch.setattr(detectpool, "IN_FLIGHT", 64 * 1024)
    big = [Entry.file(f"/data/big{i}.bin", bytes([65 + i]) * (200 * 1024) + GITHUB) for i in range(4)]
    whole = Layer([Entry.dir("/data"), *big, Entry.file("/data/small.txt", GITHUB)], created_by="COPY data /data")
    cut = Layer([Entry.file("/cut/big.bin", b"x" * (300 * 1024))], created_by="COPY cut /cut", compression="none")
    cut.truncate = 150 * 1024
    after = Layer([Entry.file("/after/big.bin", b"y" * (200 * 1024) + GITHUB)], created_by="COPY after /after")
    image = make_image(ImageSpec(layers=[whole, cut, after]))
    held = []
    real_reserve = detectpool.DetectionPool.reserve_big

    def reserve(pool):
        real_reserve(pool)
        held.append(pool._big)

    monkeypatch.setattr(detectpool.DetectionPool, "reserve_big", reserve)
    one, one_result = report(image, detector_set(), jobs=1)
    two, two_result = report(image, detector_set(), jobs=2)
    assert two == one and len(held) == 6 and max(held) <= detectpool.BIG_FILES
    assert sum(f.rule_id == "secret.github-pat" for f in two_result.findings) == 6
    assert [f.layer for f in two_result.findings if f.category == "integrity"] == [1]


def test_the_secret_detector_takes_the_keyword_hits_of_yaras_pass_in_run_detectors(monkeypatch):
    """Workers and the in-process collector run a file's detectors one after the other on the same
    bytes object, YARA first, so the secret detector needs no keyword pass of its own."""
    import explorer.detectors.secrets as secrets
    from explorer.core.model import EntryKind, FileEntry

    own_passes = []
    real = secrets.find_keywords
    monkeypatch.setattr(secrets, "find_keywords", lambda text: (own_passes.append(len(text)), real(text))[1])
    data = b"[auth]\n" + GITHUB
    entry = FileEntry(path="/etc/app.ini", kind=EntryKind.FILE, layer=0, size=len(data), mode=0o644)
    matches, errors = [], []
    detectpool.run_detectors(build_detectors().file, entry, data, matches, errors)
    assert "secret.github-pat" in {m.rule_id for m in matches} and not errors
    assert own_passes == []
    detectpool.run_detectors([d for d in build_detectors().file if d.name == "secrets"], entry, data, [], [])
    assert own_passes == [len(data)], "alone, it makes its own pass"


@pytest.mark.parametrize("duplex, iov_max", [(True, None), (False, None), (True, 3)])
def test_a_batch_arrives_as_sent_over_a_socket_or_a_pipe(duplex, iov_max, monkeypatch):
    """Small files come through the worker's reused buffer, big ones (DIRECT or more) one object each;
    over a pipe (no socket to recv from), or with a batch written in several writev calls, the same
    bytes arrive."""
    import multiprocessing
    import queue
    import threading

    if iov_max is not None:
        monkeypatch.setattr(detectpool.framing, "IOV_MAX", iov_max)
    sizes = [0, 5, detectpool.DIRECT, 3, detectpool.BATCH_BYTES - 10, 20, 3 * detectpool.DIRECT + 1, 7]
    contents = [bytes([65 + i]) * size for i, size in enumerate(sizes)]
    files = [(token, ("/f",), (0,), len(data)) for token, data in enumerate(contents)]
    receiving, sending = multiprocessing.Pipe(duplex=duplex)
    batches = queue.SimpleQueue()
    taker = threading.Thread(target=detectpool._take_batches, args=(receiving, batches))
    taker.start()
    for batch_id in range(2):
        detectpool._send_batch(sending, detectpool.marshal.dumps((batch_id, files)), contents)
    detectpool.framing.write(sending.fileno(), [])
    taker.join(timeout=30)
    for batch_id in range(2):
        got_id, got = batches.get(timeout=5)
        assert got_id == batch_id
        assert [(token, data) for token, _fields, _which, data in got] == list(enumerate(contents))
        assert all(type(data) is bytes for _token, _fields, _which, data in got)
    assert batches.get(timeout=5) is None


@pytest.mark.parametrize("failure", [EOFError, MemoryError, TypeError])
def test_a_worker_whose_receiving_fails_ends_instead_of_waiting_forever(failure, monkeypatch):
    """Whatever stops the receiving thread (a closed pipe, no memory for a big file), the scanning
    loop is told to end, so the worker exits and the reading process scans what it held."""
    import queue
    import socket

    ours, theirs = socket.socketpair()

    class Failing:
        def fileno(self):
            return theirs.fileno()

    def read(fd, cap=0):
        raise failure("receiving failed")
    monkeypatch.setattr(detectpool.framing, "read", read)

    batches = queue.SimpleQueue()
    try:
        detectpool._take_batches(Failing(), batches)
    finally:
        ours.close()
        theirs.close()
    assert batches.get_nowait() is None


class Noisy(FileDetector):
    """Writes to stderr in a worker process (as a native library's warning or a traceback would)."""

    name = "noisy"

    def __init__(self, parent: int) -> None:
        self.parent = parent

    def wants(self, entry):
        return entry.path.endswith(".txt")

    def scan(self, entry, data):
        if os.getpid() != self.parent:
            print(f"noisy worker {os.getpid()} on {entry.path}", file=sys.stderr, flush=True)
        return []


def noisy_set(parent: int) -> DetectorSet:
    return DetectorSet(file=[Noisy(parent)], factory=functools.partial(noisy_set, parent))


def test_workers_write_their_stderr_where_workerlog_diverts_it(make_image, tmp_path):
    image = make_image([Layer([Entry.file(f"/f{i}.txt", b"x") for i in range(40)])])
    log = tmp_path / "workers.log"
    workerlog.divert(str(log))
    try:
        report(image, noisy_set(os.getpid()), jobs=2)
    finally:
        workerlog.divert(None)
    lines = log.read_text().splitlines()
    assert len(lines) == 40 and all(line.startswith("noisy worker ") for line in lines)
    report(image, noisy_set(os.getpid()), jobs=2)  # not diverted: nothing more goes there
    assert len(log.read_text().splitlines()) == 40


def _layer_worker_writes(path: str) -> None:
    from explorer.scan.layerjobs import _init_worker
    _init_worker(None, None, path)
    print("from a layer worker", file=sys.stderr, flush=True)


def test_a_layer_worker_applies_the_diverted_stderr_first(tmp_path):
    from explorer.scan.layerjobs import _context
    log = tmp_path / "layers.log"
    proc = _context().Process(target=_layer_worker_writes, args=(str(log),))
    proc.start()
    proc.join(30)
    assert proc.exitcode == 0 and log.read_text() == "from a layer worker\n"
