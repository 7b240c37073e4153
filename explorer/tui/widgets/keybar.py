"""The footer: the keys the focused widget and its screen answer to, drawn as one widget.

It shows what Textual's `Footer` shows, from the same public sources: the screen's `active_bindings` (those
with `show`, the first binding of each action), each as its key (`App.get_key_display`) and description, a
disabled key dimmed, the command palette's key on the right behind a bar; a key under the mouse is
highlighted and its tooltip shown, and a click presses it (`App.simulate_key`, as Footer's keys do). Keys
that do not fit are left out from the right, and a `…` says so (the help screen, ? or F1, lists them all).

Why not Footer: it is a container of one `FooterKey` widget per key (14 on the main screen), recomposed
whenever the keys change. Each key pays a widget's styling and drawing: on the 746 MB bench image the
footer's keys were 10-18 ms of a theme switch (ctrl+t, the slowest key), and leaving the tour, where the
focus moves and the keys change, mounted, styled and drew a new set (18 ms of key drawing alone). Here a
change of keys is one line drawn again.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget

MORE = "…"
"""Drawn after the last key that fits when some do not."""
BAR = "▏"
"""Between the keys and the command palette's key (Footer draws a `vkey` border there)."""


@dataclass(frozen=True)
class Key:
    key: str
    """The key pressed when it is clicked (the binding's first key)."""
    shown: str
    """The key as the footer shows it."""
    description: str
    enabled: bool
    tooltip: str


class KeyBar(Widget, can_focus=False):
    """One row: ` key description` for each shown binding of the screen, the palette's key on the right."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"keybar--key", "keybar--description", "keybar--hover", "keybar--bar"}
    DEFAULT_CSS = """
    KeyBar { dock: bottom; height: 1; width: 1fr; color: $footer-foreground; background: $footer-background; }
    KeyBar > .keybar--key { color: $footer-key-foreground; background: $footer-key-background; text-style: bold; }
    KeyBar > .keybar--description { color: $footer-description-foreground;
                                    background: $footer-description-background; }
    KeyBar > .keybar--hover { color: $footer-key-foreground; background: $block-hover-background; }
    KeyBar > .keybar--bar { color: $foreground 20%; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's name
        super().__init__(id=id)
        self.keys: tuple[Key, ...] = ()
        """The keys shown, left to right (not the palette's)."""
        self.palette: Key | None = None
        self.spans: list[tuple[int, int, Key]] = []
        """(first column, end column, key) of each key drawn, the palette's included (columns are terminal
        cells: a key shown as a wide character takes two)."""
        self.hover: Key | None = None
        self._strip: tuple[tuple, Strip] | None = None

    # -- which keys ------------------------------------------------------------------------
    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)
        self._read_keys(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen) -> None:
        if screen.app.app_focus and self.is_attached and screen is self.screen:
            self._read_keys(screen)

    def _read_keys(self, screen: Screen) -> None:
        app = self.app
        active = screen.active_bindings
        keys, actions = [], set()
        for _node, binding, enabled, tooltip in active.values():
            if binding.show and binding.action not in actions:
                actions.add(binding.action)
                keys.append(Key(binding.key, app.get_key_display(binding), binding.description, enabled,
                                tooltip or binding.tooltip or binding.description))
        palette = None
        if app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in active:
            _node, binding, enabled, tooltip = active[app.COMMAND_PALETTE_BINDING]
            palette = Key(binding.key, app.get_key_display(binding), binding.description, enabled,
                          binding.tooltip or binding.description)
        if (tuple(keys), palette) != (self.keys, self.palette):
            self.keys, self.palette = tuple(keys), palette
            if self.hover is not None and self.hover not in self.keys and self.hover != self.palette:
                self._set_hover(None)
            self.refresh()

    # -- drawing ---------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        styles = (self.get_component_rich_style("keybar--key", partial=True),
                  self.get_component_rich_style("keybar--description", partial=True),
                  self.get_component_rich_style("keybar--hover", partial=True),
                  self.get_component_rich_style("keybar--bar", partial=True))
        state = (width, base, styles, self.keys, self.palette, self.hover)
        if self._strip is not None and self._strip[0] == state:
            return self._strip[1]
        strip = self._draw(width, base, *styles)
        self._strip = (state, strip)
        return strip

    def _parts(self, key: Key, base: Style, key_style: Style, text_style: Style, hover: Style) -> list[Segment]:
        ground = base + hover if key == self.hover else base
        dim = Style(dim=True) if not key.enabled else None
        parts = [Segment(f" {key.shown} ", Style.chain(ground, key_style, dim) if dim else ground + key_style)]
        if key.description:
            parts.append(Segment(f"{key.description} ",
                                 Style.chain(ground, text_style, dim) if dim else ground + text_style))
        return parts

    def _draw(self, width: int, base: Style, key_style: Style, text_style: Style, hover: Style,
              bar: Style) -> Strip:
        right: list[Segment] = []
        if self.palette is not None:
            right = [Segment(BAR, base + bar), *self._parts(self.palette, base, key_style, text_style, hover),
                     Segment(" ", base)]
        right_width = sum(s.cell_length for s in right)
        if right_width > width:
            right, right_width = [], 0
        room = width - right_width
        segments: list[Segment] = []
        spans: list[tuple[int, int, Key]] = []
        used = 0
        for i, key in enumerate(self.keys):
            parts = self._parts(key, base, key_style, text_style, hover)
            size = sum(s.cell_length for s in parts)
            last = i == len(self.keys) - 1
            if used + size > room - (0 if last else cell_len(MORE)):
                if used + cell_len(MORE) <= room:
                    segments.append(Segment(MORE, base + text_style))
                    used += cell_len(MORE)
                break
            segments.extend(parts)
            spans.append((used, used + size, key))
            used += size
        if room > used:
            segments.append(Segment(" " * (room - used), base))
        if right:
            spans.append((room + cell_len(BAR), width - 1, self.palette))
            segments.extend(right)
        self.spans = spans
        return Strip(segments, width)

    # -- the mouse -------------------------------------------------------------------------
    def key_at(self, x: int) -> Key | None:
        return next((key for start, end, key in self.spans if start <= x < end), None)

    def _set_hover(self, key: Key | None) -> None:
        if key != self.hover:
            self.hover = key
            self.tooltip = key.tooltip if key is not None else None
            self.refresh()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        self._set_hover(self.key_at(event.x))

    def on_leave(self, event: events.Leave) -> None:
        self._set_hover(None)

    def on_mouse_down(self, event: events.MouseDown) -> None:
        key = self.key_at(event.x)
        if key is None:
            return
        if key.enabled:
            self.app.simulate_key(key.key)
        else:
            self.app.bell()
