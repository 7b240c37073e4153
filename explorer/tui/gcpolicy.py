"""When Python's cyclic garbage collector may run while the app is open (no Textual import).

Measured in tmux on the 746 MB bench image: with the default thresholds a full (generation 2) collection
ran on the UI thread every few seconds of key presses, 6-67 ms each (it walks every object that is not
frozen: the widgets, their caches, the tree's nodes), and the one that fell inside a key's handling made
that key late (a focus change drawn after 136 ms, 67 of them the collection). So, while the app runs:

- full collections never start by themselves (generation 2's threshold is set out of reach); the young
  generations are still collected as usual (1-8 ms);
- `IdleCollector.tick` (from a timer) runs the full collection once no key or mouse event came for
  `idle` seconds, or, when input never stops, after `limit` collections of generation 1;
- `collections_paused` turns collection off while a worker builds the scan index or a layer view, and
  freezes what it made (long-lived: the app keeps it) when the last such worker ends;
- `pause` and `resume` turn it off for a moment without freezing: a theme switch restyles and redraws
  every widget, and the ~45 young collections its allocations set off cost 5-10 ms of the key's wait.
"""

from __future__ import annotations

import gc
import threading
import time
from contextlib import contextmanager

NEVER = 1_000_000_000
"""Generation 2's threshold while the app runs: gen 1 collections never add up to it."""

_lock = threading.Lock()
_paused = 0
_freeze_wanted = False


def pause() -> None:
    """Turn cyclic collection off until the matching `resume` (calls nest, across threads)."""
    global _paused
    with _lock:
        _paused += 1
        gc.disable()


def resume(freeze: bool = False) -> None:
    """Undo one `pause`. The last one turns collection back on, first freezing what is alive if this or an
    overlapping `resume` asked for it (a worker's index must be frozen even if a theme switch ends last)."""
    global _paused, _freeze_wanted
    with _lock:
        _paused -= 1
        _freeze_wanted = _freeze_wanted or freeze
        if not _paused:
            if _freeze_wanted:
                gc.freeze()
                _freeze_wanted = False
            gc.enable()


@contextmanager
def collections_paused():
    """No cyclic collection while a worker builds the scan index or layer views, then their objects frozen
    as long-lived: they are hundreds of thousands of new objects, and the collections they set off ran on
    the worker holding the GIL, so the first paint and every key waited for them (on the 746 MB image,
    gen 0, 1 and 2 passes of 32, 34 and 71 ms while the index was built). Overlapping uses (a view built
    for the selected layer while the neighbours are prewarmed) count: collection resumes when the last ends."""
    pause()
    try:
        yield
    finally:
        resume(freeze=True)


def paused() -> bool:
    return _paused > 0


class IdleCollector:
    """Full collections only when the user is not pressing keys (see the module's docstring)."""

    def __init__(self, idle: float = 1.0, limit: int = 100) -> None:
        self.idle = idle
        self.limit = limit
        self.last_input = time.monotonic()
        self.durations: list[float] = []
        """Seconds each full collection took (the last few)."""
        self._saved: tuple[int, int, int] | None = None

    def start(self) -> None:
        if self._saved is None:
            self._saved = gc.get_threshold()
            gc.set_threshold(self._saved[0], self._saved[1], NEVER)

    def stop(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    def input(self) -> None:
        self.last_input = time.monotonic()

    def due(self) -> bool:
        pending = gc.get_count()[2]  # gen 1 collections since the last full one
        if not pending or paused() or not gc.isenabled():
            return False
        return pending >= self.limit or time.monotonic() - self.last_input >= self.idle

    def tick(self) -> float | None:
        """Run the full collection if it is due; its duration in seconds, else None."""
        if not self.due():
            return None
        started = time.perf_counter()
        gc.collect()
        took = time.perf_counter() - started
        self.durations = self.durations[-9:] + [took]
        return took
