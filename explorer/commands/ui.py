"""`explorer IMAGE`, `explorer open IMAGE` and `explorer demo`: the Textual UI.

The image is opened before the UI starts, so that bad input still gives one line and exit 2.
"""

from __future__ import annotations

import shutil
import tempfile

from explorer.sources import open_image


def run_ui(args) -> int:
    from explorer.tui.app import ExplorerApp

    cleanup = None
    if args.command == "demo":
        from explorer.demo import write_demo
        folder = tempfile.mkdtemp(prefix="explorer-demo-")
        cleanup = folder
        source = open_image(write_demo(folder))
        source.reference = "explorer demo image"
    else:
        source = open_image(args.image, args.platform)
    try:
        ExplorerApp(source).run()
    finally:
        source.close()
        if cleanup:
            shutil.rmtree(cleanup, ignore_errors=True)
    return 0
