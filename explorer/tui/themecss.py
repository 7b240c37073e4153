"""A stylesheet that parses its CSS once per theme.

On every theme switch (ctrl+t, the palette's theme list) Textual re-parses every CSS source of the app and
its widgets with the new theme's variables: 8-9 ms of the 746 MB bench image's ctrl+t, the same text parsed
again each time the user flips back. This subclass keeps the parsed rules of the last few (variables,
sources) pairs and reuses them; a change to the variables or to any source is a different key, so it never
serves stale rules. It sets the same attributes `Stylesheet.reparse` sets (pinned Textual release line).

The first switch to a theme (and the first back, since the start-up parse is not kept) still parsed: about
16 ms each, making the first ctrl+t presses the slowest keys on the bench. `missing` and `parse_for` let the
app parse both themes ahead of time on a worker while the user is idle, and again when a screen opened for
the first time has added its CSS (a new key).
"""

from __future__ import annotations

from collections import OrderedDict

from textual.css.model import RuleSet
from textual.css.stylesheet import Stylesheet


LIGHT_AND_DARK = ("textual-light", "textual-dark")
"""The themes ctrl+t switches between."""


def theme_variables(app, name: str) -> dict[str, str]:
    """The CSS variables `App.get_css_variables` gives while theme `name` is the current one, without
    switching to it (its code, pinned Textual release line)."""
    theme = app.get_theme(name)
    variables = theme.to_color_system().generate()
    variables = {**variables, **theme.variables}
    return {**app.get_theme_variable_defaults(), **variables}


class ThemeStylesheet(Stylesheet):
    KEEP = 4
    """Parsed rule lists kept (light and dark, and a couple more picked from the palette)."""

    def __init__(self, *, variables: dict[str, str] | None = None) -> None:
        super().__init__(variables=variables)
        self._parsed: OrderedDict[tuple, list[RuleSet]] = OrderedDict()
        self.reparses = 0
        """How many times the CSS was actually parsed again (for tests)."""

    def key(self, variables: dict[str, str] | None = None) -> tuple:
        """The cache key of the current sources with these variables (default: the current ones)."""
        return (tuple((self._variables if variables is None else variables).items()), tuple(self.source.items()))

    def missing(self, themes: list[dict[str, str]]) -> list[dict[str, str]]:
        """The variable sets among `themes` whose rules for the current sources are not parsed yet."""
        return [variables for variables in themes if self.key(variables) not in self._parsed]

    def parse_for(self, variables: dict[str, str]) -> tuple[tuple, list[RuleSet]]:
        """The current sources parsed with `variables`, and their key (for `keep`). Only reads this
        stylesheet, so it may run on a worker thread; raises on invalid CSS."""
        sources = list(self.source.items())
        key = (tuple(variables.items()), tuple(sources))
        stylesheet = Stylesheet(variables=variables)
        for read_from, (css, is_defaults, tie_breaker, scope) in sources:
            stylesheet.add_source(css, read_from=read_from, is_default_css=is_defaults, tie_breaker=tie_breaker,
                                  scope=scope)
        stylesheet.parse()
        return key, stylesheet.rules

    def keep(self, key: tuple, rules: list[RuleSet]) -> None:
        if key not in self._parsed:
            self._parsed[key] = rules
            while len(self._parsed) > self.KEEP:
                self._parsed.popitem(last=False)

    def reparse(self) -> None:
        key = self.key()
        rules = self._parsed.get(key)
        if rules is None:
            super().reparse()  # raises on invalid CSS, which is then not kept
            self.reparses += 1
            self.keep(key, self._rules)
            return
        self._parsed.move_to_end(key)
        self._rules = rules
        self._rules_map = None
        self._require_parse = False
