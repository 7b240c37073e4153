"""The one shape of rule metadata: YARA rules, secret rules, heuristics, deep checks and problem rules
all describe themselves with a `RuleInfo`, and the catalog (SARIF `tool.driver.rules`) is a list of
`RuleInfo.as_dict()`.

`severity` is the rule's usual severity: some rules raise or lower it per match (the Match then says
why in `reason` when it was lowered). A rule with no separate title (a YARA rule's `description`)
uses the one text for both.
"""

from __future__ import annotations

from typing import NamedTuple

from explorer.core.findings import Match
from explorer.core.textsafe import safe

EVIDENCE_LIMIT = 200

ATTRIBUTION = ("author", "reference", "license", "score")
"""Rule metadata a third-party YARA rule carries in `meta:` that its licence may require to be shown."""


class RuleInfo(NamedTuple):
    id: str
    category: str
    severity: str
    title: str
    description: str
    attribution: tuple[tuple[str, str], ...] = ()
    """(key, value) of the ATTRIBUTION entries a rule's metadata has (third-party YARA rules); the
    catalog row and SARIF's `tool.driver.rules` carry them."""

    def match(self, evidence: str = "", *, severity: str | None = None, line: int | None = None,
              reason: str = "", title: str | None = None) -> Match:
        """A Match of this rule; evidence is made terminal-safe and cut to a readable length."""
        text = safe(evidence.strip())
        if len(text) > EVIDENCE_LIMIT:
            text = text[:EVIDENCE_LIMIT - 1] + "…"
        return Match(rule_id=self.id, category=self.category, severity=severity or self.severity,
                     title=title or self.title, evidence=text, line=line, reason=reason)

    def as_dict(self) -> dict:
        """The catalog row: id, category, severity, title, description, and the attribution keys a rule has."""
        return {"id": self.id, "category": self.category, "severity": self.severity, "title": self.title,
                "description": self.description, **dict(self.attribution)}


def titled(rid: str, category: str, severity: str, text: str) -> RuleInfo:
    """A rule whose one text is both its title and its description."""
    return RuleInfo(rid, category, severity, text, text)
