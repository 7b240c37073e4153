"""Findings: what the detectors report, in the shape contract.md promises."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

SEVERITIES = ("critical", "high", "medium", "low", "info")
SEVERITY_RANK = {name: rank for rank, name in enumerate(reversed(SEVERITIES))}
"""info=0 … critical=4."""
CATEGORIES = ("miner", "backdoor", "secret", "suspicious", "misconfig", "integrity")
FACT_PREFIX = "fact."
"""Rule ids of `Match`es that are facts, not findings: what a file detector learnt about a file during
the pass (a package database parsed, a file's md5) for the image-wide checks (explorer.detectors.deepchecks).
They travel with the layer's matches (and its cache row) and never become findings."""


def at_least(severity: str, floor: str) -> bool:
    return SEVERITY_RANK[severity] >= SEVERITY_RANK[floor]


@dataclass(frozen=True, slots=True)
class Match:
    """What a detector found, before the engine says where (layer, history line, final image)."""

    rule_id: str
    category: str
    severity: str
    title: str
    evidence: str = ""
    """Already masked where it quotes a secret."""
    line: int | None = None
    reason: str = ""
    """Why the severity is what it is when a rule lowered it (e.g. `documentation path`)."""
    member: str = ""
    """For a match inside an archive (explorer.detectors.archives): the member it is in, `!/a/b.txt`
    (one `!/…` per nesting level), appended to the file's path in the finding; "" for the file itself."""

    @property
    def is_fact(self) -> bool:
        return self.rule_id.startswith(FACT_PREFIX)

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"{self.rule_id}: unknown category {self.category!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"{self.rule_id}: unknown severity {self.severity!r}")


@dataclass(frozen=True, slots=True)
class Finding:
    rule_id: str
    category: str
    severity: str
    title: str
    source: str
    """`file`, `config` or `history`."""
    layer: int | None
    path: str | None
    line: int | None
    in_final_image: bool
    evidence: str
    created_by: str
    reason: str = ""
    layer_digest: str = field(default="", compare=False)
    content_sha256: str = field(default="", compare=False)
    """sha256 of the file holding the match (file findings; "" when unknown)."""
    package: tuple | None = field(default=None, compare=False)
    """(name, version, verified) of the package that owns this copy of the file, when one does:
    verified True when the content matches the package's recorded hash, False when it does not,
    None when the package records no hash this scan could check (explorer.detectors.deepchecks)."""

    @classmethod
    def from_match(cls, match: Match, *, source: str, layer: int | None, path: str | None,
                   in_final_image: bool, created_by: str, layer_digest: str = "",
                   content_sha256: str = "") -> "Finding":
        return cls(rule_id=match.rule_id, category=match.category, severity=match.severity, title=match.title,
                   source=source, layer=layer, path=path, line=match.line, in_final_image=in_final_image,
                   evidence=match.evidence, created_by=created_by, reason=match.reason,
                   layer_digest=layer_digest, content_sha256=content_sha256)

    @property
    def where(self) -> str:
        """Where the finding is, as every report and pane names it: a file's path; `config #2` (an item of
        the image config) or `history #5`; for a problem of the input (integrity findings come with source
        `config`) `layer 3 blob`, or `image` when it is not about one layer. The layer's number alone is
        `layer`, shown beside this."""
        if self.source == "file":
            return self.path or ""
        if self.source == "config" and self.layer is not None:
            return f"layer {self.layer} blob"
        if self.source == "config" and self.category == "integrity":
            return "image"
        return self.source + (f" #{self.line}" if self.line else "")

    @property
    def layer_fingerprint(self) -> str:
        """Identity within one build: rule, layer digest, path (SARIF's explorerFinding/v1)."""
        key = "\0".join((self.rule_id, self.layer_digest or str(self.layer), self.path or "", self.source))
        return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]

    @property
    def fingerprint(self) -> str:
        """Identity that survives a rebuild which did not change the offending content: the rule, where (the
        path; for the image config the key, `ENV` name or setting), and what (the file's sha256; the config
        item as shown, masked; the history line). No line number, layer number or layer digest."""
        if self.source == "file":
            where, what = self.path or "", self.content_sha256 or self.evidence
        elif self.source == "config":
            where, what = self.evidence.split("=", 1)[0], self.evidence
        else:
            where, what = "", self.created_by or self.evidence
        key = "\0".join(("v2", self.rule_id, self.source, where, what))
        return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32]

    def sort_key(self):
        return (-SEVERITY_RANK[self.severity], self.layer if self.layer is not None else -1,
                self.path or "", self.rule_id, self.source, self.line or 0)

    def to_json(self) -> dict:
        doc = {
            "rule_id": self.rule_id,
            "category": self.category,
            "severity": self.severity,
            "title": self.title,
            "source": self.source,
            "layer": self.layer,
            "path": self.path,
            "line": self.line,
            "in_final_image": self.in_final_image,
            "evidence": self.evidence,
            "created_by": self.created_by,
        }
        if self.reason:
            doc["reason"] = self.reason
        doc["fingerprint"] = self.fingerprint
        if self.package is not None:
            doc["package"] = package_json(self.package)
        return doc

    def with_severity(self, severity: str, reason: str) -> "Finding":
        return replace(self, severity=severity, reason=reason)


def package_json(package: tuple) -> dict:
    """`Finding.package` as the JSON and SARIF reports show it: name, version, and `verified` when known."""
    name, version, verified = package
    doc = {"name": name, "version": version}
    if verified is not None:
        doc["verified"] = verified
    return doc


def fact(rule_id: str, text: str) -> Match:
    """A fact (`FACT_PREFIX` rule id): what a file detector learnt, as text, for explorer.detectors.deepchecks."""
    return Match(rule_id=rule_id, category="integrity", severity="info", title=rule_id, evidence=text)


def dedupe_and_sort(findings: list[Finding]) -> list[Finding]:
    """One finding per (rule, layer, path): the first line wins; then a stable order.

    Config and history findings have no path; for them `line` tells entries apart (the history
    entry or ENV item), so it is part of their identity.
    """
    best: dict[tuple, Finding] = {}
    for f in findings:
        key = (f.rule_id, f.layer, f.path, f.source, None if f.source == "file" else f.line)
        cur = best.get(key)
        if cur is None or ((f.line or 0), f.evidence) < ((cur.line or 0), cur.evidence):
            best[key] = f
    return sorted(best.values(), key=Finding.sort_key)


def summary(findings: list[Finding]) -> dict[str, int]:
    out = {s: 0 for s in SEVERITIES}
    for f in findings:
        out[f.severity] += 1
    return out
