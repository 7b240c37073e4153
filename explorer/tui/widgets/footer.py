"""The footer, recomposed only when the keys it shows change.

Textual's Footer rebuilds all its key widgets on every focus change; on a full screen that restyle
costs tens of milliseconds per key press even when the same keys stay on show.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class SteadyFooter(Footer):
    _shown: tuple | None = None

    def bindings_changed(self, screen: Screen) -> None:
        shown = tuple((binding.key, binding.description, enabled)
                      for (_node, binding, enabled, _tooltip) in screen.active_bindings.values() if binding.show)
        if self._bindings_ready and shown == self._shown:
            return
        self._shown = shown
        super().bindings_changed(screen)
