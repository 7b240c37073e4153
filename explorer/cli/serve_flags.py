"""`explorer serve`'s flags, apart from the command (building the parser imports no server code)."""

from __future__ import annotations

import argparse

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def add_serve_flags(sp) -> None:
    sp.add_argument("image", metavar="IMAGE", nargs="?", help="the image to show (default: the demo image)")
    sp.add_argument("--host", default=DEFAULT_HOST,
                    help=f"address to listen on (default {DEFAULT_HOST}: this machine only)")
    sp.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    sp.add_argument("--public-url", metavar="URL",
                    help="the address browsers use, when it is not http://HOST:PORT (a proxy in front)")


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: a port is 1 to 65535")
    return value
