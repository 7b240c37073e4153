"""Layer blobs from a registry download in parallel, bounded: the first ones start as soon as the
scan says which blobs it will read (before any is opened, so the link works while the detection
workers start), never more than `registry.PARALLEL` ahead of the pass, and each blob is fetched
once and verified by the bytes the pass reads. Real `docker-registry` on loopback, fault proxy in
front (the fixtures of test_registry.py)."""

from __future__ import annotations

import hashlib
import time

from explorer.sources import registry as reg
from explorer.sources.registry import open_registry
from test_registry import _no_daemon, demo_tar, proxy, registry  # noqa: F401 - fixtures


def _until(condition, what: str, limit: float = 60.0) -> None:
    """Wait for `condition` (a download thread's progress); fail, naming `what`, if it never comes."""
    end = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < end, f"never happened: {what}"
        time.sleep(0.01)


def _layers(store, names) -> dict:
    """`received()` of the layer blobs (the config blob was read to open the image)."""
    return {n: v for n, v in store.received().items() if n in names}


def test_downloads_start_before_any_open_and_stay_bounded(proxy):
    source = open_registry(f"{proxy.host}/demo/app:1")
    try:
        store = source.store
        names = [layer.blob for layer in source.layers]
        digests = {layer.blob: layer.digest for layer in source.layers}
        assert len(names) > reg.PARALLEL  # else the bound is not tested
        proxy.seen.clear()
        store.will_read(names)
        # the demo's blobs are small: each download ends at once, and the next one starts, until
        # PARALLEL are waiting to be opened
        _until(lambda: len(_layers(store, names)) == reg.PARALLEL and
               all(got == size for got, size in _layers(store, names).values()), "PARALLEL downloads done")
        started = sorted(_layers(store, names))
        assert started == sorted(names[:reg.PARALLEL])
        assert sorted(s.path.rsplit("/", 1)[-1] for s in proxy.blob_gets()) == \
            sorted(digests[n] for n in names[:reg.PARALLEL])
        # the pass reads them in order; each open makes room for one more
        for name in names:
            with store.open(name) as fh:
                data = fh.read()
            assert "sha256:" + hashlib.sha256(data).hexdigest() == digests[name]
            assert len(_layers(store, names)) <= names.index(name) + 1 + reg.PARALLEL
        assert _layers(store, names) == {n: (source.store.size(n), source.store.size(n)) for n in names}
        fetched = [s.path.rsplit("/", 1)[-1] for s in proxy.blob_gets()]
        assert sorted(fetched) == sorted(digests.values())  # each layer once
    finally:
        source.close()


def test_a_store_told_nothing_fetches_nothing_ahead(proxy):
    """A preview or an extract opens one blob: only that one is downloaded."""
    source = open_registry(f"{proxy.host}/demo/app:1")
    try:
        proxy.seen.clear()
        layer = source.layers[2]
        with source.store.open(layer.blob) as fh:
            assert "sha256:" + hashlib.sha256(fh.read()).hexdigest() == layer.digest
        assert [s.path.rsplit("/", 1)[-1] for s in proxy.blob_gets()] == [layer.digest]
        assert list(_layers(source.store, [r.blob for r in source.layers])) == [layer.blob]
    finally:
        source.close()
