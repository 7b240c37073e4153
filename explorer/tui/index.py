"""A read-only index over a finished scan, shaped for the screens (no Textual import)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from explorer.engine import ScanResult
from explorer.findings import SEVERITY_RANK, Finding
from explorer.layerfs.tree import parent_of
from explorer.model import FileEntry


@dataclass
class LayerIndex:
    added: set[str] = field(default_factory=set)
    modified: set[str] = field(default_factory=set)
    deleted: dict[str, FileEntry] = field(default_factory=dict)
    """Deleted path → the copy that was removed."""
    changed_dirs: set[str] = field(default_factory=set)
    """Every ancestor of a changed path (to build the changes-only tree)."""


class ScanIndex:
    def __init__(self, result: ScanResult):
        self.result = result
        self.analysis = result.analysis
        self.layers: list[LayerIndex] = []
        for report in self.analysis.layers:
            li = LayerIndex()
            ch = report.changes
            li.added = {e.path for e in ch.added}
            li.modified = {new.path for _old, new in ch.modified}
            li.deleted = {e.path: e for e in ch.deleted}
            for path in li.added | li.modified | set(li.deleted):
                p = parent_of(path)
                while p and p not in li.changed_dirs:
                    li.changed_dirs.add(p)
                    p = parent_of(p)
            self.layers.append(li)
        self.by_path: dict[tuple[int | None, str | None], list[Finding]] = defaultdict(list)
        self.by_layer: dict[int | None, list[Finding]] = defaultdict(list)
        self.paths_with_findings: dict[int, set[str]] = defaultdict(set)
        for f in result.findings:
            self.by_path[(f.layer, f.path)].append(f)
            self.by_layer[f.layer].append(f)
            if f.path:
                p = f.path
                while p:
                    self.paths_with_findings[f.layer].add(p)
                    p = parent_of(p)

    def worst(self, layer: int | None) -> str | None:
        findings = self.by_layer.get(layer) or []
        if not findings:
            return None
        return max(findings, key=lambda f: SEVERITY_RANK[f.severity]).severity

    def findings_at(self, layer: int, path: str) -> list[Finding]:
        return list(self.by_path.get((layer, path), []))

    def findings_for_path(self, path: str) -> list[Finding]:
        return [f for (layer, p), fs in self.by_path.items() if p == path for f in fs]
