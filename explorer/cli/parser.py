"""Command line: `explorer IMAGE`, `open`, `demo`, `serve`, `scan`, `layers`, `tree`, `extract`, `diff`, `audit`,
`help`, `version`, `completion`.

Global flags (`GLOBAL_FLAGS`) are accepted before or after the command and the image: the top parser and
every command's parser carry them (the commands' copies default to SUPPRESS, so a value given before the
command is kept). A new command adds its parser with `command(sub, name, help)`; a new flag shared by every
command goes into `add_global_flags`.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import os
import sys
from typing import TYPE_CHECKING

from explorer import __version__
from explorer.core import memtune
from explorer.core.errors import ExplorerError
from explorer.core.limits import add_limit_flags

if TYPE_CHECKING:
    from explorer.core.options import Options

COMMANDS = ("open", "demo", "serve", "scan", "layers", "tree", "extract", "diff", "audit", "help", "version", "completion")
SEVERITY_NAMES = ("critical", "high", "medium", "low", "info")

SETTINGS = """settings: every flag can also come from the environment, EXPLORER_ and its long name in
capitals (EXPLORER_FAIL_ON=high, EXPLORER_NO_CACHE=1), or from a config file: explorer.toml here,
[tool.explorer] in ./pyproject.toml, or $XDG_CONFIG_HOME/explorer/config.toml (fail-on = "high";
[scan] tables for one command). A flag wins over the environment, which wins over the file."""

EXIT_CODES = """exit status:
  0       done (no finding at or above --fail-on)
  1       scan: a finding at or above --fail-on (or the status given with --exit-code)
  2       bad input or bad usage: one line on stderr says what (a damaged layer: the rest is still shown)
  3       internal error: a bug in explorer (run again with --debug for the traceback, and report it)
  128+N   stopped by signal N (130: Ctrl-C, 143: SIGTERM)"""


class UsageError(ExplorerError):
    """A command line that cannot be run: one line, exit 2; the message starts with the program's name."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's usage block and traceback-free exit, as one plain line
        raise UsageError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def add_global_flags(p: argparse.ArgumentParser, suppress: bool) -> None:
    def default(value):
        return argparse.SUPPRESS if suppress else value
    g = p.add_argument_group("global options (before or after the command and the image)")
    g.add_argument("-q", "--quiet", action="store_true", default=default(False),
                   help="no progress and no warnings on stderr (errors are still shown)")
    g.add_argument("--debug", action="store_true", default=default(False),
                   help="print the traceback behind an error")
    g.add_argument("--no-progress", dest="progress", action="store_const", const="none", default=default("auto"),
                   help="no progress on stderr")
    g.add_argument("--progress", dest="progress", choices=("auto", "plain", "none"), default=default("auto"),
                   help="progress on stderr for long commands: auto (a bar when stderr is a terminal, else "
                        "plain lines), plain (one line per layer read, for CI logs) or none (default auto)")
    g.add_argument("--no-cache", action="store_true", default=default(False),
                   help="neither use nor fill the cache folder: layer results, compiled rules, the demo "
                        "image ($EXPLORER_CACHE_DIR, else $XDG_CACHE_HOME/explorer, else ~/.cache/explorer)")
    g.add_argument("--jobs", "-j", type=_jobs, default=default(None), metavar="N",
                   help="worker processes reading layers (default: one per core, for big images; "
                        "1: everything in this process)")
    g.add_argument("--platform", metavar="OS/ARCH", default=default(None),
                   help="choose one image of a multi-platform index (from a registry, by default this "
                        "machine's, linux/ARCH, as docker and skopeo pull)")


GLOBAL_VALUE_FLAGS = frozenset({"--progress", "--jobs", "-j", "--platform"})
"""Global flags that take a value (the word after them is not the command or the image)."""


def command(sub, name: str, help: str) -> argparse.ArgumentParser:
    """A command's parser: the global flags, and the exit codes in its --help."""
    sp = sub.add_parser(name, help=help, description=help, epilog=f"{SETTINGS}\n\n{EXIT_CODES}",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_global_flags(sp, suppress=True)
    return sp


def severity(text: str) -> str:
    value = text.strip().lower()
    if value not in SEVERITY_NAMES:
        raise argparse.ArgumentTypeError(f"{text!r} is not a severity ({', '.join(SEVERITY_NAMES)})")
    return value


def severity_list(text: str) -> frozenset[str]:
    return frozenset(severity(part) for part in text.split(",") if part.strip()) or frozenset(SEVERITY_NAMES)


def gate_flags(sp: argparse.ArgumentParser, formats: tuple[str, ...]) -> None:
    """The report and gate flags that `scan` and `audit` share."""
    sp.add_argument("--format", choices=formats, default="table", type=str.lower)
    sp.add_argument("--output", "-o", metavar="FILE", help="write the report here instead of stdout")
    sp.add_argument("--severity", metavar="LIST", type=severity_list, default=frozenset(SEVERITY_NAMES),
                    help="report only findings of these severities, comma-separated, any case "
                         "(e.g. HIGH,CRITICAL; default: all)")
    sp.add_argument("--fail-on", metavar="SEVERITY", type=severity, choices=SEVERITY_NAMES,
                    help="exit 1 (or --exit-code) when a reported finding at or above this severity exists")
    sp.add_argument("--exit-code", metavar="N", type=_status, default=None,
                    help="the exit status when the gate trips (default 1); without --fail-on, the gate is any "
                         "reported finding, as in Trivy")
    sp.add_argument("--disable", metavar="RULE_ID", action="append", default=[], help="turn a rule off")


def ui_finding_flags(sp: argparse.ArgumentParser) -> None:
    """`open` and `demo` leave out what `scan` leaves out: the ignore file's findings and disabled rules."""
    from explorer.reports.ignorefile import DEFAULT_NAME
    sp.add_argument("--ignore-file", metavar="FILE",
                    help=f"accepted findings, as for scan (default: {DEFAULT_NAME} in the current folder, if "
                         "present); A in the findings appends to it")
    sp.add_argument("--disable", metavar="RULE_ID", action="append", default=[], help="turn a rule off")


def _parser() -> Parser:
    """The top parser; `.commands` maps each command to its parser."""
    p = Parser(
        prog="explorer",
        usage="explorer [options] IMAGE | explorer COMMAND [options] ...",
        description="Image layer forensic explorer: browse each layer's changes and find miners,\n"
                    "backdoors and leaked secrets in every layer. `explorer IMAGE` opens the UI.",
        epilog=f"{SETTINGS}\n\n{EXIT_CODES}", formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"explorer {__version__}")
    add_global_flags(p, suppress=False)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser, prog="explorer")
    commands: dict[str, argparse.ArgumentParser] = {}

    from explorer.sources.registry_flags import add_registry_flags

    def image_arg(sp):
        sp.add_argument("image", metavar="IMAGE",
                        help="docker-archive tar, OCI layout folder, oci-archive tar, or an image reference (the "
                             "Docker daemon when it has it, else its registry); transports docker-archive:, oci:, "
                             "oci-archive:, docker-daemon: (the daemon), docker:// and registry: (a registry), "
                             "container:NAME|ID (a container of the daemon), docker-root:DIR[:REF] (a data root "
                             "read offline), containerd-root:DIR[:NAME|:container:ID] (its images and containers) win")
        source_flags(sp)

    def source_flags(sp):
        sp.add_argument("--audit-log", metavar="FILE",
                        help="docker-root:, containerd-root: append every evidence file read to FILE (JSON lines)")
        add_limit_flags(sp)
        add_registry_flags(sp)

    sp = commands["open"] = command(sub, "open", "the Textual UI on an image (needs a terminal)")
    image_arg(sp)
    ui_finding_flags(sp)
    sp = commands["demo"] = command(sub, "demo", "the Textual UI on a built-in demo image (no daemon, no network)")
    ui_finding_flags(sp)
    sp = commands["serve"] = command(sub, "serve", "the UI in a browser, for a class (textual-serve): IMAGE, or "
                                                   "the demo image; http://127.0.0.1:8000 by default")
    from explorer.cli.serve_flags import add_serve_flags
    add_serve_flags(sp)
    source_flags(sp)

    sp = commands["scan"] = command(sub, "scan", "run every detector over every layer")
    image_arg(sp)
    gate_flags(sp, ("table", "json", "sarif"))
    sp.add_argument("--dockerfile", metavar="FILE",
                    help="also audit this Dockerfile (as `explorer audit` does): its findings join the image's")
    sp.add_argument("--baseline", metavar="FILE",
                    help="report only findings not in this earlier `scan --format json` (or sarif) report, "
                         "matched by their fingerprint")
    sp.add_argument("--rules", metavar="DIR", action="append", default=[], help="extra YARA rule folder")
    sp.add_argument("--secret-rules", metavar="FILE",
                    help="a gitleaks configuration (TOML) of extra secret rules and allowlists, run beside the built-in rules")
    from explorer.reports.ignorefile import DEFAULT_NAME
    sp.add_argument("--ignore-file", metavar="FILE",
                    help=f"accepted findings (default: {DEFAULT_NAME} in the current folder, if present)")

    sp = commands["layers"] = command(sub, "layers", "per-layer summary, efficiency, wasted bytes")
    image_arg(sp)
    sp.add_argument("--format", choices=("table", "json"), default="table", type=str.lower)
    sp.add_argument("--top", type=_count, default=10, metavar="N",
                    help="list the N files that waste the most (default 10; 0: none)")
    gate = sp.add_argument_group("efficiency gate (dive's CI rules)",
                                 "thresholds from these flags, else from a dive .dive-ci file, else dive's defaults "
                                 "(0.9, disabled, 0.1); each takes `disabled`")
    gate.add_argument("--ci", action="store_true", help="check the rules; exit 1 when one fails")
    gate.add_argument("--ci-config", metavar="FILE", help="dive's CI file (default: .dive-ci here, if present)")
    gate.add_argument("--lowest-efficiency", metavar="R", type=_rule_value(ratio=True),
                      help="fail when the efficiency is below R (0..1)")
    gate.add_argument("--highest-wasted-bytes", metavar="SIZE", type=_rule_value(ratio=False),
                      help="fail when more than SIZE bytes are wasted (20MB, 1.5GiB, 512)")
    gate.add_argument("--highest-user-wasted-percent", metavar="R", type=_rule_value(ratio=True),
                      help="fail when wasted bytes over the bytes of every layer but the first exceed R (0..1)")

    sp = commands["tree"] = command(sub, "tree", "list the merged tree as of a layer, or one layer's changes")
    image_arg(sp)
    sp.add_argument("--layer", type=int, default=None, metavar="N", help="layer index (default: the last)")
    sp.add_argument("--changes", action="store_true", help="only what layer N added, modified and deleted")
    sp.add_argument("--format", choices=("text", "json"), default="text", type=str.lower)

    sp = commands["extract"] = command(sub, "extract", "write a file (or folder) as it was in layer N")
    sp.epilog = ("exit status:\n  0  everything was written, or left out by design (device nodes, fifos, symlinks\n"
                 "     leading out of DEST, names no file system holds: each is reported)\n"
                 "  1  an entry could not be written (each is reported)\n"
                 "  2  bad input (a damaged layer included)\n\n" + SETTINGS)
    image_arg(sp)
    sp.add_argument("path", metavar="PATH", help="absolute path inside the image")
    sp.add_argument("--layer", type=int, default=None, metavar="N", help="layer index (default: the final image)")
    sp.add_argument("--output", "-o", required=True, metavar="DEST", help="file or folder to write to")

    sp = commands["diff"] = command(sub, "diff", "compare two images or containers: paths added, removed, "
                                                 "changed; new findings")
    sp.add_argument("a", metavar="A", help="the reference (an IMAGE as above, or container:NAME)")
    sp.add_argument("b", metavar="B", help="what is compared with it")
    sp.add_argument("--format", choices=("table", "json", "sarif"), default="table", type=str.lower,
                    help="sarif: the findings B has and A has not")
    sp.add_argument("--output", "-o", metavar="FILE", help="write the report here instead of stdout")
    sp.add_argument("--ui", action="store_true", help="browse the comparison in the terminal UI instead")
    sp.add_argument("--fail-on", metavar="SEVERITY", type=severity, choices=SEVERITY_NAMES,
                    help="exit 1 when B has a new finding at or above this severity")
    sp.add_argument("--disable", metavar="RULE_ID", action="append", default=[], help="turn a rule off")
    source_flags(sp)

    sp = commands["audit"] = command(sub, "audit", "the history and config rules on each instruction of a "
                                                    "Dockerfile, with its line numbers (nothing is built)")
    sp.add_argument("dockerfile", metavar="DOCKERFILE", help="the Dockerfile to audit")
    gate_flags(sp, ("table", "json", "sarif"))

    sp = commands["help"] = command(sub, "help", "this help, or a command's: explorer help COMMAND")
    sp.add_argument("topic", nargs="?", metavar="COMMAND")
    commands["version"] = command(sub, "version", "print explorer's version")
    sp = commands["completion"] = command(sub, "completion", "print a shell completion script: "
                                          "explorer completion bash > ~/.local/share/bash-completion/completions/explorer")
    sp.add_argument("shell", choices=("bash", "zsh", "fish"), metavar="SHELL", help="bash, zsh or fish")
    p.commands = commands
    return p


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of jobs")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count")
    return value


def _rule_value(ratio: bool):
    def check(text: str) -> str:
        from explorer.reports.cigate import parse_bytes, parse_ratio
        text = text.strip()
        if text.lower() != "disabled":
            try:
                (parse_ratio if ratio else parse_bytes)(text)
            except ValueError as exc:
                raise argparse.ArgumentTypeError(str(exc)) from None
        return text
    return check


def _status(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 255:
        raise argparse.ArgumentTypeError(f"{text!r} is not an exit status (0..255)")
    return value


def _command_at(argv: list[str]) -> int:
    """Where the command (or the image) is: the first word that is not a global flag or its value."""
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "--":
            i += 1
            break
        if not word.startswith("-") or word == "-":
            break
        i += 2 if word in GLOBAL_VALUE_FLAGS else 1
    return i


def _with_command(argv: list[str]) -> list[str]:
    """`explorer [global flags] IMAGE ...` is `explorer [global flags] open IMAGE ...`; a word that is
    almost a command is a typo, not an image."""
    i = _command_at(argv)
    if i >= len(argv) or argv[i] in COMMANDS:
        return argv
    word = argv[i]
    close = difflib.get_close_matches(word, COMMANDS, n=1, cutoff=0.6)
    if close and not os.path.exists(word) and not any(c in word for c in "/:.@"):
        raise UsageError(f"explorer: unknown command '{word}' (did you mean '{close[0]}'?); "
                         f"commands: {', '.join(COMMANDS)}")
    return [*argv[:i], "open", *argv[i:]]


def main(argv: list[str] | None = None, ui=None) -> int:
    """Parse and run one command line. `ui` is the terminal UI, given by explorer.main (this package never
    imports explorer.tui): `ui.open(args)` runs `open` and `demo`, `ui.compare(comparison)` runs `diff --ui`."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        parser = _parser()
        argv = _with_command(argv)
        at = _command_at(argv)
        from explorer.cli import settings as config
        config.apply(parser, argv[at] if at < len(argv) else None, frozenset(config.flag_actions(parser)))
        args = parser.parse_args(argv)
        debug = args.debug
        _apply_globals(args)
        memtune.tune()
        if args.command is None or args.command == "help":
            return _help(parser, getattr(args, "topic", None))
        if args.command == "version":
            print(f"explorer {__version__}")
            return 0
        if args.command == "completion":
            from explorer.cli.completion import script
            sys.stdout.write(script(parser, args.shell))
            return 0
        return _run(args, ui)
    except ExplorerError as exc:
        if debug:
            import traceback
            traceback.print_exc()
        prefix = "" if isinstance(exc, UsageError) else "explorer: "
        print(f"{prefix}{_one_line(str(exc))}", file=sys.stderr)
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
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - a bug: one line (the traceback with --debug), exit 3
        if debug:
            import traceback
            traceback.print_exc()
        print(f"explorer: internal error: {type(exc).__name__}: {_one_line(str(exc))} "
              f"(run again with --debug for the traceback)", file=sys.stderr)
        return 3


def _apply_globals(args) -> None:
    from explorer.cli import commands
    commands.QUIET = bool(args.quiet)
    if args.quiet:
        args.progress = "none"
    if commands.plain_or_bar(args.progress, sys.stderr) == "plain":
        from explorer.sources import daemon
        daemon.EXPORT_PROGRESS = commands.plain_export_progress(sys.stderr)


def _help(parser, topic: str | None) -> int:
    commands = parser.commands
    if topic is None:
        parser.print_help()
        return 0
    if topic not in commands:
        close = difflib.get_close_matches(topic, COMMANDS, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise UsageError(f"explorer: help: unknown command '{topic}'{hint}; commands: {', '.join(COMMANDS)}")
    commands[topic].print_help()
    return 0


def _one_line(text: str) -> str:
    from explorer.core.textsafe import safe
    return safe(" ".join(text.split()))


def _run(args, ui) -> int:
    options = options_from_args(args)
    if args.command == "layers":
        from explorer.cli.commands.layers import run_layers
        return run_layers(options)
    if args.command == "tree":
        from explorer.cli.commands.layers import run_tree
        return run_tree(options)
    if args.command == "extract":
        from explorer.cli.commands.extract import run_extract
        return run_extract(options)
    if args.command == "diff":
        from explorer.cli.commands.diff import run_diff
        return run_diff(options, ui)
    if args.command == "scan":
        from explorer.cli.commands.scan import run_scan
        return run_scan(options)
    if args.command == "audit":
        from explorer.cli.commands.audit import run_audit
        return run_audit(options)
    if args.command == "serve":  # its own flags (host, port, public URL) go no further than the server
        from explorer.cli.commands.serve import run_serve
        return run_serve(args)
    if args.command in ("open", "demo") and ui is not None:
        return ui.open(options)
    raise ExplorerError(f"unknown command {args.command}")


def options_from_args(args: argparse.Namespace) -> Options:
    """The one options object of this run, from the parsed command line (settings file applied): the
    only place that reads argparse's namespace. Flags a command does not have keep their defaults."""
    from explorer.core.options import ImageOptions, Options, ScanOptions
    from explorer.core.limits import limits_from_args
    from explorer.sources.registry_flags import registry_options

    given = {k: v for k, v in vars(args).items() if v is not None}
    image = ImageOptions(image=given.get("image", ""), platform=given.get("platform"), jobs=given.get("jobs"),
                         cache=not given.get("no_cache"), progress=given.get("progress", "auto"))
    if "max_total" in given:  # a command that opens images: the source, registry and limit flags
        image = dataclasses.replace(image, audit_log=given.get("audit_log"), registry=registry_options(args),
                                    limits=limits_from_args(args))
    scan = ScanOptions(disabled=frozenset(given.get("disable", ())), extra_rule_dirs=tuple(given.get("rules", ())),
                       secret_rules=given.get("secret_rules", ""), cache=not given.get("no_cache"))
    same = ("format", "output", "severity", "fail_on", "exit_code", "dockerfile", "baseline", "ignore_file", "top",
            "ci", "ci_config", "layer", "changes", "path", "ui")
    options = Options(command=args.command, image=image, scan=scan, quiet=bool(given.get("quiet")),
                      **{name: given[name] for name in same if name in given})
    if args.command == "diff":
        options = dataclasses.replace(options, image=dataclasses.replace(image, image=args.a),
                                      other=dataclasses.replace(image, image=args.b))
    if args.command == "layers":
        options = dataclasses.replace(options, ci_rules={
            "lowestEfficiency": args.lowest_efficiency, "highestWastedBytes": args.highest_wasted_bytes,
            "highestUserWastedPercent": args.highest_user_wasted_percent})
    return options
