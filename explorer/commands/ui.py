"""`explorer IMAGE`, `explorer open IMAGE` and `explorer demo`: the Textual UI.

The image is opened before the UI starts, so that bad input still gives one line and exit 2. The demo
image is written into the user cache on first use.
"""

from __future__ import annotations

from explorer.commands import layer_cache
from explorer.detectors.base import ScanOptions
from explorer.limits import limits_from_args
from explorer.sources import open_image


def run_ui(args) -> int:
    from explorer.tui.app import ExplorerApp

    if args.command == "demo":
        from explorer.demo import cached_demo
        source = open_image(cached_demo())
        source.reference = "explorer demo image"
    else:
        source = open_image(args.image, args.platform, args.audit_log)
    _start_process_helpers()
    try:
        with layer_cache(args) as cache:
            limits = limits_from_args(args)
            ExplorerApp(source, ScanOptions(max_file_scan=limits.max_file_scan), cache=cache,
                        jobs=getattr(args, "jobs", None), limits=limits).run()
    finally:
        source.close()
    return 0


def _start_process_helpers() -> None:
    """Start multiprocessing's resource tracker while sys.stderr is the real one: it passes stderr's
    descriptor to the process it spawns, and under Textual sys.stderr is a capture without one, so the
    scan's worker processes failed to start ('ValueError: bad value(s) in fds_to_keep')."""
    from multiprocessing import resource_tracker
    try:
        resource_tracker.ensure_running()
    except Exception:  # noqa: BLE001 - the scan then reads its layers in this process
        pass
