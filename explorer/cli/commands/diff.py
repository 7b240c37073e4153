"""`explorer diff A B`: two sources (images, containers) compared; the findings B has and A has not."""

from __future__ import annotations

import dataclasses
import sys

from explorer.cli.commands import exit_status, layer_cache, progress, report_stream, warn_problems
from explorer.core.options import Options, ScanOptions
from explorer.detectors.registry import build_detectors
from explorer.scan.engine import scan
from explorer.core.findings import at_least
from explorer.layerfs.compare import compare
from explorer.sources import open_image
from explorer.core.textsafe import json_text, safe


def run_diff(run: Options, ui=None) -> int:
    options = ScanOptions(disabled=run.scan.disabled)
    detectors = build_detectors(options)
    one, other = run.image, run.other
    with open_image(one.image, one.platform, one.registry, one.audit_log) as a, \
            open_image(other.image, other.platform, other.registry, other.audit_log) as b, \
            layer_cache(one) as cache:
        results = []
        for source in (a, b):
            with progress(one) as callback:
                result = scan(source, detectors, options, progress=callback, cache=cache, jobs=one.jobs,
                              limits=one.limits)
            warn_problems(result.analysis.problems, sys.stderr)
            for error in result.errors:
                print(f"explorer: warning: {safe(error)}", file=sys.stderr)
            results.append(result)
        cmp = compare(results[0].analysis, results[1].analysis, results[0].findings, results[1].findings)
        if run.ui and ui is not None:
            ui.compare(cmp)  # the terminal UI, given by explorer.main
        else:
            _write(cmp, results[1], run.format, run.output)
        status = max(exit_status(r.analysis.problems) for r in results)
    if status:
        return status
    if run.fail_on and any(at_least(f.severity, run.fail_on) for f in cmp.new_findings):
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
