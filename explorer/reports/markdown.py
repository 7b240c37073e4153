"""The findings as Markdown for a ticket: the image, the counts, and a table of findings (severity, rule,
layer, the history line that made it, path, still visible, masked evidence).

Everything in a cell comes from the image: control characters are escaped (explorer.core.textsafe) and every
character Markdown or HTML would act on is backslash-escaped, so that a hostile path cannot make a link,
an HTML tag, a mention or a new table column in the ticket.
"""

from __future__ import annotations

import re

from explorer import __version__
from explorer.core.findings import summary
from explorer.core.textsafe import safe

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~&@:$=-])")
CELL_LIMIT = 200
"""Characters of a cell kept (paths and history lines keep their start and end)."""


def md(text: str, limit: int = CELL_LIMIT) -> str:
    """`text` as inert Markdown on one line, at most about `limit` characters (cut in the middle, with …)."""
    text = " ".join(safe(text or "").split())
    if len(text) > limit:
        text = text[: limit * 2 // 3] + "…" + text[-(limit - limit * 2 // 3 - 1):]
    return _SPECIAL.sub(r"\\\1", text)


def markdown_report(result, ignored=()) -> str:
    source = result.summary.source
    counts = summary(result.findings)
    out = [f"## explorer findings: {md(source.reference)}", "",
           f"- image id: `{md(source.config.id, 80)}`",
           f"- explorer {md(__version__)}, rules sha256 `{md(result.detectors.rules_sha256[:16], 20)}`",
           "- findings: " + ", ".join(f"{n} {s}" for s, n in counts.items()) +
           (f" ({len(ignored)} accepted in the ignore file, not listed)" if ignored else ""),
           "- evidence is masked; `layer` is the layer whose copy holds the match, `still visible` says whether "
           "the final image shows that copy (when not, the bytes still ship in the layer blob)", ""]
    if not result.findings:
        out.append("No findings.")
        return "\n".join(out) + "\n"
    out += ["| severity | rule | layer | history line | path | still visible | evidence |",
            "|---|---|---|---|---|---|---|"]
    for f in result.findings:
        where = f.where
        if f.source == "file" and f.line:
            where = f"{where}:{f.line}"
        out.append("| " + " | ".join((
            f.severity, md(f.rule_id, 80), "-" if f.layer is None else str(f.layer), md(f.created_by, 120),
            md(where or ""), "yes" if f.in_final_image else "no", md(f.evidence))) + " |")
    return "\n".join(out) + "\n"
