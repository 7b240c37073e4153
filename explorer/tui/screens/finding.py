"""A finding in full (enter on a finding): masked evidence, the rule and what it looks for, references,
the layer and the history line that made it, whether the final image still shows it, and every place
the same rule matched the same file; `enter` goes to the file (a member of an archive: in the archive
view), `y` copies."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from explorer.core.findings import Finding
from explorer.core.textsafe import safe
from explorer.tui.widgets.layers import SEVERITY_STYLE
from explorer.tui.widgets.keybar import KeyBar

REFERENCES = {
    "miner": ["MITRE ATT&CK T1496 Resource Hijacking: https://attack.mitre.org/techniques/T1496/"],
    "backdoor": ["MITRE ATT&CK T1505 Server Software Component: https://attack.mitre.org/techniques/T1505/",
                 "MITRE ATT&CK T1546 Event Triggered Execution: https://attack.mitre.org/techniques/T1546/"],
    "secret": ["MITRE ATT&CK T1552.001 Credentials In Files: https://attack.mitre.org/techniques/T1552/001/"],
    "suspicious": ["MITRE ATT&CK T1036 Masquerading: https://attack.mitre.org/techniques/T1036/"],
    "misconfig": ["CIS Docker Benchmark, section 4 (container images and build files): "
                  "https://www.cisecurity.org/benchmark/docker"],
    "integrity": ["OCI image spec, descriptors and digests: "
                  "https://github.com/opencontainers/image-spec/blob/main/descriptor.md"],
}
"""Background for each category (the rules themselves carry a description, not links)."""
MAX_LOCATIONS = 200


def locations(finding: Finding, findings: list[Finding]) -> list[Finding]:
    """Every finding of the same rule on the same content: the same path in any layer, or the same file
    (sha256) under any path — the copies an incident responder has to account for."""
    def same(f: Finding) -> bool:
        if f.rule_id != finding.rule_id:
            return False
        if finding.source != "file":
            return f.fingerprint == finding.fingerprint
        return f.path == finding.path or bool(finding.content_sha256 and f.content_sha256 == finding.content_sha256)
    return sorted((f for f in findings if same(f)), key=lambda f: (f.layer if f.layer is not None else -1,
                                                                  f.path or ""))


def detail_text(finding: Finding, findings: list[Finding], catalog: list[dict]) -> Text:
    f = finding
    rule = next((r for r in catalog if r.get("id") == f.rule_id), {})
    out = Text()

    def section(title: str) -> None:
        out.append(f"\n{title}\n", style="bold underline")

    def field(name: str, value: str, style: str = "") -> None:
        out.append(f"  {name}: ", style="bold")
        out.append(safe(value) + "\n", style=style)

    out.append(f" {f.severity.upper()} ", style=SEVERITY_STYLE[f.severity] + " reverse")
    out.append(f"  {safe(f.rule_id)}", style="bold")
    out.append(f"  {safe(f.title)}\n")
    field("category", f.category)
    if f.reason:
        field("severity set by", f.reason)
    section("Evidence (masked)")
    out.append("  " + (safe(f.evidence) or "(none)") + "\n")
    section("Where")
    if f.source == "file":
        field("path", (f.path or "") + (f" (line {f.line})" if f.line else ""))
    else:
        field("in", f.where)
    if f.layer is not None:
        field("layer", f"{f.layer}" + (f"  {f.layer_digest}" if f.layer_digest else ""))
    field("made by", " ".join(f.created_by.split()) or "(no history line)")
    if f.source == "file":
        field("still visible in the final image",
              "yes" if f.in_final_image else "no: a later layer deleted or replaced this copy; its bytes still "
                                             f"ship in layer {f.layer}'s blob and can be recovered",
              "" if f.in_final_image else "bold magenta")
    if f.content_sha256:
        field("file sha256", f.content_sha256)
    if f.package is not None:
        name, version, verified = f.package
        field("package", f"{name} {version}" + {True: " (content matches the package)",
                                                False: " (content does NOT match the package)",
                                                None: ""}[verified])
    field("fingerprint", f.fingerprint)
    section("Rule")
    field("id", f.rule_id)
    field("description", rule.get("description") or rule.get("title") or f.title)
    section("References")
    refs = list(rule.get("references") or []) + REFERENCES.get(f.category, [])
    for ref in refs:
        out.append(f"  - {safe(ref)}\n")
    if not refs:
        out.append("  (none)\n")
    others = locations(f, findings)
    section(f"Every location ({len(others)})")
    for other in others[:MAX_LOCATIONS]:
        mark = "→ " if other is f else "  "
        out.append(f"  {mark}layer {'-' if other.layer is None else other.layer}  {safe(other.where)}"
                   + (f":{other.line}" if other.line and other.source == "file" else ""))
        out.append("  " + ("final" if other.in_final_image else "deleted/replaced") + "\n",
                   style="" if other.in_final_image else "magenta")
    if len(others) > MAX_LOCATIONS:
        out.append(f"  … and {len(others) - MAX_LOCATIONS} more\n")
    return out


class FindingDetail(Screen[str | None]):
    """Dismisses with "goto" when enter asks for the finding's file (or config line), else None."""

    BINDINGS = [
        Binding("escape,q", "dismiss(None)", "Close", id="finding.close", tooltip="Back to the findings"),
        Binding("enter", "dismiss('goto')", "Go to file", id="finding.goto",
                tooltip="Show the finding's file in its layer (its member in the archive view for a finding "
                        "inside an archive, its line of the config view for a config or history finding)"),
        Binding("y", "copy", "Copy", id="finding.copy",
                tooltip="Copy the path, sha256, or the finding as text or JSON (evidence masked)"),
    ]
    DEFAULT_CSS = """
    FindingDetail #body { padding: 0 1; }
    """

    def __init__(self, finding: Finding, findings: list[Finding], catalog: list[dict]) -> None:
        super().__init__()
        self.finding = finding
        self._findings = findings
        self._catalog = catalog

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="scroll"):
            yield Static(detail_text(self.finding, self._findings, self._catalog), id="body")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#scroll").focus()

    def action_copy(self) -> None:
        from explorer.tui.clipboard import copy, finding_choices
        from explorer.tui.screens.copymenu import CopyMenu

        choices = finding_choices(self.finding)

        def chosen(kind: str | None) -> None:
            if kind:
                copy(self.app, kind, choices[kind])
        self.app.push_screen(CopyMenu(choices), chosen)
