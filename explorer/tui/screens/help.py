"""A help screen listing every binding of the app, its widgets and its screens, generated from BINDINGS.

The widget and screen classes are found by importing every module of `explorer.tui.widgets` and
`explorer.tui.screens`, so a new screen's keys are listed without touching this file.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen

from explorer.tui.lineview import LineView, Lines

WHERE = {"LayerTable": "layers", "FileTree": "files", "FindingsTable": "findings", "FileViewer": "preview",
         "SearchScreen": "find", "ExportScreen": "export", "HelpScreen": "help", "ConfigView": "config",
         "DiffPicker": "diff pick", "LineView": "lists", "Details": "details", "CopyMenu": "copy menu",
         "FindingDetail": "finding", "ReportScreen": "report box", "PromptScreen": "question box",
         "RawLayerView": "raw tar", "ArchiveView": "archive", "TourPanel": "tour", "SpaceScreen": "wasted/largest"}
"""Names for the help table's first column; other classes show their name in words ("diff picker")."""
GENERAL = [
    ("anywhere", "tab / shift+tab", "move to the next / previous pane (layers, findings, files, details)"),
    ("tables", "↑ ↓ PgUp PgDn Home End", "move"),
    ("files", "↑ ↓ PgUp PgDn, enter", "move; enter expands a folder or loads the next rows of a big one"),
    ("findings", "enter", "the finding's detail view; enter there shows its file in its layer (a member of an "
                          "archive in the archive view, the config view for config/history findings); enter on a "
                          "group (g) opens or closes it"),
    ("layers", "↑ ↓", "select a layer: its files, details and changes"),
    ("dialogs", "enter", "confirm: export to the folder shown, write the report, answer the question box "
                         "(the findings filter, the reason to accept), open the search result, pick the version"),
    ("dialogs", "esc", "cancel and close"),
    ("mouse", "click", "focus a pane, select a row (again: open it), sort by a column's header"),
    ("mouse", "wheel", "scroll the pane under the pointer"),
    ("anywhere", "ctrl+p", "command palette (go to a layer or finding, filters, sort, export, theme, …)"),
    ("anywhere", "ctrl+q", "quit, from any screen"),
]


def _where(cls: type) -> str:
    return WHERE.get(cls.__name__) or re.sub(r"(?<!^)(?=[A-Z])", " ", cls.__name__).lower()


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
        label = app.get_key_display(one) if hasattr(app, "get_key_display") else key.strip()
        shown.append("ctrl+" + label[1:] if label.startswith("^") and len(label) > 1 else label)  # ^t: ctrl+t
    return " / ".join(shown)


def binding_rows(app) -> list[tuple[str, str, str]]:
    """(where, key, description) for the app's bindings and those of its widget and screen classes.

    An app binding that also acts over other screens is listed as `anywhere`, unless a screen binds the
    same key for itself (q closes the preview, the config view and the dialogs): then as `main`."""
    classes = ui_classes()
    taken = {key.strip() for cls in classes if issubclass(cls, Screen)
             for b in cls.__dict__["BINDINGS"] if isinstance(b, Binding) for key in b.key.split(",")}
    rows = []
    anywhere = getattr(type(app), "ANYWHERE", frozenset())
    for where, bindings in [("main", type(app).BINDINGS)] + [(_where(cls), cls.__dict__["BINDINGS"])
                                                             for cls in classes]:
        for b in bindings:
            if isinstance(b, Binding):
                shadowed = any(key.strip() in taken for key in b.key.split(","))
                here = "anywhere" if where == "main" and b.action in anywhere and not shadowed else where
                rows.append((here, _keys(app, b), b.tooltip or b.description))
    return rows + GENERAL


def help_lines(app, width: int) -> Lines:
    """The keys table and the legend, laid out once at `width` cells: Textual would lay a rich Table out
    again for each measure and draw (the first ? took 80-170 ms on the big image); lines in a LineView
    are drawn a screenful at a time."""
    rows = binding_rows(app)
    table = Table(title="explorer — keys", expand=True)
    table.add_column("where", no_wrap=True, width=max(len(r[0]) for r in rows))
    table.add_column("key", style="bold", no_wrap=True, width=min(24, max(len(r[1]) for r in rows)))
    table.add_column("does", ratio=1)
    for where, key, text in rows:
        table.add_row(Text(where), Text(key), Text(text))
    legend = Text.assemble(
        ("\nmain", "bold"), ": keys of the main screen (layers, findings, files, details); ", ("anywhere", "bold"),
        ": also over the preview and the config view. A screen's own keys come first there: q and esc close "
        "the preview, the config view, the help and the dialogs; on the main screen q leaves explorer.\n",
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
    BINDINGS = [Binding("escape,q,question_mark,f1", "dismiss", "Close help", tooltip="Close the help screen")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; background: $background; }
    HelpScreen > LineView { width: 110; max-width: 100%; height: 90%; border: thick $accent; background: $surface;
                            padding: 0 2; }
    """
    WIDTH = 101
    """The table's widest width: 110 less the border, the padding, a scrollbar and LineView's last column."""
    MARGIN = 110 - WIDTH

    def compose(self) -> ComposeResult:
        yield LineView(id="keys", show_gutter=False)

    def on_mount(self) -> None:
        self.query_one(LineView).focus()
        self._width = 0
        self._lay_out()

    def on_resize(self) -> None:
        self._lay_out()

    def _lay_out(self) -> None:
        """The lines at the width the terminal leaves (the help is installed once, the terminal can change)."""
        width = help_width(self.app)
        if width != self._width:
            self._width = width
            ready = laid_out(self.app).pop(width, None)
            self.query_one(LineView).set_lines(ready if ready is not None else help_lines(self.app, width))


def help_width(app) -> int:
    return max(30, min(HelpScreen.WIDTH, app.size.width - HelpScreen.MARGIN))


def laid_out(app) -> dict[int, Lines]:
    """The app's help lines laid out ahead, by width (see `warm`)."""
    return app.__dict__.setdefault("_help_laid_out", {})


def warm(app) -> None:
    """Lay the help out ahead for the terminal's width (on a worker thread once the scan is shown): the
    rich table takes 50-110 ms, which the first ? would otherwise wait."""
    width = help_width(app)
    if width not in laid_out(app):
        laid_out(app)[width] = help_lines(app, width)
