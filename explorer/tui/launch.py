"""`explorer IMAGE`, `explorer open IMAGE` and `explorer demo`: the Textual UI.

The image is opened before the UI starts, so that bad input still gives one line and exit 2. The demo
image is written into the cache folder on first use; with --no-cache, into a temporary folder that
goes when the UI ends.
"""

from __future__ import annotations

import contextlib
import os
import sys

from explorer.scan import workerlog
from explorer.core.errors import ExplorerError
from explorer.core.options import Options, ScanOptions
from explorer.sources import open_image

WEB_DRIVER = "textual.drivers.web_driver:WebDriver"
"""The driver `explorer serve` (textual-serve) sets in $TEXTUAL_DRIVER for the UI it starts for a browser."""


def run_ui(run: Options, layer_cache) -> int:
    """`layer_cache(run.image)`: the layer cache as the command line asked for it (a context manager; None
    with --no-cache), given by explorer.main so that the UI does not import the command line."""
    from explorer.reports.ignorefile import load_ignore_file
    ignores = load_ignore_file(run.ignore_file, None if run.quiet else _warn)  # bad file: one line, exit 2, no UI
    need_terminal()
    state = {"app": None, "signal": None}

    def stop(signum: int) -> None:
        """SIGTERM, SIGHUP, SIGINT: the app ends in order (terminal restored, temp files gone)."""
        state["signal"] = signum
        import asyncio
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if state["app"] is None or loop is None:
            raise SystemExit(128 + signum)
        loop.call_soon_threadsafe(state["app"].exit)

    restore = workerlog.on_stop_signal(stop)
    try:
        from explorer.tui.app import ExplorerApp

        image = run.image
        no_cache = not image.cache
        with contextlib.ExitStack() as stack:
            if run.command == "demo":
                from explorer.demo import cached_demo, write_demo
                path = None if no_cache else cached_demo()
                if path is None:  # --no-cache, or a cache folder that cannot hold it: a folder that goes with the UI
                    import tempfile
                    folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="explorer-demo-"))
                    path = write_demo(folder, integrity=True)
                source = open_image(path)
                source.reference = "explorer demo image"
            else:
                source = open_image(image.image, image.platform, image.registry, image.audit_log)
            stack.callback(source.close)
            _start_process_helpers()
            cache = stack.enter_context(layer_cache(image))
            state["app"] = ExplorerApp(source, ScanOptions(cache=image.cache, disabled=run.scan.disabled), cache=cache,
                                       jobs=image.jobs, limits=image.limits, ignores=ignores, ignore_file=run.ignore_file)
            state["app"].run()
    finally:
        restore()
        if state["signal"]:
            workerlog.remove_temp_files()
    return 128 + state["signal"] if state["signal"] else 0


def _warn(message: str) -> None:
    """An ignore file's warning (an expired entry), on stderr before the UI starts."""
    from explorer.core.textsafe import safe
    print(f"explorer: warning: {safe(message)}", file=sys.stderr)


def need_terminal() -> None:
    """The UI reads keys from stdin and draws on the terminal: without one it would draw into a pipe and
    wait for keys that never come. Under CI (CI=true, as CI services set it) it does not start either.
    Started by `explorer serve` for a browser, it needs neither."""
    if os.environ.get("TEXTUAL_DRIVER") == WEB_DRIVER:
        return
    if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
        raise ExplorerError("the UI does not start under CI (CI is set); "
                            "use `explorer scan IMAGE` for a report")
    if not all(stream is not None and stream.isatty() for stream in (sys.stdin, sys.stdout, sys.stderr)):
        raise ExplorerError("the UI needs a terminal on stdin, stdout and stderr; "
                            "use `explorer scan IMAGE` for a report")


def _start_process_helpers() -> None:
    """Start multiprocessing's resource tracker while sys.stderr is the real one: it passes stderr's
    descriptor to the process it spawns, and under Textual sys.stderr is a capture without one, so the
    scan's worker processes failed to start ('ValueError: bad value(s) in fds_to_keep')."""
    from multiprocessing import resource_tracker
    try:
        resource_tracker.ensure_running()
    except Exception:  # noqa: BLE001 - the scan then reads its layers in this process
        pass
