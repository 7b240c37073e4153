"""A help screen listing every binding of the app and its widgets, generated from BINDINGS."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def binding_rows(app) -> list[tuple[str, str, str]]:
    """(where, key, description) for the app's bindings and those of its widget classes."""
    from explorer.tui.widgets.filetree import FileTree
    from explorer.tui.widgets.layers import LayerTable

    rows = []
    for where, bindings in (("anywhere", app.BINDINGS), ("layers", LayerTable.BINDINGS),
                            ("files", FileTree.BINDINGS)):
        for b in bindings:
            if isinstance(b, Binding):
                key = app.get_key_display(b) if hasattr(app, "get_key_display") else b.key
                rows.append((where, key, b.tooltip or b.description))
    rows += [("tables", "↑ ↓ PgUp PgDn", "move"), ("findings", "enter", "show the finding's file in its layer"),
             ("anywhere", "ctrl+p", "command palette (go to layer, toggle views, …)")]
    return rows


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close help")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90; height: 80%; border: thick $accent; background: $surface; padding: 1 2; }
    """

    def compose(self) -> ComposeResult:
        table = Table(title="explorer — keys", expand=True)
        table.add_column("where")
        table.add_column("key", style="bold")
        table.add_column("does")
        for where, key, text in binding_rows(self.app):
            table.add_row(Text(where), Text(key), Text(text))
        legend = Text.assemble(
            ("\nColours: ", "bold"), ("added", "green"), "  ", ("modified", "yellow"), "  ",
            ("deleted", "red strike"), "  ● finding (colour = severity)\n",
            "A copy marked 'deleted' in findings is not visible in the final image, but its bytes still ship "
            "in the layer blob.")
        with VerticalScroll():
            yield Static(table)
            yield Static(legend)
