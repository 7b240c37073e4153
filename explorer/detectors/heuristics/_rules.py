"""The rule records every heuristic declares, and the one way heuristics build a Match.

Each detector class lists the rules it can emit in `RULES`; `heuristic_rule_catalog()` is the union
(for SARIF `tool.driver.rules`). `severity` there is the rule's usual severity: some rules raise or
lower it per match (the Match then says why in `reason` when it was lowered).
"""

from __future__ import annotations

from typing import NamedTuple

from explorer.core.findings import Match
from explorer.core.textsafe import safe

EVIDENCE_LIMIT = 200


class RuleInfo(NamedTuple):
    id: str
    category: str
    severity: str
    title: str
    description: str

    def match(self, evidence: str = "", *, severity: str | None = None, line: int | None = None,
              reason: str = "", title: str | None = None) -> Match:
        """A Match of this rule; evidence is made terminal-safe and cut to a readable length."""
        text = safe(evidence.strip())
        if len(text) > EVIDENCE_LIMIT:
            text = text[:EVIDENCE_LIMIT - 1] + "…"
        return Match(rule_id=self.id, category=self.category, severity=severity or self.severity,
                     title=title or self.title, evidence=text, line=line, reason=reason)
