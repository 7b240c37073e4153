"""`explorer scan`: every detector over every layer; table, JSON or SARIF; --fail-on gate."""

from __future__ import annotations

import dataclasses
import os
import sys

from explorer.cli.commands import (exit_status, fetch_first_layer, layer_cache, opened, progress, report_stream,
                                   warn, warn_problems)
from explorer.core.options import Options
from explorer.core.errors import ExplorerError
from explorer.core.findings import at_least, dedupe_and_sort
from explorer.reports.ignorefile import apply_ignores, load_ignore_file, unused
from explorer.core.textsafe import json_text


def run_scan(run: Options) -> int:
    for folder in run.scan.extra_rule_dirs:
        if not os.path.isdir(folder):
            raise ExplorerError(f"--rules {folder}: no such folder")
    ignores = load_ignore_file(run.ignore_file, warn)
    options = run.scan
    from explorer.detectors.dockerfile_audit import read_dockerfile

    dockerfile = read_dockerfile(run.dockerfile) if run.dockerfile else None
    # the image is opened before the detectors load (their imports and rules take 0.1-0.2 s), and a
    # registry's first layer downloads meanwhile; rules of the user's own (--rules, --secret-rules) are
    # checked first, before any network
    detectors = _detectors(options) if options.extra_rule_dirs or options.secret_rules else None
    with opened(run.image) as source, layer_cache(run.image) as cache:
        fetch_first_layer(source, cache)
        if detectors is None:
            detectors = _detectors(options)
        from explorer.scan.engine import scan

        with progress(run.image) as callback:
            result = scan(source, detectors, options, progress=callback, cache=cache, jobs=run.image.jobs,
                          limits=run.image.limits, need_analysis=False)
        warn_problems(result.summary.problems, sys.stderr)
        for error in result.errors:
            warn(error)
        if dockerfile is not None:  # --dockerfile: its audit beside the image's findings
            from explorer.detectors.dockerfile_audit import audit

            audited = [f for f in audit(dockerfile, run.dockerfile, detectors) if f.rule_id not in options.disabled]
            result = dataclasses.replace(result, findings=dedupe_and_sort(result.findings + audited))
        kept, ignored = apply_ignores(result.findings, ignores)
        for rule in unused(ignores, result.findings):
            warn(f"{rule.origin} ({rule.rule}) matched no finding")
        kept = [f for f in kept if f.severity in run.severity]
        known = 0
        if run.baseline:
            from explorer.reports.baseline import load_baseline, without_baseline
            kept, known = without_baseline(kept, load_baseline(run.baseline))
        result = dataclasses.replace(result, findings=kept)
        write_report(result, ignored, run.format, run.output, known)
        status = exit_status(result.summary.problems)
    if status:
        return status
    return gate_status(kept, run.fail_on, run.exit_code)


def _detectors(options):
    from explorer.detectors.registry import build_detectors

    detectors = build_detectors(options)
    for line in detectors.warnings:
        warn(line)
    return detectors


def gate_status(findings, fail_on: str | None, exit_code: int | None) -> int:
    """Trivy's pairing: --fail-on SEVERITY trips on a reported finding at or above it, --exit-code N is the
    status it gives (default 1); --exit-code alone trips on any reported finding."""
    if fail_on is None and exit_code is None:
        return 0
    tripped = any(fail_on is None or at_least(f.severity, fail_on) for f in findings)
    return (1 if exit_code is None else exit_code) if tripped else 0


def write_report(result, ignored, fmt: str, output: str | None, known: int = 0) -> None:
    with report_stream(output) as out:
        if fmt in ("json", "sarif"):
            from explorer.reports.findings_json import scan_document
            from explorer.reports.sarif import sarif_document

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
            if known:
                console.print(f"{known} finding(s) left out: already in the baseline")
