"""The footer, recomposed only when the keys it shows change.

Textual's Footer rebuilds all its key widgets on every focus change; on a full screen that restyle
costs tens of milliseconds per key press even when the same keys stay on show. Reads Footer's private
`_bindings_ready` (set by its bindings_changed, read by its compose); off the gate (explorer.tui.patches)
every change recomposes, as Textual's Footer does.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer

from explorer.tui import patches


class SteadyFooter(Footer):
    _shown: tuple | None = None

    def bindings_changed(self, screen: Screen) -> None:
        shown = tuple((binding.key, binding.description, enabled)
                      for (_node, binding, enabled, _tooltip) in screen.active_bindings.values() if binding.show)
        if patches.ACTIVE and self._bindings_ready and shown == self._shown:
            return
        self._shown = shown
        super().bindings_changed(screen)
