"""The findings pane's filter (`F`): severities, categories, a rule glob and words, typed as one line.

    high+ secret rule:secret.* token

- a severity (`high`), a list (`high,critical`) or a floor (`medium+`: medium and worse);
- a category (`secret`, `miner,backdoor`);
- `rule:GLOB` on the rule id (`*` and `?` as in the ignore file);
- any other word must appear (any case) in the rule id, title, path, evidence or history line.

Headless (no Textual): the pane and its tests use it alike.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from explorer.core.findings import CATEGORIES, SEVERITIES, SEVERITY_RANK, Finding


@dataclass(frozen=True)
class FindingFilter:
    severities: frozenset[str] = frozenset()
    """Empty: any."""
    categories: frozenset[str] = frozenset()
    rule: str = ""
    """A glob on the rule id ("": any)."""
    words: tuple[str, ...] = ()
    """Lower case; each must appear in the finding's text."""

    @property
    def empty(self) -> bool:
        return not (self.severities or self.categories or self.rule or self.words)

    def matches(self, f: Finding) -> bool:
        if self.severities and f.severity not in self.severities:
            return False
        if self.categories and f.category not in self.categories:
            return False
        if self.rule and not fnmatch.fnmatchcase(f.rule_id, self.rule):
            return False
        if self.words:
            text = "\0".join((f.rule_id, f.title, f.path or "", f.evidence, f.created_by)).lower()
            return all(w in text for w in self.words)
        return True

    def text(self) -> str:
        """The filter as it is typed (what `parse` reads back)."""
        parts = []
        if self.severities:
            parts.append(",".join(s for s in SEVERITIES if s in self.severities))
        if self.categories:
            parts.append(",".join(c for c in CATEGORIES if c in self.categories))
        if self.rule:
            parts.append(f"rule:{self.rule}")
        parts.extend(self.words)
        return " ".join(parts)


def parse(text: str) -> FindingFilter:
    """A FindingFilter from what was typed (see the module docstring); never fails: an unknown word is text."""
    severities: set[str] = set()
    categories: set[str] = set()
    rule = ""
    words = []
    for word in text.split():
        low = word.lower()
        if low.startswith("rule:"):
            rule = word[5:]
            continue
        if low.endswith("+") and low[:-1] in SEVERITY_RANK:
            severities |= {s for s in SEVERITIES if SEVERITY_RANK[s] >= SEVERITY_RANK[low[:-1]]}
            continue
        names = [n for n in low.split(",") if n]
        if names and all(n in SEVERITY_RANK for n in names):
            severities |= set(names)
        elif names and all(n in CATEGORIES for n in names):
            categories |= set(names)
        else:
            words.append(low)
    return FindingFilter(frozenset(severities), frozenset(categories), rule, tuple(words))
