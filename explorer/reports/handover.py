"""What the UI hands over: a finding as text or JSON for the clipboard, and the findings report (the
documents `explorer scan --format json|sarif` writes, or Markdown for a ticket), which the UI writes
through the confined writer (explorer.export.new_file: a new file, never one overwritten, never through
a symlink).

Evidence is masked by the detectors and history lines by the engine before a Finding exists: nothing
here can unmask a secret.
"""

from __future__ import annotations

import dataclasses

from explorer.core.findings import Finding
from explorer.core.textsafe import json_text, safe

FORMATS = {"sarif": "sarif", "json": "json", "markdown": "md"}
"""Report formats and their file extensions."""
REPORT_STEM = "explorer-report"
MAX_NAMES = 100
"""explorer-report.sarif, explorer-report-2.sarif, …: tried in turn; past this many, give up."""


def finding_json(f: Finding) -> str:
    """The finding as `scan --format json` lists it, with its layer digest and file sha256."""
    doc = f.to_json()
    if f.layer_digest:
        doc["layer_digest"] = f.layer_digest
    if f.content_sha256:
        doc["sha256"] = f.content_sha256
    return json_text(doc)


def finding_text(f: Finding) -> str:
    """The finding in a few plain lines for a chat or a ticket (terminal-safe: control characters escaped)."""
    lines = [f"[{f.severity}] {f.rule_id}: {f.title}"]
    if f.source == "file":
        lines.append(f"path: {f.path}" + (f" (line {f.line})" if f.line else ""))
    else:
        lines.append(f"in: image {f.source}" + (f" #{f.line}" if f.line else ""))
    if f.layer is not None:
        lines.append(f"layer: {f.layer}" + (f" ({f.layer_digest})" if f.layer_digest else ""))
    if f.created_by:
        lines.append(f"made by: {' '.join(f.created_by.split())}")
    lines.append("still visible in the final image: " + ("yes" if f.in_final_image else
                                                          "no (deleted or replaced; the bytes still ship)"))
    if f.evidence:
        lines.append(f"evidence (masked): {f.evidence}")
    if f.content_sha256:
        lines.append(f"sha256: {f.content_sha256}")
    if f.reason:
        lines.append(f"note: {f.reason}")
    lines.append(f"fingerprint: {f.fingerprint}")
    return "\n".join(safe(line) for line in lines)


def report_text(result, findings: list[Finding], ignored, fmt: str) -> str:
    """The report of `result` with these `findings` (the ignore file applied), as `scan` writes it."""
    result = dataclasses.replace(result, findings=findings)
    if fmt == "sarif":
        from explorer.reports.sarif import sarif_document
        return json_text(sarif_document(result)) + "\n"
    if fmt == "json":
        from explorer.reports.findings_json import scan_document
        return json_text(scan_document(result, ignored)) + "\n"
    from explorer.reports.markdown import markdown_report
    return markdown_report(result, ignored)


def report_names(fmt: str) -> list[str]:
    """The names a report of `fmt` is written under, in the order tried: explorer-report.EXT, then -2, -3…"""
    return [f"{REPORT_STEM}{'' if n == 1 else f'-{n}'}.{FORMATS[fmt]}" for n in range(1, MAX_NAMES + 1)]
