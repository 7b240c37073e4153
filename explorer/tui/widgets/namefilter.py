"""The file tree's filter by name, as you type (ctrl+f, like dive's): a line above the tree.

Typing narrows the tree to the paths that match (a substring of the path, or a glob as in `/`) and
their folders; escape clears the filter and closes the line; enter goes back to the tree, filter kept.
The text typed is the user's, but it is still shown through Input (never as markup).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

DEBOUNCE = 0.15
"""Seconds of no typing before the tree is filtered again (each filter walks every path of the layer)."""


class NameFilter(Input):
    BINDINGS = [Binding("escape", "clear", "Clear filter", tooltip="Clear the filter by name and close it"),
                Binding("enter", "done", "To the tree", tooltip="Back to the file tree, the filter kept")]
    DEFAULT_CSS = "NameFilter { height: 3; border: round $accent; }"

    @dataclass
    class Wanted(Message):
        """The tree should show only paths matching `name` ("" : every path)."""

        name: str

    def __init__(self, **kwargs) -> None:
        super().__init__(placeholder="filter the tree: part of a path, or a glob (*.so, *id_rsa*); esc clears",
                         **kwargs)
        self.border_title = "Filter by name (ctrl+f)"
        self._posted = ""
        self._timer = None

    def show_name(self, name: str) -> None:
        """Show `name` when the app's filter changed elsewhere (`0`, a jump that clears the filters), without
        asking for it again; the name this line asked for leaves what was typed since alone."""
        if name == self._posted:
            return
        self._posted = name
        if self.value != name:
            self.value = name
        self.display = bool(name) or self.has_focus

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self._timer is not None:
            self._timer.stop()
        if event.value != self._posted:
            self._timer = self.set_timer(DEBOUNCE, self._post)

    def _post(self) -> None:
        if self.value != self._posted:
            self._posted = self.value
            self.post_message(self.Wanted(self.value))

    def action_clear(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self.value = ""
        self._posted = ""
        self.post_message(self.Wanted(""))
        self.display = False
        self.app.action_focus_tree()

    def action_done(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self.app.action_focus_tree()
        self.call_after_refresh(self._post)  # the focus shows at once; the matches follow (as after typing)
