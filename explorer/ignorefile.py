"""Accepted findings: a TOML file of (rule id, path glob, reason) entries.

    [[ignore]]
    rule = "secret.generic-password"      # rule id, or a glob such as "secret.*"
    path = "/usr/share/doc/**"            # optional; glob on the finding's path ("*" crosses "/")
    layer = 3                             # optional
    reason = "vendor documentation"       # required

Ignored findings are left out of the report's findings and summary (and of --fail-on), and listed
under `ignored` with their reason.
"""

from __future__ import annotations

import fnmatch
import os
import tomllib
from dataclasses import dataclass

from explorer.errors import ExplorerError
from explorer.findings import Finding

DEFAULT_NAME = ".explorer-ignore.toml"


@dataclass(frozen=True)
class IgnoreRule:
    rule: str
    path: str | None
    layer: int | None
    reason: str

    def matches(self, finding: Finding) -> bool:
        if not fnmatch.fnmatchcase(finding.rule_id, self.rule):
            return False
        if self.layer is not None and finding.layer != self.layer:
            return False
        if self.path is not None:
            return finding.path is not None and fnmatch.fnmatchcase(finding.path, self.path)
        return True


def load_ignore_file(path: str | None) -> list[IgnoreRule]:
    if path is None:
        if not os.path.isfile(DEFAULT_NAME):
            return []
        path = DEFAULT_NAME
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except OSError as exc:
        raise ExplorerError(f"{path}: cannot read ignore file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ExplorerError(f"{path}: not valid TOML ({exc})") from None
    rules = []
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
        rules.append(IgnoreRule(item["rule"], glob, layer, reason.strip()))
    return rules


def apply_ignores(findings: list[Finding], rules: list[IgnoreRule]) -> tuple[list[Finding], list[tuple[Finding, str]]]:
    kept, ignored = [], []
    for finding in findings:
        rule = next((r for r in rules if r.matches(finding)), None)
        if rule is None:
            kept.append(finding)
        else:
            ignored.append((finding, rule.reason))
    return kept, ignored
