"""`explorer diff A B` as JSON and as a table (every name escaped, never parsed as markup)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from explorer.core.findings import summary
from explorer.layerfs.compare import ADDED, CHANGED, REMOVED, Comparison
from explorer.core.model import FileEntry
from explorer.detectors.redact import redact_text
from explorer.reports.image import image_json
from explorer.core.textsafe import safe

SIGN = {ADDED: "+", REMOVED: "-", CHANGED: "~"}
STYLE = {ADDED: "green", REMOVED: "red", CHANGED: "yellow"}


def _side(entry: FileEntry | None, analysis) -> dict | None:
    if entry is None:
        return None
    layer = analysis.layers[entry.layer] if 0 <= entry.layer < len(analysis.layers) else None
    return {"kind": entry.kind.value, "size": entry.size, "mode": f"{entry.mode:04o}", "uid": entry.uid,
            "gid": entry.gid, "sha256": entry.digest, "linkname": entry.linkname, "layer": entry.layer,
            "created_by": redact_text(layer.ref.created_by) if layer is not None else ""}


def _layers(analysis, shared: dict[int, int], side: str) -> list[dict]:
    return [{"index": r.index, "diff_id": r.stats.diff_id or r.ref.diff_id or "",
             "created_by": redact_text(r.ref.created_by), "shared": r.index in shared,
             f"{'b' if side == 'a' else 'a'}_index": shared.get(r.index)} for r in analysis.layers]


def diff_document(cmp: Comparison) -> dict:
    shared_a = {s.a: s.b for s in cmp.shared}
    shared_b = {s.b: s.a for s in cmp.shared}
    return {
        "a": image_json(cmp.a.source),
        "b": image_json(cmp.b.source),
        "layers": {"a": _layers(cmp.a, shared_a, "a"), "b": _layers(cmp.b, shared_b, "b")},
        "paths": [{"path": c.path, "change": c.change, "differs": list(c.differs),
                   "a": _side(c.a, cmp.a), "b": _side(c.b, cmp.b)} for c in cmp.changes],
        "new_findings": [f.to_json() for f in cmp.new_findings],
        "summary": {"added": cmp.count(ADDED), "removed": cmp.count(REMOVED), "changed": cmp.count(CHANGED),
                    "unchanged": cmp.unchanged, "shared_layers": len(cmp.shared),
                    "new_findings": summary(cmp.new_findings)},
    }


def _brief(entry: FileEntry | None) -> str:
    if entry is None:
        return ""
    text = f"{entry.kind.value} {entry.mode:04o} {entry.uid}:{entry.gid} {entry.size}"
    if entry.digest:
        text += f" {entry.digest[:12]}"
    if entry.linkname:
        text += f" -> {safe(entry.linkname)}"
    return text + f" layer {entry.layer}"


def print_diff(cmp: Comparison, console: Console) -> None:
    a, b = cmp.a.source, cmp.b.source
    console.print(Text(f"A {safe(a.reference)}  {a.config.id[:19]}  {len(cmp.a.layers)} layers"))
    console.print(Text(f"B {safe(b.reference)}  {b.config.id[:19]}  {len(cmp.b.layers)} layers"))
    shared = ", ".join(f"A{s.a}=B{s.b}" for s in cmp.shared) or "none"
    console.print(Text(f"shared layers (same diff_id): {shared}"))
    if cmp.changes:
        table = Table(show_lines=False, expand=False)
        for col in ("", "path", "A", "B", "differs"):
            table.add_column(col, overflow="fold")
        for c in cmp.changes:
            table.add_row(Text(SIGN[c.change], style=STYLE[c.change]), Text(safe(c.path)), Text(_brief(c.a)),
                          Text(_brief(c.b)), Text(",".join(c.differs)))
        console.print(table)
    console.print(Text(f"{cmp.count(ADDED)} added, {cmp.count(REMOVED)} removed, {cmp.count(CHANGED)} changed, "
                       f"{cmp.unchanged} unchanged"))
    if not cmp.new_findings:
        console.print(Text("no new findings in B"))
        return
    table = Table(title=Text("findings in B, not in A"), show_lines=False, expand=False)
    for col in ("severity", "rule", "layer", "where", "evidence"):
        table.add_column(col, overflow="fold")
    for f in cmp.new_findings:
        table.add_row(Text(f.severity), Text(f.rule_id), Text("-" if f.layer is None else str(f.layer)),
                      Text(safe(f.where)), Text(safe(f.evidence)[:160]))
    console.print(table)
