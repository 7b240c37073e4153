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


# -- temporary files removed when the run is killed -------------------------------------------------
_temp_files: set[str] = set()
STOP_SIGNALS = ("SIGTERM", "SIGHUP", "SIGINT")


def track(path: str) -> None:
    """`path` is a temporary file of this run: removed if the run is stopped by a signal."""
    _temp_files.add(path)


def untrack(path: str) -> None:
    _temp_files.discard(path)


def remove_temp_files() -> None:
    for path in list(_temp_files):
        try:
            os.unlink(path)
        except OSError:
            pass
        _temp_files.discard(path)


def on_stop_signal(stop):
    """Until the returned function is called: SIGTERM, SIGHUP and SIGINT remove the tracked temporary files
    and call `stop(signum)` (which ends the run in order: the terminal is restored); a second signal ends
    the process at once, as that signal would by default."""
    import signal

    previous = {}

    def handler(signum, _frame):
        remove_temp_files()
        signal.signal(signum, signal.SIG_DFL)
        stop(signum)

    for name in STOP_SIGNALS:
        sig = getattr(signal, name, None)
        if sig is not None:
            try:
                previous[sig] = signal.signal(sig, handler)
            except ValueError:  # not the main thread
                pass

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)
    return restore
