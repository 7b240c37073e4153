"""`explorer serve [IMAGE]`: the UI in a browser, for a class (textual-serve).

textual-serve answers HTTP on --host/--port (127.0.0.1:8000 by default: loopback only, since anyone who
reaches the page drives the UI on this machine) and, for each browser that connects, starts
`explorer open IMAGE` (or `explorer demo`) under Textual's web driver. It starts that command through a
shell, so the command line is built here with every word quoted (shlex): an image name is never read
as shell syntax. The image is opened once first, so that bad input gives one line and exit 2 before
anything is served.
"""

from __future__ import annotations

import os
import shlex
import sys

from explorer.sources.registry_flags import registry_options
from explorer.core.errors import ExplorerError
from explorer.sources import open_image


def serve_command(image: str | None, platform: str | None = None, python: str = sys.executable) -> str:
    """The shell command line textual-serve runs for each browser: every word quoted."""
    argv = [python, "-m", "explorer"]
    if platform:
        argv += ["--platform", platform]
    if image is None:
        argv.append("demo")
    else:
        if os.path.exists(image):
            image = os.path.abspath(image)
        argv += ["open", "--", image]
    return shlex.join(argv)


def run_serve(args) -> int:
    try:
        from textual_serve.server import Server  # only here: its aiohttp takes seconds to import
    except ImportError:
        raise ExplorerError("explorer serve needs textual-serve: pip install textual-serve") from None
    if args.image is not None:
        open_image(args.image, args.platform, registry_options(args), args.audit_log).close()
    url = args.public_url or f"http://{args.host}:{args.port}"
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"explorer: serving on {args.host}: anyone who reaches {url} drives explorer on this machine",
              file=sys.stderr)
    print(f"explorer: open {url} in a browser (Ctrl+C stops)", file=sys.stderr)
    Server(serve_command(args.image, args.platform), host=args.host, port=args.port, title="explorer",
           public_url=args.public_url).serve()
    return 0
