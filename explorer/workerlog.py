"""Where worker processes write their stderr.

Layer readers and detection workers inherit this process's stderr. Under the TUI that is the terminal the
app draws on (Textual writes the screen to stderr), so a worker's traceback or a library's warning would be
drawn over the UI and shift it. The app diverts their stderr to a file of its own (`divert`) and says so
when anything was written there. Each worker applies the path it was started with (`apply`), first thing.
"""

from __future__ import annotations

import os

_path: str | None = None


def divert(path: str | None) -> None:
    """Workers started from now on write their stderr to `path` (appended; None: inherited, as usual)."""
    global _path
    _path = path


def target() -> str | None:
    """The path to hand to a worker being started (None: keep the inherited stderr)."""
    return _path


def apply(path: str | None) -> None:
    """In a worker: send file descriptor 2 (and so sys.stderr, tracebacks included) to `path`."""
    if path is None:
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError:
        fd = os.open(os.devnull, os.O_WRONLY)  # never the terminal the app draws on
    os.dup2(fd, 2)
    os.close(fd)
