"""The image summary above the layer list: sizes, waste, efficiency, and how the image runs."""

from __future__ import annotations

import json

from rich.text import Text
from textual.widgets import Static

from explorer.core.units import human
from explorer.detectors.redact import redact_text
from explorer.core.textsafe import safe
from explorer.tui.index import ScanIndex
from explorer.tui.tableview import clip


def _argv(parts: tuple[str, ...]) -> str:
    return safe(redact_text(json.dumps(list(parts), ensure_ascii=False))) if parts else "-"


class SummaryPanel(Static):
    plain: str = ""
    """The text shown, without styles (for tests)."""

    def show(self, index: ScanIndex) -> None:
        analysis = index.analysis
        config = analysis.source.config
        text = Text()
        for i, (name, value, style) in enumerate((
                ("total", f"{human(index.total_size)} in {len(analysis.layers)} layers", ""),
                ("final", human(index.final_size), ""),
                ("wasted", human(index.wasted_bytes), "yellow" if index.wasted_bytes else ""),
                ("efficiency", f"{analysis.efficiency * 100:.1f}%", ""))):
            text.append(("  " if i else "") + name + " ", style="bold")
            text.append(value, style=style)
        text.append("\n")
        user = safe(config.user) if config.user else "root (not set)"
        text.append("user ", style="bold")
        text.append(user, style="bold red" if not config.user or config.user.split(":")[0] in ("root", "0") else "")
        text.append("  entrypoint ", style="bold")
        text.append(clip(_argv(config.entrypoint), 80))
        text.append("  cmd ", style="bold")
        text.append(clip(_argv(config.cmd), 80))
        self.plain = text.plain
        self.update(text)
