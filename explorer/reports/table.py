"""Human table of findings (rich, with every hostile string escaped and never parsed as markup)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from explorer.core.findings import at_least, summary
from explorer.core.textsafe import safe

STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan", "info": "dim"}


def _verified_below_high(f) -> bool:
    return f.package is not None and f.package[2] is True and not at_least(f.severity, "high")


def _collapsed(findings) -> dict[str, list]:
    """rule id -> its findings (below high) inside files verified against their package, for rules
    with more than one: the table shows them as one row (JSON and SARIF keep every one)."""
    groups: dict[str, list] = {}
    for f in findings:
        if _verified_below_high(f):
            groups.setdefault(f.rule_id, []).append(f)
    return {rule: group for rule, group in groups.items() if len(group) > 1}


def print_table(result, console: Console) -> None:
    image = result.summary
    console.print(Text(f"{safe(image.source.reference)}  {image.source.config.id[:19]}  "
                       f"{len(image.layers)} layers"))
    if not result.findings:
        console.print(Text("no findings"))
        return
    table = Table(show_lines=False, expand=False)
    for col in ("severity", "rule", "layer", "where", "final", "evidence"):
        table.add_column(col, overflow="fold")
    collapsed = _collapsed(result.findings)
    for f in result.findings:
        group = collapsed.get(f.rule_id) if _verified_below_high(f) else None
        if group is not None and group[0] is not f:
            continue  # shown in its rule's one row
        where = f.path if f.source == "file" else f"{f.source}" + (f" #{f.line}" if f.line else "")
        if f.source == "dockerfile":
            where = f"{f.path}:{f.line}"
        final = "yes" if f.in_final_image else "DELETED"
        evidence = safe(f.evidence)
        if f.reason:
            evidence += f"  ({safe(f.reason)})"
        if f.package is not None and f.package[2] is True:
            evidence += f"  (verified package file: {safe(f.package[0])} {safe(f.package[1])})"
        if group is not None:
            names = sorted({g.package[0] for g in group})
            where = (f"{len(group)} verified package files ({safe(', '.join(names[:3]))}"
                     f"{', …' if len(names) > 3 else ''}), e.g. {where}")
        table.add_row(Text(f.severity, style=STYLE[f.severity]), Text(f.rule_id),
                      Text("-" if f.layer is None else str(f.layer)), Text(safe(where or "")),
                      Text(final, style="bold" if not f.in_final_image else ""), Text(evidence[:160]))
    console.print(table)
    counts = summary(result.findings)
    console.print(Text(", ".join(f"{n} {sev}" for sev, n in counts.items())))
