"""Human table of findings (rich, with every hostile string escaped and never parsed as markup)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from explorer.findings import summary
from explorer.textsafe import safe

STYLE = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan", "info": "dim"}


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
    for f in result.findings:
        where = f.path if f.source == "file" else f"{f.source}" + (f" #{f.line}" if f.line else "")
        if f.source == "dockerfile":
            where = f"{f.path}:{f.line}"
        final = "yes" if f.in_final_image else "DELETED"
        evidence = safe(f.evidence)
        if f.reason:
            evidence += f"  ({safe(f.reason)})"
        table.add_row(Text(f.severity, style=STYLE[f.severity]), Text(f.rule_id),
                      Text("-" if f.layer is None else str(f.layer)), Text(safe(where or "")),
                      Text(final, style="bold" if not f.in_final_image else ""), Text(evidence[:160]))
    console.print(table)
    counts = summary(result.findings)
    console.print(Text(", ".join(f"{n} {sev}" for sev, n in counts.items())))
