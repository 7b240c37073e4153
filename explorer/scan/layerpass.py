"""One layer's pass as a unit of work: walk the blob once, feed the file detectors, and keep
everything the image-level stages need (entries, stats, problems, file matches, detector failures).

The outcome has one compact encoding (`encode` / `decode`): it is what a worker process sends back
and what the layer cache stores, so a cached layer and a freshly read one are the same bytes.
"""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from explorer.core import memtune
from explorer.scan.cache import pack, unpack
from explorer.detectors.base import FileDetector
from explorer.scan.detectpool import DetectionPool, run_detectors
from explorer.core.findings import Match
from explorer.layerfs.analysis import ProgressFn, read_layer
from explorer.layerfs.walker import WalkResult
from explorer.core.limits import DEFAULT, Limits
from explorer.core.model import EntryKind, FileEntry, LayerRef, LayerStats, Problem
from explorer.sources import ImageSource
from explorer.detectors.redact import redact_text

FORMAT = 4
"""Version of the encoding (part of the cache key through the code hash, and checked on decode)."""

@dataclass
class LayerOutcome:
    walk: WalkResult
    matches: list[tuple[FileEntry, Match]] = field(default_factory=list)
    """File-detector matches; each entry is the very object in `walk.entries`."""
    errors: list[str] = field(default_factory=list)
    """Detector failures on this layer's files."""
    cached: bool = False
    """True when the outcome came from the layer cache (the blob was only hashed)."""

    def cacheable(self, ref: LayerRef) -> bool:
        """Only a layer read to its end, matching every digest the image claims, with no detector
        failure (a failure, or a timeout, may not repeat)."""
        stats = self.walk.stats
        return (stats.complete and not self.errors and ref.diff_id is not None and stats.diff_id == ref.diff_id
                and (ref.digest is None or ref.digest == stats.digest)
                and all(p.kind.cacheable for p in self.walk.problems))


class Collector:
    """The LayerVisitor: asks each file detector, hands wanted bytes to those that asked.

    Detection runs on a worker thread while the walker goes on decompressing, parsing and hashing
    (YARA, hashlib and the decompressors release the GIL, so two cores are both busy). Memory: a
    file's bytes are reserved in `wants`, before the walker reads them, and at most PENDING_BYTES
    wait for detection (a larger file is read only once nothing else waits), so the file content
    held at any time is at most max(PENDING_BYTES, the largest prefix handed over).

    With `spare` (a second set of the same detectors), a file over PENDING_BYTES is scanned on a
    thread of its own by that set, one such file at a time, while the walker and the other files go
    on: the files after it no longer wait for its scan (a registry scan of a Debian image ended
    with a 50 MB apt list whose 0.5-0.7 s scan held up the last 2.7 MB of the layer), and its
    detectors other than the first run on the detection thread meanwhile. No detector object is
    used by two threads; the content held is then at most PENDING_BYTES plus one prefix.
    """

    PENDING_BYTES = 16 * 1024 * 1024

    def __init__(self, detectors: list[FileDetector], out: list[tuple[FileEntry, Match]], errors: list,
                 max_content: int = DEFAULT.max_file_scan, spare: "SpareDetectors | None" = None):
        self.detectors = detectors
        self._spare = spare
        self._big_pool: ThreadPoolExecutor | None = None
        self._big_busy = False
        """A big file is with the spare set (guarded by `_budget`)."""
        self._to_big: list[int] | None = None
        """The wanted file goes to the spare set: the indices of the detectors that want it."""
        self.max_content = max_content
        """The longest prefix of a file the walker hands over (`Limits.max_file_scan`)."""
        self.out = out
        self.part_out: list[tuple[int, FileEntry, Match]] = []
        """Matches in parts of files past their prefix, (part number, entry, match): see `merge_parts`."""
        self.errors = errors
        """((order handed over, group), line) per detector failure: `error_lines` gives the lines in order."""
        self._wanting: list[FileDetector] = []
        self._chunked: list[FileDetector] = []
        self._parts_seen = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="detect")
        self._budget = threading.Condition()
        self._pending = 0
        self._reserved = 0
        self._handed = 0
        """Files and parts handed over so far (the walker's thread only)."""

    def wants(self, entry: FileEntry) -> bool:
        if self._to_big is not None:  # a big file wanted but never visited (its content ended early)
            self._to_big = None
            self._release_big()
        self._wanting = [d for d in self.detectors if d.wants(entry)]
        if self._wanting:
            cost = min(entry.size, self.max_content) + 4096
            if cost > self.PENDING_BYTES and self._spare is not None:
                self._reserve_big()
                self._to_big = [i for i, d in enumerate(self.detectors) if d in self._wanting]
                self._reserved = 0
                if self._big_pool is None:  # the spare set builds (~0.1 s) while the walker reads the file
                    self._big_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="detect-big")
                    self._big_pool.submit(self._spare_set)
            else:
                self._reserve(cost)
                self._reserved = cost
        return bool(self._wanting)

    def visit(self, entry: FileEntry, data: bytes) -> None:
        self._handed += 1
        if self._to_big is not None:
            which, self._to_big = self._to_big, None
            self._big_pool.submit(self._run_big, which, entry, data, self._handed)
            return
        cost, self._reserved = self._reserved, 0
        self._pool.submit(self._run, list(self._wanting), entry, data, cost, self._handed)

    def _spare_set(self) -> list[FileDetector] | None:
        """The spare set, built on the big files' thread on first use; None if it does not build (the
        big files are then scanned by the walker's set, on that thread, one at a time as before)."""
        try:
            return self._spare.file()
        except Exception:  # noqa: BLE001 - the same factory built the first set: not expected
            return None

    def _run_big(self, which: list[int], entry: FileEntry, data: bytes, handed: int) -> None:
        """A big file's scan: its first wanted detector (YARA, the costliest: 0.3 s of the 0.38 s on a
        50 MB apt list) by the spare set on this thread, the others beside it by the walker's set on
        the detection thread (by the walker's set there, all of them, if there is no spare set)."""
        try:
            spare = self._spare_set()
            if spare is None:
                self._pool.submit(self._scan, [self.detectors[i] for i in which], entry, data, handed).result()
                return
            rest = None
            if len(which) > 1:
                rest = self._pool.submit(self._scan, [self.detectors[i] for i in which[1:]], entry, data, handed,
                                         group=1)
            self._scan([spare[which[0]]], entry, data, handed)
            if rest is not None:
                rest.result()
        finally:
            self._release_big()

    def _reserve_big(self) -> None:
        with self._budget:
            while self._big_busy:
                self._budget.wait()
            self._big_busy = True

    def _release_big(self) -> None:
        with self._budget:
            self._big_busy = False
            self._budget.notify_all()

    def wants_parts(self, entry: FileEntry) -> bool:
        self._chunked = [d for d in self._wanting if d.chunked]
        return bool(self._chunked)

    def visit_part(self, entry: FileEntry, data: bytes, newlines_before: int) -> None:
        cost = len(data) + 4096
        self._reserve(cost)
        self._parts_seen += 1
        self._handed += 1
        self._pool.submit(self._run, list(self._chunked), entry, data, cost, self._handed,
                          (self._parts_seen, newlines_before))

    def _run(self, detectors: list[FileDetector], entry: FileEntry, data: bytes, cost: int, handed: int,
             part: tuple[int, int] | None = None) -> None:
        try:
            self._scan(detectors, entry, data, handed, part)
        finally:
            self._release(cost)

    def _scan(self, detectors: list[FileDetector], entry: FileEntry, data: bytes, handed: int,
              part: tuple[int, int] | None = None, group: int = 0) -> None:
        """The detectors over a file, or (`part`: its number, the newlines before it) over a part of one;
        its errors go with `handed` (the order the walker handed it over in: two threads may scan) and
        `group` (a big file's detectors run in two groups, on two threads)."""
        found: list[Match] = []
        errors: list[str] = []
        run_detectors(detectors, entry, data, found, errors, None if part is None else part[1])
        if part is None:
            self.out.extend((entry, match) for match in found)
        else:
            self.part_out.extend((part[0], entry, match) for match in found)
        self.errors.extend(((handed, group), error) for error in errors)

    def _reserve(self, cost: int) -> None:
        """Wait until `cost` more bytes fit in PENDING_BYTES (or nothing else waits), then count them."""
        with self._budget:
            while self._pending and self._pending + cost > self.PENDING_BYTES:
                self._budget.wait()
            self._pending += cost

    def _release(self, cost: int) -> None:
        with self._budget:
            self._pending -= cost
            self._budget.notify_all()

    def finish(self) -> None:
        """Wait until every handed-over file has been scanned."""
        if self._to_big is not None:
            self._to_big = None
            self._release_big()
        if self._big_pool is not None:  # first: a big file's fallback may still hand work to `_pool`
            self._big_pool.shutdown(wait=True)
        self._pool.shutdown(wait=True)

    def error_lines(self) -> list[str]:
        """Detector failures, in the order the files were handed over."""
        return [error for _handed, error in sorted(self.errors, key=lambda pair: pair[0])]


class SpareDetectors:
    """A second set of the file detectors, made by the detector set's `factory` on first use (the
    same detectors in the same order): `Collector` scans a big file with it beside the other files."""

    def __init__(self, factory) -> None:
        self._factory = factory
        self._file: list[FileDetector] | None = None
        self._lock = threading.Lock()

    def file(self) -> list[FileDetector]:
        with self._lock:
            if self._file is None:
                self._file = list(self._factory().file)
            return self._file


def read_outcome(source: ImageSource, ref: LayerRef, detectors: list[FileDetector],
                 progress: ProgressFn | None = None, limits: Limits = DEFAULT,
                 pool: DetectionPool | None = None, spare: SpareDetectors | None = None) -> LayerOutcome:
    """The one streaming pass over `ref`, with the file detectors fed as it goes, within `limits`;
    with `pool`, its worker processes run the detectors (`pool.detectors` stands for `detectors`);
    without, `spare` scans the big files (see `Collector`)."""
    return start_outcome(source, ref, detectors, progress, limits, pool, spare).result()


@dataclass
class PendingOutcome:
    """A layer read to its end whose files may still be in detection (`result` waits for them)."""

    walk: WalkResult
    collector: object | None

    def result(self) -> LayerOutcome:
        collector, walk = self.collector, self.walk
        if collector is not None:
            collector.finish()
        memtune.trim()
        matches = collector.out if collector is not None else []
        errors = collector.error_lines() if collector is not None else []
        order = {id(e): i for i, e in enumerate(walk.entries)}
        if collector is not None:
            merge_parts(matches, collector.part_out)
            # a file longer than its prefix is handed over before it is read to its end: one cut
            # short (the layer is truncated there) is not among the entries
            matches[:] = [(e, m) for e, m in matches if id(e) in order]
        # evidence of non-secret rules can quote a secret: masked here already, so the cache never holds it
        matches[:] = [(e, m if m.category == "secret" or m.is_fact else dataclasses.replace(m, evidence=redact_text(m.evidence)))
                      for e, m in matches]
        matches.sort(key=lambda pair: (order[id(pair[0])], pair[1].line or 0, pair[1].rule_id))
        return LayerOutcome(walk, matches, errors)


def merge_parts(matches: list[tuple[FileEntry, Match]], parts: list[tuple[int, FileEntry, Match]]) -> None:
    """Add the matches found in parts of files past their prefix, first part first, each rule once
    per file: parts overlap, and a rule found in the prefix or an earlier part is not found again."""
    have = {(id(e), m.rule_id, m.member) for e, m in matches}
    for _seq, entry, match in sorted(parts, key=lambda item: item[0]):
        if (id(entry), match.rule_id, match.member) not in have:
            have.add((id(entry), match.rule_id, match.member))
            matches.append((entry, match))


def start_outcome(source: ImageSource, ref: LayerRef, detectors: list[FileDetector],
                  progress: ProgressFn | None = None, limits: Limits = DEFAULT,
                  pool: DetectionPool | None = None, spare: SpareDetectors | None = None) -> PendingOutcome:
    """`read_outcome` up to the end of the blob: with `pool`, the last files may still be in the
    workers, so the next layer can be read while they finish."""
    if pool is not None:
        collector = pool.collector(limits.max_file_scan)
    elif detectors:
        collector = Collector(detectors, [], [], limits.max_file_scan, spare)
    else:
        collector = None
    try:
        walk = read_layer(source, ref, collector, progress, limits)
    except BaseException:
        if collector is not None:
            collector.finish()
        raise
    if pool is not None:
        collector.flush()
    return PendingOutcome(walk, collector)


# -- encoding -------------------------------------------------------------------------------------

_KINDS = {k.value: k for k in EntryKind}


def encode(outcome: LayerOutcome) -> bytes:
    """`cache.pack` of plain tuples; the layer index is left out (a shared layer may sit at
    another index in another image) and put back by `decode`."""
    walk = outcome.walk
    s = walk.stats
    index = s.index
    prefix = f"layer {index}: "
    problems = [(p.kind.value, p.message[len(prefix):] if p.message.startswith(prefix) else p.message,
                 p.message.startswith(prefix), p.layer is not None) for p in walk.problems]
    entries = [(e.path, e.kind.value, e.mode, e.uid, e.gid, e.size, e.digest, e.linkname, e.mtime, e.member,
                e.data_offset, e.uname, e.gname, e.devmajor, e.devminor) for e in walk.entries]
    order = {id(e): i for i, e in enumerate(walk.entries)}
    matches = [(order[id(e)], m.rule_id, m.category, m.severity, m.title, m.evidence, m.line, m.reason, m.member)
               for e, m in outcome.matches]
    doc = (FORMAT, (s.digest, s.diff_id, s.compression, s.compressed_size, s.size, s.entries, s.complete,
                    s.uncompressed),
           problems, entries, matches, list(outcome.errors))
    return pack(doc)


def decode(payload: bytes, index: int) -> LayerOutcome:
    """The outcome for layer `index`; raises ValueError on anything malformed."""
    try:
        doc = unpack(payload)
        version, stats, problems, entries, matches, errors = doc
        if version != FORMAT:
            raise ValueError(f"encoding {version}")
        walk = WalkResult(LayerStats(index, *stats))
        walk.problems = [Problem(index if has_layer else None, kind, f"layer {index}: {text}" if prefixed else text)
                         for kind, text, prefixed, has_layer in problems]
        walk.entries = [FileEntry(t[0], _KINDS[t[1]], index, *t[2:]) for t in entries]
        found = [(walk.entries[t[0]], Match(*t[1:])) for t in matches]
        return LayerOutcome(walk, found, list(errors))
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise ValueError(f"malformed layer result: {exc}") from None
