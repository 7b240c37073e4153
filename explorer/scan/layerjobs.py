"""Every layer's outcome, from the cache or from one pass, in parallel worker processes when it pays.

1. Cache look-up by what the image claims (diff_id, blob digest) plus rule set, code and settings.
   A row found is taken only once the stored blob hashes to the digest it was written for
   (`explorer.scan.cache` explains why); the hashing runs in threads, one blob each.
2. The layers left are read: in this process (`jobs=1`, or little to read), or in worker
   processes (forkserver: nothing is forked from a process that runs threads). Each worker opens
   the blob itself from the source's blob store, builds its own detectors from the picklable
   factory, and sends back the encoded outcome, which is also what the cache stores.
3. Outcomes come back in layer order whatever order the workers finished in.

A blob the manifest lists more than once (with the same digests) is read once: Docker applies the
same diff again each time, so each later listing gets a copy of the outcome, its entries relabelled
with its own layer index.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import queue
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Callable

from explorer.scan import workerlog
from explorer.scan.cache import LayerCache, check_blobs
from explorer.scan.detectpool import DetectionPool
from explorer.layerfs.analysis import ProgressFn, cap_total, name_chars, not_read, over_caps
from explorer.layerfs.walker import WalkResult
from explorer.core.limits import DEFAULT, Limits
from explorer.layerfs.stream import CHUNK
from explorer.scan.layerpass import (LayerOutcome, PendingOutcome, SpareDetectors, decode, encode, read_outcome,
                                    start_outcome)
from explorer.core.model import LayerRef, Problem
from explorer.sources import ImageSource
from explorer.sources.base import repeated

PARALLEL_MIN_BYTES = 64 * 1024 * 1024
"""With `jobs=None` (automatic), worker processes start only when this much is left to read:
below it, starting them costs more than it saves."""


def auto_jobs(refs: list[LayerRef], jobs: int | None, *, per_layer: bool = True) -> int:
    """Worker processes for `refs`: `jobs`, or as many as cores when there is enough to read;
    `per_layer` (layers are the unit of work): no more than there are layers."""
    most = len(refs) if per_layer else max(len(refs), os.cpu_count() or 1, jobs or 1)
    if not refs:
        return 1
    if jobs is not None:
        return max(1, min(jobs, most))
    if sum(max(r.compressed_size, 0) for r in refs) < PARALLEL_MIN_BYTES:
        return 1
    return max(1, min(most, os.cpu_count() or 1))


def read_layers(source: ImageSource, detectors: list, *, factory: Callable | None = None, rules: str = "none",
                settings: str = "", progress: ProgressFn | None = None, cache: LayerCache | None = None,
                jobs: int | None = 1, limits: Limits = DEFAULT) -> list[LayerOutcome]:
    """One outcome per `source.layers`, in order, within `limits` (`settings` must include them)."""
    caps = _ImageCaps(source)
    copies = caps.copies
    refs = [r for r in source.layers if r.index not in copies]
    outcomes: dict[int, LayerOutcome] = {}
    keys: dict[int, str] = {}
    if cache is not None:
        _from_cache(source, refs, cache, rules, settings, progress, keys, outcomes)
    todo = [r for r in refs if r.index not in outcomes]
    workers = auto_jobs(todo, jobs, per_layer=not detectors)
    if hasattr(source.store, "will_read") and not (workers > 1 and not detectors):
        source.store.will_read([r.blob for r in todo])  # a registry read here: fetch ahead only what is read
    if workers > 1 and detectors and factory is not None:
        fresh = _detect_in_workers(source, todo, factory, detectors, progress, workers, limits, outcomes, caps)
    elif workers > 1 and not detectors:
        fresh = _read_in_workers(source, todo, factory, detectors, progress, workers, limits)
    else:
        spare = SpareDetectors(factory) if detectors and factory is not None else None
        fresh = ((ref, _in_order(source, ref, detectors, progress, limits, outcomes, caps, spare), None)
                 for ref in todo)
    for ref, outcome, payload in fresh:
        outcomes[ref.index] = outcome
        if cache is not None and ref.index in keys and outcome.cacheable(ref):
            cache.store(keys[ref.index], outcome.walk.stats.digest, outcome.walk.stats.compressed_size,
                        payload if payload is not None else encode(outcome))
    for index, first in copies.items():
        outcomes[index] = relabelled(outcomes[first], index)
        if progress is not None:
            size = source.layers[index].compressed_size
            progress(index, size, size)
    ordered = [outcomes[r.index] for r in source.layers]
    capped = cap_total([o.walk for o in ordered], limits, caps.chars)
    for outcome, walk in zip(ordered, capped):
        if walk is not outcome.walk:
            outcome.walk, outcome.matches, outcome.errors = walk, [], []
    return ordered


def relabelled(outcome: LayerOutcome, index: int) -> LayerOutcome:
    """`outcome` as the outcome of layer `index`, which lists the same blob again."""
    walk = outcome.walk
    old = f"layer {walk.stats.index}:"
    copy = WalkResult(dataclasses.replace(walk.stats, index=index))
    fresh = {}
    for entry in walk.entries:
        fresh[id(entry)] = new = dataclasses.replace(entry, layer=index)
        copy.entries.append(new)
    copy.problems = [Problem(index, p.kind, f"layer {index}:{p.message[len(old):]}" if p.message.startswith(old)
                             else p.message) for p in walk.problems]
    matches = [(fresh[id(entry)], match) for entry, match in outcome.matches if id(entry) in fresh]
    return LayerOutcome(copy, matches, list(outcome.errors), cached=outcome.cached)


class _ImageCaps:
    """The image-wide caps for layers read in order: which layers repeat an earlier one, and the
    `name_chars` of each layer's walk, counted once (the walks are kept alive with their counts)."""

    def __init__(self, source: ImageSource) -> None:
        self.copies = repeated(source)
        self._known: dict[int, tuple[WalkResult, int]] = {}

    def chars(self, walk: WalkResult) -> int:
        known = self._known.get(id(walk))
        if known is None:
            known = self._known[id(walk)] = (walk, name_chars(walk))
        return known[1]

    def passed(self, ref: LayerRef, outcomes: dict[int, LayerOutcome], limits: Limits) -> str | None:
        """Which image-wide cap the layers below `ref` (all of them known) already pass, if any."""
        first = [self.copies.get(i, i) for i in range(ref.index)]
        if not all(i in outcomes for i in first):
            return None
        return over_caps([outcomes[i].walk for i in first], limits, self.chars)


def _in_order(source, ref, detectors, progress, limits, outcomes, caps, spare=None) -> LayerOutcome:
    """Read one layer in this process; not when the layers below already pass an image-wide cap."""
    cap = caps.passed(ref, outcomes, limits)
    if cap is not None:
        return LayerOutcome(not_read(ref.index, limits, cap))
    return read_outcome(source, ref, detectors, progress, limits, spare=spare)


def _detect_in_workers(source, todo, factory, detectors, progress, workers, limits, outcomes, caps):
    """(ref, outcome, None) in layer order: this process reads the layers one after the other, and
    `workers` detection processes scan the files (explorer.scan.detectpool). A layer's outcome is
    completed once the next layer is being read, so the workers never wait for a layer's last
    answers to come back before they get the next layer's files."""
    pool = DetectionPool(_context(), factory, detectors, workers)
    walks: dict[int, LayerOutcome] = dict(outcomes)
    pending: tuple | None = None
    try:
        for ref in todo:
            cap = caps.passed(ref, walks, limits)
            if cap is not None:
                started = PendingOutcome(not_read(ref.index, limits, cap), None)
            else:
                started = start_outcome(source, ref, detectors, progress, limits, pool)
            walks[ref.index] = LayerOutcome(started.walk)  # for the next layer's max_total check
            if pending is not None:
                yield pending[0], pending[1].result(), None
            pending = (ref, started)
        if pending is not None:
            yield pending[0], pending[1].result(), None
    finally:
        pool.close()


def _from_cache(source, refs, cache, rules, settings, progress, keys, outcomes) -> None:
    claims = {}
    for ref in refs:
        if ref.diff_id is None:
            continue
        keys[ref.index] = cache.key(ref.diff_id, ref.digest or "", rules, settings)
        row = cache.lookup(keys[ref.index])
        if row is not None and (ref.digest is None or ref.digest == row[0]):
            claims[ref.index] = (ref, *row)
        else:  # read in full below: that read vouches for the blob file when its row is stored
            cache.watch(keys[ref.index], cache.identity(source, ref), lambda r=ref: cache.identity(source, r))
    if not claims:
        return
    decoded: dict[int, LayerOutcome | None] = {}
    checked = check_blobs(source, cache, claims,
                          meanwhile=lambda: decoded.update((i, _decoded(cache, keys[i], i)) for i in claims))
    for i, ok in checked.items():
        outcome = decoded[i]
        if outcome is None or not ok:
            continue
        outcome.cached = True
        outcomes[i] = outcome
        if progress is not None:
            size = claims[i][2]
            progress(i, size, size)


def _decoded(cache: LayerCache, key: str, index: int) -> LayerOutcome | None:
    payload = cache.payload(key)
    if payload is None:
        return None
    try:
        return decode(payload, index)
    except ValueError:
        return None


# -- worker processes -----------------------------------------------------------------------------

_worker: dict = {}


def _init_worker(factory, progress_queue, stderr: str | None = None) -> None:
    workerlog.apply(stderr)
    _worker["detectors"] = factory().file if factory is not None else []
    _worker["queue"] = progress_queue


def _work(source: ImageSource, ref: LayerRef, limits: Limits) -> bytes:
    q = _worker["queue"]
    last = [0]

    def progress(layer: int, done: int, total: int) -> None:
        if done - last[0] >= 4 * CHUNK or done >= total:
            last[0] = done
            try:
                q.put_nowait((layer, done, total))
            except Exception:  # noqa: BLE001 - progress is best effort
                pass

    return encode(read_outcome(source, ref, _worker["detectors"], progress, limits))


def _context():
    """forkserver where there is one: workers fork from a clean server that has imported this module
    (and so the detectors) once, not from this process and its threads."""
    if ("forkserver" in multiprocessing.get_all_start_methods() and sys.platform != "darwin"
            and _socket_path_fits()):
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["explorer.scan.layerjobs", "explorer.scan.detectpool", "explorer.detectors.registry"])
        return ctx
    return multiprocessing.get_context("spawn")


def _socket_path_fits() -> bool:
    """The forkserver listens on a Unix socket in `$TMPDIR/pymp-XXXXXXXX/listener-XXXXXXXX`; a socket
    path holds at most 107 bytes, so under a long $TMPDIR the workers are spawned instead (slower to
    start, same results) rather than failing to start."""
    import tempfile
    return len(os.fsencode(tempfile.gettempdir())) + len("/pymp-12345678/listener-12345678") <= 107


def _read_in_workers(source, todo, factory, detectors, progress, workers, limits):
    """(ref, outcome, payload) in layer order; the largest blobs are started first. A layer whose
    worker failed (a crashed process, an unpicklable store) is read again in this process."""
    ctx = _context()
    progress_queue = ctx.Queue() if progress is not None else None
    portable = _portable(source)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(factory, progress_queue, workerlog.target()))
    try:
        order = sorted(todo, key=lambda r: -max(r.compressed_size, 0))
        futures = {pool.submit(_work, portable, ref, limits): ref for ref in order}
        by_index = {ref.index: f for f, ref in futures.items()}
        pending = set(futures)
        finished: set[int] = set()
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            _drain(progress_queue, progress, finished)
            for future in done if progress is not None else ():
                ref = futures[future]  # its last progress event may still sit in the queue's pipe
                finished.add(ref.index)
                progress(ref.index, ref.compressed_size, ref.compressed_size)
        for ref in todo:
            try:
                payload = by_index[ref.index].result()
                outcome = decode(payload, ref.index)
            except Exception:  # noqa: BLE001 - BrokenProcessPool, pickling errors, a bad payload
                yield ref, read_outcome(source, ref, detectors, progress, limits), None
                continue
            yield ref, outcome, payload
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        if progress_queue is not None:
            progress_queue.close()


def _drain(progress_queue, progress, finished: set[int]) -> None:
    """Pass the workers' progress events on (none for a layer already reported finished)."""
    if progress_queue is None:
        return
    while True:
        try:
            layer, done, total = progress_queue.get_nowait()
        except (queue.Empty, OSError, ValueError):
            return
        if layer not in finished:
            progress(layer, done, total)


def _portable(source: ImageSource) -> ImageSource:
    """The parts of the source a worker needs to open blobs (no cleanup callbacks, no problems)."""
    return ImageSource(reference=source.reference, kind=source.kind, store=source.store, config=source.config,
                       layers=list(source.layers))
