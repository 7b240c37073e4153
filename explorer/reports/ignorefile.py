"""Accepted findings: a TOML file of (rule id, path glob, reason) entries.

    [[ignore]]
    rule = "secret.generic-password"      # rule id, or a glob such as "secret.*"
    path = "/usr/share/doc/**"            # optional; glob on the finding's path ("*" crosses "/")
    layer = 3                             # optional
    env = "AWS_*"                         # optional; glob on the ENV key of a config finding
    history = "*curl*| sh*"               # optional; glob on the history line of a history finding
    fingerprint = "0f3c..."               # optional; the finding's `fingerprint` in the JSON report
    expires = 2027-03-01                  # optional; from that day on the entry no longer applies
    reason = "vendor documentation"       # required

Ignored findings are left out of the report's findings and summary (and of --fail-on), and listed
under `ignored` with their reason. An entry that matched nothing, or that expired, is a warning.
A `.trivyignore` in the working folder (one rule id per line, `#` comments, Trivy's `exp:YYYY-MM-DD`
suffix) is read too, as a convenience; its unmatched ids (CVE ids, Trivy's own checks) are not warned about.
"""

from __future__ import annotations

import datetime
import fnmatch
import os
import tomllib
from dataclasses import dataclass

from explorer.core.errors import ExplorerError
from explorer.core.findings import Finding
from explorer.core.textsafe import safe

DEFAULT_NAME = ".explorer-ignore.toml"
TRIVY_NAME = ".trivyignore"


@dataclass(frozen=True)
class IgnoreRule:
    rule: str
    path: str | None
    layer: int | None
    reason: str
    env: str | None = None
    history: str | None = None
    fingerprint: str | None = None
    origin: str = ""
    """Where the entry is (`FILE: ignore entry N`) for warnings; "" for entries not warned about."""

    def matches(self, finding: Finding) -> bool:
        if not fnmatch.fnmatchcase(finding.rule_id, self.rule):
            return False
        if self.layer is not None and finding.layer != self.layer:
            return False
        if self.fingerprint is not None and finding.fingerprint != self.fingerprint:
            return False
        if self.env is not None and not (finding.source == "config" and "=" in finding.evidence
                                         and fnmatch.fnmatchcase(finding.evidence.split("=", 1)[0], self.env)):
            return False
        if self.history is not None and not (finding.source == "history"
                                             and fnmatch.fnmatchcase(finding.created_by, self.history)):
            return False
        if self.path is not None:
            return finding.path is not None and fnmatch.fnmatchcase(finding.path, self.path)
        return True


def load_ignore_file(path: str | None, warn=None, today: datetime.date | None = None) -> list[IgnoreRule]:
    """The entries of the ignore file (`path`, else .explorer-ignore.toml if present) and of .trivyignore;
    `warn(message)` is told of expired entries, which are left out."""
    today = today or datetime.date.today()
    rules = _load_trivyignore(TRIVY_NAME, warn, today) if os.path.isfile(TRIVY_NAME) else []
    if path is None:
        if not os.path.isfile(DEFAULT_NAME):
            return rules
        path = DEFAULT_NAME
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except OSError as exc:
        raise ExplorerError(f"{path}: cannot read ignore file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ExplorerError(f"{path}: not valid TOML ({exc})") from None
    for i, item in enumerate(doc.get("ignore") or [], start=1):
        if not isinstance(item, dict) or not isinstance(item.get("rule"), str):
            raise ExplorerError(f"{path}: ignore entry {i} needs a rule id")
        reason = item.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise ExplorerError(f"{path}: ignore entry {i} ({item['rule']}) needs a reason")
        layer = item.get("layer")
        if layer is not None and not isinstance(layer, int):
            raise ExplorerError(f"{path}: ignore entry {i}: layer must be a number")
        glob = item.get("path")
        if glob is not None and not isinstance(glob, str):
            raise ExplorerError(f"{path}: ignore entry {i}: path must be a string")
        extra = {}
        for key in ("env", "history", "fingerprint"):
            value = item.get(key)
            if value is not None and not isinstance(value, str):
                raise ExplorerError(f"{path}: ignore entry {i}: {key} must be a string")
            extra[key] = value
        expires = item.get("expires")
        if expires is not None and not isinstance(expires, datetime.date):
            raise ExplorerError(f"{path}: ignore entry {i}: expires must be a date (expires = 2027-03-01)")
        if isinstance(expires, datetime.datetime):
            expires = expires.date()
        if expires is not None and expires <= today:
            if warn:
                warn(f"{path}: ignore entry {i} ({item['rule']}) expired on {expires}; no longer applied")
            continue
        rules.append(IgnoreRule(item["rule"], glob, layer, reason.strip(), origin=f"{path}: ignore entry {i}",
                                **extra))
    return rules


def _load_trivyignore(path: str, warn, today: datetime.date) -> list[IgnoreRule]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError as exc:
        raise ExplorerError(f"{path}: cannot read ignore file ({exc.strerror})") from None
    rules = []
    for number, line in enumerate(lines, start=1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        expires = next((w[4:] for w in words[1:] if w.startswith("exp:")), None)
        if expires is not None:
            try:
                day = datetime.date.fromisoformat(expires)
            except ValueError:
                raise ExplorerError(f"{path}: line {number}: exp:{expires} is not a date (exp:2027-03-01)") from None
            if day <= today:
                if warn:
                    warn(f"{path}: line {number} ({words[0]}) expired on {day}; no longer applied")
                continue
        rules.append(IgnoreRule(words[0], None, None, f"listed in {path}"))
    return rules


def unused(rules: list[IgnoreRule], findings: list[Finding]) -> list[IgnoreRule]:
    """The entries (of the explorer ignore file) that match none of `findings`."""
    return [r for r in rules if r.origin and not any(r.matches(f) for f in findings)]


def apply_ignores(findings: list[Finding], rules: list[IgnoreRule]) -> tuple[list[Finding], list[tuple[Finding, str]]]:
    kept, ignored = [], []
    for finding in findings:
        rule = next((r for r in rules if r.matches(finding)), None)
        if rule is None:
            kept.append(finding)
        else:
            ignored.append((finding, rule.reason))
    return kept, ignored


def toml_string(text: str) -> str:
    """`text` as a TOML basic string (quotes, backslashes and control characters escaped)."""
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F or 0xD800 <= ord(ch) <= 0xDFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def glob_escape(text: str) -> str:
    """A glob that matches `text` alone (fnmatch's `*`, `?` and `[` taken literally)."""
    return "".join(f"[{ch}]" if ch in "*?[" else ch for ch in text)


def accept(path: str, finding: Finding, reason: str, today: datetime.date | None = None) -> str:
    """Append an entry that ignores `finding` to the ignore file at `path` (made if missing), with a comment
    saying what was accepted and when; returns the entry as written.

    A file finding is matched by its rule and exact path (a path no TOML string can hold, a name that was
    not UTF-8, by its fingerprint instead); a config or history finding by its rule and fingerprint."""
    reason = " ".join(reason.split())
    if not reason:
        raise ExplorerError("an accepted finding needs a reason")
    today = today or datetime.date.today()
    where = finding.path if finding.source == "file" else f"image {finding.source}"
    lines = ["", f"# accepted in the explorer UI on {today.isoformat()}: {finding.severity} {finding.title}",
             f"# at {where}" + (f" in layer {finding.layer}" if finding.layer is not None else "")]
    lines = [" ".join(safe(line).split()) if line else line for line in lines]
    lines += ["[[ignore]]", f"rule = {toml_string(glob_escape(finding.rule_id))}"]
    path_ok = finding.path is not None and not any(0xD800 <= ord(ch) <= 0xDFFF for ch in finding.path)
    if finding.source == "file" and path_ok:
        lines.append(f"path = {toml_string(glob_escape(finding.path))}")
    else:
        lines.append(f"fingerprint = {toml_string(finding.fingerprint)}")
    lines.append(f"reason = {toml_string(reason)}")
    entry = "\n".join(lines) + "\n"
    try:
        with open(path, "a+b") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell():
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    fh.write(b"\n")
            fh.write(entry.encode("utf-8"))
    except OSError as exc:
        raise ExplorerError(f"{path}: cannot write the ignore file ({exc.strerror})") from None
    return entry
