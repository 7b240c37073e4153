"""A stylesheet that parses its CSS once per theme.

On every theme switch (ctrl+t, the palette's theme list) Textual re-parses every CSS source of the app and
its widgets with the new theme's variables: 8-9 ms of the 746 MB bench image's ctrl+t, the same text parsed
again each time the user flips back. This subclass keeps the parsed rules of the last few (variables,
sources) pairs and reuses them; a change to the variables or to any source is a different key, so it never
serves stale rules. It sets the same attributes `Stylesheet.reparse` sets (pinned Textual release line).
"""

from __future__ import annotations

from collections import OrderedDict

from textual.css.model import RuleSet
from textual.css.stylesheet import Stylesheet


class ThemeStylesheet(Stylesheet):
    KEEP = 4
    """Parsed rule lists kept (light and dark, and a couple more picked from the palette)."""

    def __init__(self, *, variables: dict[str, str] | None = None) -> None:
        super().__init__(variables=variables)
        self._parsed: OrderedDict[tuple, list[RuleSet]] = OrderedDict()
        self.reparses = 0
        """How many times the CSS was actually parsed again (for tests)."""

    def reparse(self) -> None:
        key = (tuple(self._variables.items()), tuple(self.source.items()))
        rules = self._parsed.get(key)
        if rules is None:
            super().reparse()  # raises on invalid CSS, which is then not kept
            self.reparses += 1
            self._parsed[key] = self._rules
            while len(self._parsed) > self.KEEP:
                self._parsed.popitem(last=False)
            return
        self._parsed.move_to_end(key)
        self._rules = rules
        self._rules_map = None
        self._require_parse = False
