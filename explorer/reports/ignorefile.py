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
