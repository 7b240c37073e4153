"""`explorer audit DOCKERFILE`: the history and config rules on each instruction (explorer.detectors.dockerfile_audit)."""

from __future__ import annotations

import sys
from types import SimpleNamespace

from explorer import __version__
from explorer.cli.commands.scan import gate_status
from explorer.core.options import Options, ScanOptions
from explorer.detectors.registry import build_detectors
from explorer.detectors.dockerfile_audit import audit, read_dockerfile
from explorer.core.errors import ExplorerError
from explorer.core.findings import summary
from explorer.core.textsafe import json_text, safe


def run_audit(run: Options) -> int:
    text = read_dockerfile(run.dockerfile)
    detectors = build_detectors(ScanOptions(disabled=run.scan.disabled))
    findings = [f for f in audit(text, run.dockerfile, detectors)
                if f.rule_id not in run.scan.disabled and f.severity in run.severity]
    write(findings, detectors, run.dockerfile, run.format, run.output)
    return gate_status(findings, run.fail_on, run.exit_code)


def document(findings, path: str) -> dict:
    return {"tool": {"name": "explorer", "version": __version__}, "dockerfile": path,
            "findings": [f.to_json() for f in findings], "summary": summary(findings)}


def write(findings, detectors, path: str, fmt: str, output: str | None) -> None:
    try:
        out = open(output, "w", encoding="utf-8") if output else sys.stdout
    except OSError as exc:
        raise ExplorerError(f"--output {output}: {exc.strerror}") from None
    try:
        if fmt == "json":
            out.write(json_text(document(findings, path)) + "\n")
        elif fmt == "sarif":
            from explorer.reports.sarif import sarif_document
            source = SimpleNamespace(reference=path, config=SimpleNamespace(id=""))
            result = SimpleNamespace(findings=findings, detectors=detectors, summary=SimpleNamespace(source=source))
            out.write(json_text(sarif_document(result)) + "\n")
        else:
            from rich.console import Console
            from rich.table import Table
            from rich.text import Text

            tty = out.isatty()
            console = Console(file=out, highlight=False, soft_wrap=False, width=None if tty else 200,
                              color_system="auto" if tty else None)
            if not findings:
                console.print(Text(f"{safe(path)}: no findings"))
                return
            table = Table(title=Text(f"{safe(path)}: {len(findings)} finding(s)"))
            for col in ("line", "severity", "rule", "evidence"):
                table.add_column(col, justify="right" if col == "line" else "left", overflow="fold")
            for f in sorted(findings, key=lambda f: (f.line or 0, f.rule_id)):
                table.add_row(str(f.line), f.severity, f.rule_id, Text(safe(f.evidence)))
            console.print(table)
    finally:
        if output:
            out.close()
