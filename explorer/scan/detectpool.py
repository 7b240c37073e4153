"""File detection spread over worker processes while this process reads the layers.

One big layer is most of the work in a real image (site-packages, node_modules: 60 % of the bench
image's CPU sits in one layer of 53k files), so layers are not the unit of parallel work: files are.
This process makes the one streaming pass over each blob (decompress, walk, hash, index) and hands
the content of every file a detector wants to a pool of detection processes, in batches, to the one
with the least work waiting; the matches come back by a token and are put in a deterministic order
by `layerpass.read_outcome`, so the outcome does not depend on which worker scanned what.

Messages (a duplex pipe per worker): a batch is one marshal'd header, `(batch id, [(token, entry
fields, detector indices, length), …])`, then one message with the files' bytes one after the
other (two messages a batch, not one a file: the worker's receiving thread needs the GIL for every
message, and its scanning thread holds it most of the time). Every message is framed as
explorer.scan.framing says (a length, then the bytes); a batch is written with one writev from the files'
own bytes objects (never joined), and read without a copy per piece: small files a run at a time into
one reused buffer, a file of DIRECT bytes or more straight into its own bytes object. The answer is one message, `(batch id,
[(token, [match fields], [errors]), …])`. A reader thread here takes answers as they come, and one
in the worker takes batches as they come, so neither side blocks on a full pipe.

Memory: at most IN_FLIGHT bytes of content wait per worker, plus the batch being filled, plus
BIG_FILES big files (over IN_FLIGHT: each travels alone, and the walker reads another one only once
a held one's answer is back). A worker that dies (a crash in a native library on hostile bytes) is
not the end of the scan: its batches, still held here, are scanned in this process and the other
workers go on; all but the file it was scanning when it died (each worker says which, and with which
detector, in a few bytes of shared memory), which is not scanned again (it could take this process
down too) and gets the same `suspicious.detector-failure` finding as a detector that raised on it.
"""

from __future__ import annotations

import dataclasses
import gc
import marshal
import operator
import os
import queue
import signal
import socket
import threading
from multiprocessing.connection import wait as wait_connections

from explorer.core import memtune
from explorer.scan import framing, workerlog
from explorer.detectors.base import FileDetector, failure_match
from explorer.core.findings import Match
from explorer.core.model import EntryKind, FileEntry
from explorer.core.textsafe import safe

BATCH_BYTES = 1024 * 1024
BATCH_FILES = 256
IN_FLIGHT = 8 * 1024 * 1024
"""Bytes of content waiting per worker before this process stops to let it catch up."""
BIG_FILES = 2
"""Big files (over IN_FLIGHT) held here at a time: two, so that two workers can each scan one (the
bench image's three 64-128 MiB files in a row left a worker idle for seconds with one)."""
NICE = 10
"""The workers' niceness: the reading process, whose one pass feeds them all, gets a core whenever
it can run; the workers share what it leaves (with three processes on two cores and equal shares,
the reader got two thirds of a core and became the slowest part)."""
FILE_OVERHEAD = 512
"""Bytes counted per file on top of its content (entry fields, message headers)."""
DIRECT = 256 * 1024
"""A worker receives a file this big or bigger as its own bytes object, straight from the socket;
the smaller ones are read into one buffer, a run at a time, and copied out of it."""

_FIELDS = tuple(f.name for f in dataclasses.fields(FileEntry))
_KIND_AT = _FIELDS.index("kind")
_KINDS = {k.value: k for k in EntryKind}


def _name(detector) -> str:
    return detector.name or type(detector).__name__


def failure(detector, where: str, exc: Exception) -> str:
    return f"{_name(detector)} failed on {where}: {type(exc).__name__}: {safe(str(exc))[:200]}"


def _where(entry: FileEntry, part: bool = False) -> str:
    return f"layer {entry.layer} {safe(entry.path)}" + (" (past its first bytes)" if part else "")


def run_detectors(detectors: list[FileDetector], entry: FileEntry, data: bytes,
                  matches: list[Match], errors: list[str], newlines_before: int | None = None,
                  mark=None, indices: tuple[int, ...] = ()) -> None:
    """Every detector over one file, or (with `newlines_before`) over a part of one past its prefix
    (`FileDetector.scan_part`); one detector failing on one file is an error line and a
    `suspicious.detector-failure` match on the file, not the end. `mark[1]` (shared memory, in a
    worker) is set to each detector's index in `indices` before it runs."""
    for n, detector in enumerate(detectors):
        if mark is not None:
            mark[1] = indices[n]
        try:
            if newlines_before is None:
                matches.extend(detector.scan(entry, data))
            else:
                matches.extend(detector.scan_part(entry, data, newlines_before))
        except Exception as exc:  # noqa: BLE001 - one bad file must not end the scan
            errors.append(failure(detector, _where(entry, newlines_before is not None), exc))
            matches.append(failure_match(_name(detector), type(exc).__name__))


_GET_FIELDS = operator.attrgetter(*_FIELDS)

PART = -1
"""Marks the detector indices of a part of a file past its prefix: (PART, newlines before it, *indices)."""


def _is_part(which: tuple[int, ...]) -> bool:
    return bool(which) and which[0] == PART


def _indices(which: tuple[int, ...]) -> tuple[int, ...]:
    return which[2:] if _is_part(which) else which


def run_wanted(detectors: list[FileDetector], which: tuple[int, ...], entry: FileEntry, data: bytes,
               matches: list[Match], errors: list[str], mark=None) -> None:
    """The detectors `which` names over a file, or over a part of one (`scan_part`)."""
    indices = _indices(which)
    run_detectors([detectors[i] for i in indices], entry, data, matches, errors,
                  which[1] if _is_part(which) else None, mark, indices)


def _entry_fields(entry: FileEntry) -> tuple:
    fields = _GET_FIELDS(entry)
    return (*fields[:_KIND_AT], fields[_KIND_AT].value, *fields[_KIND_AT + 1:])


def _entry(fields: tuple) -> FileEntry:
    fields = list(fields)
    fields[_KIND_AT] = _KINDS[fields[_KIND_AT]]
    return FileEntry(*fields)


def _match_fields(m: Match) -> tuple:
    return (m.rule_id, m.category, m.severity, m.title, m.evidence, m.line, m.reason, m.member)


# -- the worker process ---------------------------------------------------------------------------


def serve(conn, factory, stderr: str | None = None, mark=None) -> None:
    """A detection worker: builds its own detectors, then scans batches until told to stop.

    A thread takes the batches off the pipe as soon as they come (the sender never waits for a
    scan to end; at most IN_FLIGHT bytes are sent ahead), this one scans them in order. `mark`
    (two shared int64, `DetectionPool`): the token of the file being scanned (0: none) and the
    index of the detector on it, for the reading process to blame if this one dies."""
    workerlog.apply(stderr)
    memtune.tune()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the reader stops us
    try:
        os.nice(NICE)
    except OSError:
        pass
    detectors = factory().file
    gc.freeze()
    gc.disable()  # like the scan itself: many acyclic objects, nothing for the cyclic collector
    batches: queue.SimpleQueue = queue.SimpleQueue()
    threading.Thread(target=_take_batches, args=(conn, batches), daemon=True).start()
    while True:
        item = batches.get()
        if item is None:
            return
        batch_id, files = item
        answer = []
        big = False
        for token, fields, which, data in files:
            matches: list[Match] = []
            errors: list[str] = []
            if mark is not None:
                mark[0] = token
            run_wanted(detectors, which, _entry(fields), data, matches, errors, mark)
            answer.append((token, [_match_fields(m) for m in matches], errors))
            big = big or len(data) > IN_FLIGHT
        if mark is not None:
            mark[0] = 0
        del item, files, data  # not held (up to a big file) while the next batch is awaited
        if big:
            memtune.trim()
        try:
            framing.write(conn.fileno(), [marshal.dumps((batch_id, answer))])
        except (OSError, ValueError):
            return


def _take_batches(conn, batches: queue.SimpleQueue) -> None:
    fd = conn.fileno()
    sock = _socket(fd)
    buffer = memoryview(bytearray(BATCH_BYTES))
    try:
        while True:
            header = framing.read(fd)
            if not header:
                break
            batch_id, files = marshal.loads(header)
            total = sum(length for _token, _fields, _which, length in files)
            if framing.read_length(fd, cap=total) != total:
                raise ValueError("a batch's contents do not match its header")
            contents: list = []
            start = 0
            while start < len(files):
                end, run = start, 0  # files[start:end]: small files read into the buffer in one go
                while end < len(files) and files[end][3] < DIRECT and run + files[end][3] <= len(buffer):
                    run += files[end][3]
                    end += 1
                if end == start:
                    token, fields, which, length = files[start]
                    contents.append((token, fields, which, _receive(sock, fd, length)))
                    start += 1
                    continue
                view = buffer[:run]
                framing.read_into(fd, view)
                at = 0
                for token, fields, which, length in files[start:end]:
                    contents.append((token, fields, which, view[at:at + length].tobytes()))
                    at += length
                start = end
            batches.put((batch_id, contents))
            del contents  # a big file is not held while the next batch is awaited
    except Exception:  # noqa: BLE001 - a closed pipe, or anything else (no memory for a big file):
        pass           # the worker ends, and the reading process scans what it held
    finally:
        if sock is not None:
            sock.close()
        batches.put(None)


def _socket(fd: int) -> socket.socket | None:
    """The connection as a socket of its own (a duplicate descriptor), or None when it is no socket."""
    dup = os.dup(fd)
    try:
        return socket.socket(fileno=dup)
    except OSError:
        os.close(dup)
        return None


def _receive(sock: socket.socket | None, fd: int, length: int) -> bytes:
    """The next `length` bytes as one object, copied once: socket.recv with MSG_WAITALL fills the
    bytes object it returns (os.read would need a buffer to copy from)."""
    if sock is None:
        data = bytearray(length)
        framing.read_into(fd, memoryview(data))
        return bytes(data)
    data = sock.recv(length, socket.MSG_WAITALL)
    if len(data) < length:  # a signal, or the end of the stream
        if not data:
            raise EOFError("the pipe closed inside a message")
        rest = bytearray(length - len(data))
        framing.read_into(fd, memoryview(rest))
        data += rest
    return data


def _send_batch(conn, header: bytes, contents: list[bytes]) -> None:
    """The header message, then one message of `contents` one after the other (explorer.scan.framing)."""
    framing.write(conn.fileno(), [header], contents)


# -- this process ---------------------------------------------------------------------------------


@dataclasses.dataclass
class _Batch:
    sink: "RemoteCollector"
    files: list[tuple[int, FileEntry, bytes, tuple[int, ...]]] = dataclasses.field(default_factory=list)
    cost: int = 0
    worker: int = -1
    big: bool = False
    """Holds one of the BIG_FILES places for big files (released with the answer)."""


class DetectionPool:
    """Worker processes that run the file detectors; `collector()` gives one layer's visitor."""

    def __init__(self, ctx, factory, detectors: list[FileDetector], workers: int) -> None:
        self._detectors = detectors
        """This process's own detectors: for `wants`, and to scan what a dead worker left."""
        self._local = threading.Lock()
        self._cond = threading.Condition()
        self._conns = []
        self._procs = []
        self._marks = []
        """Per worker: the token of the file it is scanning and the detector on it (`serve`)."""
        self._in_flight: list[int] = []
        self._alive: list[bool] = []
        self._batches: dict[int, _Batch] = {}
        self._next_batch = 0
        self._next_token = 0
        self._big = 0
        """Big files in flight or about to be read (guarded by _cond)."""
        try:
            for _ in range(workers):
                parent, child = ctx.Pipe(duplex=True)
                mark = ctx.RawArray("q", 2)
                proc = ctx.Process(target=serve, args=(child, factory, workerlog.target(), mark), daemon=True,
                                   name="explorer-detect")
                self._marks.append(mark)
                proc.start()
                child.close()
                self._conns.append(parent)
                self._procs.append(proc)
                self._in_flight.append(0)
                self._alive.append(True)
        except BaseException:
            self.close()
            raise
        self._receiver = threading.Thread(target=self._receive, name="explorer-detect-results", daemon=True)
        self._receiver.start()

    @property
    def detectors(self) -> list[FileDetector]:
        return self._detectors

    def collector(self, max_content: int) -> "RemoteCollector":
        return RemoteCollector(self, max_content)

    # -- sending ---------------------------------------------------------------------------------

    def reserve_big(self) -> None:
        """Wait until fewer than BIG_FILES big files are held, then hold a place (before its bytes are read)."""
        with self._cond:
            while self._big >= BIG_FILES:
                self._cond.wait()
            self._big += 1

    def release_big(self) -> None:
        with self._cond:
            self._big -= 1
            self._cond.notify_all()

    def token(self) -> int:
        self._next_token += 1
        return self._next_token

    def submit(self, batch: _Batch) -> None:
        """Send a full batch to the worker with the least waiting; wait while every worker has enough."""
        with self._cond:
            batch_id = self._next_batch
            self._next_batch += 1
            while True:
                alive = [i for i, ok in enumerate(self._alive) if ok]
                if not alive:
                    worker = -1
                    break
                worker = min(alive, key=lambda i: self._in_flight[i])
                if self._in_flight[worker] == 0 or self._in_flight[worker] + batch.cost <= IN_FLIGHT:
                    break
                self._cond.wait()
            batch.worker = worker
            batch.sink.pending += 1
            if worker >= 0:
                self._in_flight[worker] += batch.cost
                self._batches[batch_id] = batch
        if worker < 0:
            self._scan_here(batch)
            return
        try:
            _send_batch(self._conns[worker], marshal.dumps((batch_id, [(token, _entry_fields(entry), which, len(data))
                                                                       for token, entry, data, which in batch.files])),
                        [data for _token, _entry_, data, _which in batch.files])
        except (OSError, ValueError):
            self._lost(worker)  # its batches, this one included, are scanned here

    # -- receiving -------------------------------------------------------------------------------

    def _receive(self) -> None:
        while True:
            with self._cond:
                conns = {self._conns[i]: i for i, ok in enumerate(self._alive) if ok}
            if not conns:
                return
            try:
                ready = wait_connections(list(conns))
            except (OSError, ValueError):  # closed under it: the pool is shutting down
                return
            for conn in ready:
                worker = conns[conn]
                try:
                    batch_id, answer = marshal.loads(framing.read(conn.fileno()))
                except (EOFError, OSError, ValueError, TypeError):
                    self._lost(worker)
                    continue
                with self._cond:
                    batch = self._batches.pop(batch_id, None)
                    if batch is None:
                        continue
                    self._in_flight[worker] -= batch.cost
                    self._cond.notify_all()
                self._answered(batch, {token: (found, errors) for token, found, errors in answer})
                del batch, answer  # the files' bytes are not held while the next answer is awaited

    def _lost(self, worker: int) -> None:
        """A worker died or its pipe broke: what it held is scanned in this process, but for the
        file it was scanning, which gets a detector-failure finding (`_blame`)."""
        with self._cond:
            if not self._alive[worker]:
                return
            self._alive[worker] = False
            orphans = [bid for bid, b in self._batches.items() if b.worker == worker]
            batches = [self._batches.pop(bid) for bid in sorted(orphans)]
            self._in_flight[worker] = 0
            self._cond.notify_all()
        token, detector = self._marks[worker][:] if worker < len(self._marks) else (0, 0)
        for batch in batches:
            self._scan_here(batch, self._blame(worker, batch, token, detector))

    def _blame(self, worker: int, batch: _Batch, token: int, detector: int) -> dict:
        """{token: answer} for the file of `batch` the dead `worker` was scanning (if it is one of
        them): the same failure finding a detector raising on it gives, and an error line."""
        for file_token, entry, _data, which in batch.files:
            if file_token == token and token and 0 <= detector < len(self._detectors):
                proc = self._procs[worker]
                proc.join(timeout=1)
                code = proc.exitcode
                how = (f"signal {-code}" if code is not None and code < 0
                       else f"exit status {code}" if code is not None else "pipe closed")
                name = _name(self._detectors[detector])
                why = f"its worker process died ({how})"
                return {token: ([_match_fields(failure_match(name, why))],
                                [f"{name} failed on {_where(entry, _is_part(which))}: {why}"])}
        return {}

    def _scan_here(self, batch: _Batch, done: dict | None = None) -> None:
        answer = dict(done or {})
        with self._local:  # the receiver thread and this one may both get here
            for token, entry, data, which in batch.files:
                if token in answer:
                    continue
                matches: list[Match] = []
                errors: list[str] = []
                run_wanted(self._detectors, which, entry, data, matches, errors)
                answer[token] = ([_match_fields(m) for m in matches], errors)
        self._answered(batch, answer)

    def _answered(self, batch: _Batch, answer: dict) -> None:
        if batch.big:
            self.release_big()
        batch.sink.take(batch, answer)

    # -- the end ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the workers (asked first, then terminated), then the receiver thread."""
        for conn, ok in zip(self._conns, self._alive):
            if ok:
                try:
                    framing.write(conn.fileno(), [])  # the empty message: stop
                except (OSError, ValueError):
                    pass
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
        receiver = getattr(self, "_receiver", None)
        if receiver is not None:
            receiver.join(timeout=5)  # it ends once every worker's pipe is closed
        with self._cond:
            self._alive = [False] * len(self._alive)
        for conn in self._conns:
            conn.close()


_MISSING = ((), ("detection result missing",))


class RemoteCollector:
    """One layer's LayerVisitor over a DetectionPool: same contract as `layerpass.Collector`."""

    def __init__(self, pool: DetectionPool, max_content: int) -> None:
        self.pool = pool
        self.max_content = max_content
        self.out: list[tuple[FileEntry, Match]] = []
        self.part_out: list[tuple[int, FileEntry, Match]] = []
        """Matches in parts of files past their prefix (see `layerpass.merge_parts`)."""
        self.errors: list[tuple[int, str]] = []
        self.pending = 0
        """Batches sent and not answered (guarded by the pool's condition)."""
        self._wanting: tuple[int, ...] = ()
        self._chunked: tuple[int, ...] = ()
        self._wants = list(enumerate(d.wants for d in pool.detectors))
        self._batch = _Batch(self)
        self._holds_big = False

    def wants(self, entry: FileEntry) -> bool:
        if self._holds_big:
            self._drop_big()  # a big file wanted but never visited (its content ended early)
        self._wanting = tuple([i for i, wants in self._wants if wants(entry)])
        if self._wanting and min(entry.size, self.max_content) > IN_FLIGHT:
            self._flush()
            self.pool.reserve_big()
            self._holds_big = True
        return bool(self._wanting)

    def visit(self, entry: FileEntry, data: bytes) -> None:
        if self._holds_big:
            self._holds_big = False
            big = _Batch(self, [(self.pool.token(), entry, data, self._wanting)], len(data) + FILE_OVERHEAD, big=True)
            self.pool.submit(big)
            return
        self._add(entry, data, self._wanting)

    def wants_parts(self, entry: FileEntry) -> bool:
        self._chunked = tuple(i for i in self._wanting if self.pool.detectors[i].chunked)
        return bool(self._chunked)

    def visit_part(self, entry: FileEntry, data: bytes, newlines_before: int) -> None:
        self._add(entry, data, (PART, newlines_before, *self._chunked))

    def _add(self, entry: FileEntry, data: bytes, which: tuple[int, ...]) -> None:
        """Into the batch being filled, which is sent once it is full."""
        batch = self._batch
        batch.files.append((self.pool.token(), entry, data, which))
        batch.cost += len(data) + FILE_OVERHEAD
        if batch.cost >= BATCH_BYTES or len(batch.files) >= BATCH_FILES:
            self._flush()

    def _drop_big(self) -> None:
        if self._holds_big:
            self._holds_big = False
            self.pool.release_big()

    def flush(self) -> None:
        """Send the batch being filled (the layer's last files); `finish` waits for the answers."""
        self._drop_big()
        self._flush()

    def _flush(self) -> None:
        if self._batch.files:
            batch, self._batch = self._batch, _Batch(self)
            self.pool.submit(batch)

    def take(self, batch: _Batch, answer: dict) -> None:
        """The answer to one batch (from the receiver thread, or from this one)."""
        out, failures = self.out, self.errors
        for token, entry, _data, which in batch.files:
            found, errors = answer.get(token, _MISSING)
            if found:  # most files: nothing found, nothing failed
                if _is_part(which):
                    self.part_out.extend([(token, entry, Match(*m)) for m in found])
                else:
                    out.extend([(entry, Match(*m)) for m in found])
            if errors:
                failures.extend([(token, e) for e in errors])
        with self.pool._cond:
            self.pending -= 1
            self.pool._cond.notify_all()

    def finish(self) -> None:
        """Send what is left and wait for every answer of this layer."""
        self.flush()
        with self.pool._cond:
            while self.pending:
                self.pool._cond.wait()

    def error_lines(self) -> list[str]:
        return [text for _token, text in sorted(self.errors, key=lambda pair: pair[0])]
