"""`explorer scan`: every detector over every layer; table, JSON or SARIF; --fail-on gate."""

from __future__ import annotations

import dataclasses
import os
import sys

from explorer.commands import exit_status, layer_cache, opened, report_stream, warn_problems
from explorer.detectors.base import ScanOptions
from explorer.detectors.registry import build_detectors
from explorer.engine import scan, stderr_progress
from explorer.errors import ExplorerError
from explorer.findings import at_least
from explorer.ignorefile import apply_ignores, load_ignore_file
from explorer.limits import limits_from_args
from explorer.reports.findings_json import scan_document
from explorer.reports.sarif import sarif_document
from explorer.textsafe import json_text, safe


def run_scan(args) -> int:
    for folder in args.rules:
        if not os.path.isdir(folder):
            raise ExplorerError(f"--rules {folder}: no such folder")
    ignores = load_ignore_file(args.ignore_file)
    options = ScanOptions(disabled=frozenset(args.disable), extra_rule_dirs=tuple(args.rules),
                          max_file_scan=limits_from_args(args).max_file_scan, cache=not args.no_cache)
    detectors = build_detectors(options)
    with opened(args) as source, layer_cache(args) as cache:
        progress, stop = stderr_progress(not args.no_progress)
        try:
            result = scan(source, detectors, options, progress=progress, cache=cache, jobs=args.jobs,
                          limits=limits_from_args(args), need_analysis=False)
        finally:
            stop()
        warn_problems(result.summary.problems, sys.stderr)
        for error in result.errors:
            print(f"explorer: warning: {safe(error)}", file=sys.stderr)
        kept, ignored = apply_ignores(result.findings, ignores)
        result = dataclasses.replace(result, findings=kept)
        write_report(result, ignored, args.format, args.output)
        status = exit_status(result.summary.problems)
    if status:
        return status
    if args.fail_on and any(at_least(f.severity, args.fail_on) for f in kept):
        return 1
    return 0


def write_report(result, ignored, fmt: str, output: str | None) -> None:
    with report_stream(output) as out:
        if fmt in ("json", "sarif"):
            doc = scan_document(result, ignored) if fmt == "json" else sarif_document(result)
            out.write(json_text(doc) + "\n")
        else:
            from rich.console import Console  # only here: 25 ms of imports a JSON or SARIF run does without

            from explorer.reports.table import print_table

            tty = out.isatty()
            console = Console(file=out, highlight=False, soft_wrap=False, width=None if tty else 200,
                              color_system="auto" if tty else None)
            print_table(result, console)
            if ignored:
                console.print(f"{len(ignored)} finding(s) ignored by the ignore file")
