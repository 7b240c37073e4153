"""A help screen listing every binding of the app, its widgets and its screens, generated from BINDINGS.

The widget and screen classes are found by importing every module of `explorer.tui.widgets` and
`explorer.tui.screens`, so a new screen's keys are listed without touching this file.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import ModalScreen

from explorer.tui.lineview import LineView, Lines

WHERE = {"LayerTable": "layers", "FileTree": "files", "FindingsTable": "findings", "FileViewer": "preview",
         "SearchScreen": "find", "ExportScreen": "export", "HelpScreen": "help", "ConfigView": "config"}
"""Shorter names for the help table's first column; other classes show their own name."""
GENERAL = [
    ("tables", "↑ ↓ PgUp PgDn Home End", "move"),
    ("files", "↑ ↓ PgUp PgDn, enter", "move; enter expands a folder or loads the next rows of a big one"),
    ("findings", "enter", "the finding's detail view; enter there shows its file in its layer (or the config view "
                          "for config/history findings); enter on a group (g) opens or closes it"),
    ("layers", "↑ ↓", "select a layer: its files, details and changes"),
    ("anywhere", "ctrl+p", "command palette (go to a layer or finding, filters, sort, export, theme, …)"),
    ("anywhere", "ctrl+q", "quit"),
]


def ui_classes() -> list[type]:
    """Every widget and screen class of explorer.tui that declares its own BINDINGS."""
    import explorer.tui.screens
    import explorer.tui.widgets

    found: dict[str, type] = {}
    for package in (explorer.tui.widgets, explorer.tui.screens):
        for info in pkgutil.iter_modules(package.__path__):
            try:
                module = importlib.import_module(f"{package.__name__}.{info.name}")
            except Exception:  # noqa: BLE001 - one broken module must not take the help screen down
                continue
            for _name, cls in inspect.getmembers(module, inspect.isclass):
                if (issubclass(cls, DOMNode) and cls.__module__ == module.__name__
                        and "BINDINGS" in cls.__dict__):
                    found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[k] for k in sorted(found)]


def _keys(app, binding: Binding) -> str:
    shown = []
    for key in binding.key.split(","):
        one = Binding(key.strip(), binding.action, binding.description, key_display=binding.key_display)
        shown.append(app.get_key_display(one) if hasattr(app, "get_key_display") else key.strip())
    return " / ".join(shown)


def binding_rows(app) -> list[tuple[str, str, str]]:
    """(where, key, description) for the app's bindings and those of its widget and screen classes."""
    rows = []
    anywhere = getattr(type(app), "ANYWHERE", frozenset())
    for where, bindings in [("main", type(app).BINDINGS)] + [
            (WHERE.get(cls.__name__, cls.__name__), cls.__dict__["BINDINGS"]) for cls in ui_classes()]:
        for b in bindings:
            if isinstance(b, Binding):
                here = "anywhere" if where == "main" and b.action in anywhere else where
                rows.append((here, _keys(app, b), b.tooltip or b.description))
    return rows + GENERAL


def help_lines(app, width: int) -> Lines:
    """The keys table and the legend, laid out once at `width` cells: Textual would lay a rich Table out
    again for each measure and draw (the first ? took 80-170 ms on the big image); lines in a LineView
    are drawn a screenful at a time."""
    table = Table(title="explorer — keys", expand=True)
    table.add_column("where", no_wrap=True, width=9)
    table.add_column("key", style="bold", no_wrap=True, width=12)
    table.add_column("does", ratio=1)
    for where, key, text in binding_rows(app):
        table.add_row(Text(where), Text(key), Text(text))
    legend = Text.assemble(
        ("\nmain", "bold"), ": keys of the main screen (layers, findings, files); ", ("anywhere", "bold"),
        ": also over the preview and the config view.\n",
        ("File tree: ", "bold"), ("A", "bold green"), " added  ", ("M", "bold yellow"), " modified  ",
        ("D", "bold red"), " deleted by the selected layer (blank: unchanged); ", ("!H", "bold red"),
        " the worst finding on or below a path (C critical, H high, M medium, L low, I info); ",
        ("opaque", "bold magenta"), " a folder the layer made opaque (what lower layers put in it is hidden).\n",
        "A copy marked 'deleted' in findings is not visible in the final image, but its bytes still ship "
        "in the layer blob.")
    console = app.console
    lines = console.render_lines(Group(table, legend), console.options.update_width(width), pad=False)
    return Lines([Text.assemble(*((seg.text, seg.style) for seg in line if not seg.control)) for line in lines])


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close help", tooltip="Close the help screen")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; background: $background; }
    HelpScreen > LineView { width: 110; height: 90%; border: thick $accent; background: $surface; padding: 0 2; }
    """
    WIDTH = 101
    """The table's width: 110 less the border, the padding, a scrollbar and LineView's last column."""

    def compose(self) -> ComposeResult:
        yield LineView(id="keys", show_gutter=False)

    def on_mount(self) -> None:
        view = self.query_one(LineView)
        view.set_lines(help_lines(self.app, self.WIDTH))
        view.focus()
