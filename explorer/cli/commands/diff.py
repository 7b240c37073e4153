"""`explorer diff A B`: two sources (images, containers) compared; the findings B has and A has not."""

from __future__ import annotations

import dataclasses
import sys

from explorer.cli.commands import exit_status, layer_cache, registry_options, report_stream, warn_problems
from explorer.detectors.base import ScanOptions
from explorer.detectors.registry import build_detectors
from explorer.scan.engine import scan
from explorer.core.findings import at_least
from explorer.layerfs.compare import compare
from explorer.core.limits import limits_from_args
from explorer.sources import open_image
from explorer.core.textsafe import json_text, safe


def run_diff(args, ui=None) -> int:
    options = ScanOptions(disabled=frozenset(args.disable), max_file_scan=limits_from_args(args).max_file_scan)
    detectors = build_detectors(options)
    limits = limits_from_args(args)
    registry = registry_options(args)
    with open_image(args.a, args.platform, registry, args.audit_log) as a, \
            open_image(args.b, args.platform, registry, args.audit_log) as b, \
            layer_cache(args) as cache:
        results = []
        for source in (a, b):
            result = scan(source, detectors, options, cache=cache, jobs=args.jobs, limits=limits)
            warn_problems(result.analysis.problems, sys.stderr)
            for error in result.errors:
                print(f"explorer: warning: {safe(error)}", file=sys.stderr)
            results.append(result)
        cmp = compare(results[0].analysis, results[1].analysis, results[0].findings, results[1].findings)
        if args.ui and ui is not None:
            ui.compare(cmp)  # the terminal UI, given by explorer.main
        else:
            _write(cmp, results[1], args.format, args.output)
        status = max(exit_status(r.analysis.problems) for r in results)
    if status:
        return status
    if args.fail_on and any(at_least(f.severity, args.fail_on) for f in cmp.new_findings):
        return 1
    return 0


def _write(cmp, result_b, fmt: str, output: str | None) -> None:
    with report_stream(output) as out:
        if fmt == "json":
            from explorer.reports.diff import diff_document
            out.write(json_text(diff_document(cmp)) + "\n")
        elif fmt == "sarif":
            from explorer.reports.sarif import sarif_document
            out.write(json_text(sarif_document(dataclasses.replace(result_b, findings=cmp.new_findings))) + "\n")
        else:
            from rich.console import Console

            from explorer.reports.diff import print_diff
            tty = out.isatty()
            print_diff(cmp, Console(file=out, highlight=False, soft_wrap=False, width=None if tty else 200,
                                    color_system="auto" if tty else None))
