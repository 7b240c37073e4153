"""Command line: `explorer IMAGE`, `open`, `demo`, `scan`, `layers`, `tree`, `extract`."""

from __future__ import annotations

import argparse
import os
import sys

from explorer import __version__, memtune
from explorer.errors import ExplorerError
from explorer.limits import add_limit_flags

COMMANDS = ("open", "demo", "scan", "layers", "tree", "extract", "help")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="explorer",
        description="Image layer forensic explorer: browse each layer's changes and find miners, "
                    "backdoors and leaked secrets in every layer.",
    )
    p.add_argument("--version", action="version", version=f"explorer {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def image_arg(sp):
        sp.add_argument("image", metavar="IMAGE",
                        help="docker-archive tar, OCI layout folder, oci-archive tar, or an image in the "
                             "Docker daemon; transports docker-archive:, oci:, oci-archive:, docker-daemon: win")
        sp.add_argument("--platform", metavar="OS/ARCH", help="choose one image of a multi-platform index")
        add_limit_flags(sp)

    def speed_args(sp):
        sp.add_argument("--no-cache", action="store_true",
                        help="neither use nor fill the layer-result cache ($EXPLORER_CACHE_DIR, else "
                             "$XDG_CACHE_HOME/explorer, else ~/.cache/explorer)")
        sp.add_argument("--jobs", "-j", type=_jobs, default=None, metavar="N",
                        help="worker processes reading layers (default: one per core, for big images; "
                             "1: everything in this process)")

    sp = sub.add_parser("open", help="the Textual UI on an image")
    image_arg(sp)
    speed_args(sp)
    sub.add_parser("demo", help="the Textual UI on a built-in demo image (no daemon, no network)")

    sp = sub.add_parser("scan", help="run every detector over every layer")
    image_arg(sp)
    sp.add_argument("--format", choices=("table", "json", "sarif"), default="table")
    sp.add_argument("--output", "-o", metavar="FILE", help="write the report here instead of stdout")
    sp.add_argument("--fail-on", metavar="SEVERITY", choices=("critical", "high", "medium", "low", "info"),
                    help="exit 1 when a finding at or above this severity exists")
    sp.add_argument("--rules", metavar="DIR", action="append", default=[], help="extra YARA rule folder")
    sp.add_argument("--disable", metavar="RULE_ID", action="append", default=[], help="turn a rule off")
    sp.add_argument("--ignore-file", metavar="FILE",
                    help="accepted findings (default: .explorer-ignore in the current folder, if present)")
    sp.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    speed_args(sp)

    sp = sub.add_parser("layers", help="per-layer summary, efficiency, wasted bytes")
    image_arg(sp)
    sp.add_argument("--format", choices=("table", "json"), default="table")
    speed_args(sp)

    sp = sub.add_parser("tree", help="list the merged tree as of a layer, or one layer's changes")
    image_arg(sp)
    sp.add_argument("--layer", type=int, default=None, metavar="N", help="layer index (default: the last)")
    sp.add_argument("--changes", action="store_true", help="only what layer N added, modified and deleted")
    sp.add_argument("--format", choices=("text", "json"), default="text")
    speed_args(sp)

    sp = sub.add_parser("extract", help="write a file (or folder) as it was in layer N",
                        epilog="exit status: 0 when everything was written or left out by design (device nodes, "
                               "fifos, symlinks leading out of DEST, names no file system holds: each is reported), "
                               "1 when an entry could not be written (each is reported), 2 on bad input "
                               "(a damaged layer included)")
    image_arg(sp)
    sp.add_argument("path", metavar="PATH", help="absolute path inside the image")
    sp.add_argument("--layer", type=int, default=None, metavar="N", help="layer index (default: the final image)")
    sp.add_argument("--output", "-o", required=True, metavar="DEST", help="file or folder to write to")
    return p


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of jobs")
    return value


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        argv.insert(0, "open")
    args = _parser().parse_args(argv)
    memtune.tune()
    if args.command is None or args.command == "help":
        _parser().print_help()
        return 0
    try:
        return _run(args)
    except ExplorerError as exc:
        print(f"explorer: {_one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("explorer: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0


def _one_line(text: str) -> str:
    from explorer.textsafe import safe
    return safe(" ".join(text.split()))


def _run(args) -> int:
    if args.command == "layers":
        from explorer.commands.layers import run_layers
        return run_layers(args)
    if args.command == "tree":
        from explorer.commands.layers import run_tree
        return run_tree(args)
    if args.command == "extract":
        from explorer.commands.extract import run_extract
        return run_extract(args)
    if args.command == "scan":
        from explorer.commands.scan import run_scan
        return run_scan(args)
    if args.command in ("open", "demo"):
        from explorer.commands.ui import run_ui
        return run_ui(args)
    raise ExplorerError(f"unknown command {args.command}")


def dump_json(doc, fh=None) -> None:
    fh = fh or sys.stdout
    from explorer.textsafe import json_text
    fh.write(json_text(doc) + "\n")
