"""A stylesheet that parses its CSS once per theme.

On every theme switch (ctrl+t, the palette's theme list) Textual re-parses every CSS source of the app and
its widgets with the new theme's variables: 8-9 ms of the 746 MB bench image's ctrl+t, the same text parsed
again each time the user flips back. This subclass keeps the parsed rules of the last few (variables,
sources) pairs and reuses them; a change to the variables or to any source is a different key, so it never
serves stale rules. It sets the same attributes `Stylesheet.reparse` sets (the releases of the gate,
explorer.tui.patches; off the gate the app keeps Textual's own Stylesheet and nothing is warmed).

The first switch to a theme (and the first back, since the start-up parse is not kept) still parsed: about
16 ms each, making the first ctrl+t presses the slowest keys on the bench. `missing` and `Warmer` let the
app parse both themes ahead of time, and again when a screen opened for the first time has added its CSS
(a new key): on the UI thread, a source or a few at a time between keys, so that no key waits for more than
a slice (a worker thread would hold the GIL for its whole parse, and a key arriving then waited for it).
"""

from __future__ import annotations

import itertools
import time
from collections import OrderedDict
from collections.abc import Iterable
from types import SimpleNamespace

from textual.css.model import RuleSet
from textual.css.stylesheet import CssSource, Stylesheet
from textual.dom import DOMNode
from textual.widget import Widget


def theme_variables(app, name: str) -> dict[str, str]:
    """The CSS variables `App.get_css_variables` gives while theme `name` is the current one, without
    switching to it (its code, pinned Textual release line)."""
    theme = app.get_theme(name)
    variables = theme.to_color_system().generate()
    variables = {**variables, **theme.variables}
    return {**app.get_theme_variable_defaults(), **variables}


_epochs = itertools.count(1)
"""Shared by every ThemeStylesheet (an app's stylesheet can be replaced by a copy): never one number twice."""


class ThemeStylesheet(Stylesheet):
    KEEP = 4
    """Parsed rule lists kept (light and dark, and a couple more picked from the palette)."""
    KEEP_SOURCES = 1024
    """Rule lists of single sources kept, (variables, source) -> rules: a few themes' worth (the app and its
    screens hold about 100 sources)."""

    def __init__(self, *, variables: dict[str, str] | None = None) -> None:
        self.epoch = next(_epochs)
        """Changes with anything that can change the styles of a node already styled: the variables (a
        theme), a source read from a file, an unscoped source, a scoped source whose text or priority
        changed. A new widget class's scoped DEFAULT_CSS does not change it: its rules reach only nodes of
        that class, and the first of them is styled after its CSS is added. `apply` stamps each node with it
        (patches.screens)."""
        super().__init__(variables=variables)
        self._parsed: OrderedDict[tuple, list[RuleSet]] = OrderedDict()
        self._by_source: OrderedDict[tuple, list[RuleSet]] = OrderedDict()
        """The rules of one source with one set of variables: a screen opened for the first time adds a
        source or two, and the themes' rules for the new sources are then these plus one parse of each new
        source, not a parse of all ~100 again (15-20 ms a theme on the bench image, which the warm-up,
        a slice between keys, had not finished when ctrl+t came: ctrl+t's slowest presses)."""
        self.parsed_sources = 0
        """How many sources were parsed (not served from `_by_source`), for tests."""
        self.reparses = 0
        """How many times the CSS was actually parsed again (for tests)."""
        self.merge_refreshes = False
        """Set by the app while it switches themes: update_nodes then refreshes each widget once."""

    def set_variables(self, variables: dict[str, str]) -> None:
        super().set_variables(variables)
        self.epoch = next(_epochs)

    def read(self, filename) -> None:
        super().read(filename)
        self.epoch = next(_epochs)

    def add_source(self, css: str, read_from=None, is_default_css: bool = False, tie_breaker: int = 0,
                   scope: str = "") -> None:
        before = self.source.get(read_from) if read_from is not None else None
        super().add_source(css, read_from, is_default_css, tie_breaker, scope)
        after = self.source.get(read_from) if read_from is not None else None
        if after is None or after != before and (before is not None or not scope):
            self.epoch = next(_epochs)

    def apply(self, node: DOMNode, *, animate: bool = False, cache=None) -> None:
        super().apply(node, animate=animate, cache=cache)
        node._explorer_style_epoch = self.epoch  # type: ignore[attr-defined]

    def update_nodes(self, nodes: Iterable[DOMNode], animate: bool = False) -> None:
        if not self.merge_refreshes:
            super().update_nodes(nodes, animate)
            return
        # a theme switch sets every colour of every widget, and each set called Widget.refresh: ~800 calls
        # (each finding the widget's regions) for 71 widgets, about 40% of the restyle. They are recorded
        # and made once per widget at the end, with every flag any call asked for.
        calls: dict[Widget, list] = {}
        refresh = Widget.refresh

        def record(widget: Widget, *regions, repaint: bool = True, layout: bool = False, recompose: bool = False):
            call = calls.setdefault(widget, [False, False, False, []])
            call[0] |= repaint
            call[1] |= layout
            call[2] |= recompose
            if call[3] is not None:
                call[3] = call[3] + list(regions) if regions else None  # None: the whole widget
            return widget

        Widget.refresh = record  # type: ignore[method-assign]
        try:
            super().update_nodes(nodes, animate)
        finally:
            Widget.refresh = refresh  # type: ignore[method-assign]
            for widget, (repaint, layout, recompose, regions) in calls.items():
                refresh(widget, *(regions or ()), repaint=repaint, layout=layout, recompose=recompose)

    def _parse_rules(self, css: str, read_from, is_default_rules: bool = False, tie_breaker: int = 0,
                     scope: str = "") -> list[RuleSet]:
        # Stylesheet.parse (the start-up parse, a source added later) through the cache of single sources
        source = CssSource(css, is_default_rules, tie_breaker, scope)
        return self.rules_of(tuple(self._variables.items()), super(), read_from, source)

    def rules_of(self, variables_key: tuple, parser, read_from, source: CssSource) -> list[RuleSet]:
        """The rules of one source with the variables of `variables_key`, parsed by `parser` (a stylesheet
        with those variables) unless kept. Rules with errors (invalid CSS) are returned as Textual's parse
        returns them, and not kept."""
        key = (variables_key, read_from, source)
        rules = self._by_source.get(key)
        if rules is not None:
            self._by_source.move_to_end(key)
            return rules
        css, is_default, tie_breaker, scope = source
        rules = parser._parse_rules(css, read_from=read_from, is_default_rules=is_default, tie_breaker=tie_breaker,
                                    scope=scope)
        self.parsed_sources += 1
        if not any(rule.errors for rule in rules):
            self._by_source[key] = rules
            while len(self._by_source) > self.KEEP_SOURCES:
                self._by_source.popitem(last=False)
        return rules

    def key(self, variables: dict[str, str] | None = None) -> tuple:
        """The cache key of the current sources with these variables (default: the current ones)."""
        return (tuple((self._variables if variables is None else variables).items()), tuple(self.source.items()))

    def missing(self, themes: list[dict[str, str]], skip: set[tuple] | frozenset = frozenset()) -> list[dict[str, str]]:
        """The variable sets among `themes` whose rules for the current sources are not parsed yet (and
        whose key is not in `skip`)."""
        return [variables for variables in themes
                if (key := self.key(variables)) not in self._parsed and key not in skip]

    def keep(self, key: tuple, rules: list[RuleSet]) -> None:
        if key not in self._parsed:
            self._parsed[key] = rules
            while len(self._parsed) > self.KEEP:
                self._parsed.popitem(last=False)

    def reparse(self) -> None:
        key = self.key()
        rules = self._parsed.get(key)
        if rules is None:
            parsed = self.parsed_sources
            warmer = Warmer(self, self._variables)  # the warm-up's parse, in one go: kept sources reused
            try:
                warmer.step(float("inf"))
                rules = warmer.rules
            except Exception:
                super().reparse()  # raises on invalid CSS (Textual's error, its bookkeeping), not kept
                rules = self._rules
                self.keep(key, rules)
            if self.parsed_sources != parsed:
                self.reparses += 1
        self._parsed.move_to_end(key)
        self._rules = rules
        self._rules_map = None
        self._require_parse = False


class Warmer:
    """The stylesheet's current sources parsed with other variables, a few sources per `step`, then kept.
    Its rules are those `Stylesheet.parse` makes (the same calls, in the same order, on a fresh stylesheet as
    `reparse` uses)."""

    def __init__(self, sheet: ThemeStylesheet, variables: dict[str, str]) -> None:
        self.sheet = sheet
        self.key = sheet.key(variables)
        self.done = False
        self._sources = list(sheet.source.items())
        self._next = 0
        self._scratch = Stylesheet(variables=variables)
        self.rules: list[RuleSet] = []
        """The rules parsed so far (all of them, kept by the stylesheet, once `done`)."""

    def current(self) -> bool:
        """Whether the stylesheet's sources are still those being parsed (a new screen adds some)."""
        return self.key[1] == tuple(self.sheet.source.items())

    def step(self, budget: float) -> None:
        """Parse sources until `budget` seconds have passed (at least one); keep the rules after the last.
        Raises on invalid CSS."""
        deadline = time.perf_counter() + budget
        while self._next < len(self._sources):
            read_from, source = self._sources[self._next]
            self._next += 1
            rules = self.sheet.rules_of(self.key[0], self._scratch, read_from, source)
            if any(rule.errors for rule in rules):
                raise ValueError(f"invalid CSS in {read_from}")
            self.rules.extend(rules)
            if time.perf_counter() >= deadline:
                return
        self.sheet.keep(self.key, self.rules)
        self.done = True


def default_css_sources(classes: Iterable[type]) -> list[tuple[tuple, CssSource]]:
    """The (read_from, source) pairs Textual adds to the stylesheet when a widget of each class is first
    mounted (`Widget._post_register`: `DOMNode._get_default_css`, the class and the bases it inherits CSS
    from, each with its tie-breaker and scope), without making the widgets."""
    out: dict[tuple, CssSource] = {}
    for cls in classes:
        bases = SimpleNamespace(_node_bases=DOMNode._css_bases(cls))
        for read_from, css, tie_breaker, scope in DOMNode._get_default_css(bases):  # type: ignore[arg-type]
            out.setdefault(read_from, CssSource(css, True, tie_breaker, scope))
    return list(out.items())


def widget_classes(*prefixes: str) -> list[type]:
    """Every DOMNode subclass defined in a module under one of `prefixes` (imported so far)."""
    found, todo = [], [DOMNode]
    seen: set[type] = set()
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
                if sub.__module__.startswith(prefixes):
                    found.append(sub)
    return sorted(found, key=lambda c: (c.__module__, c.__qualname__))


class SourceWarmer:
    """The default CSS of widgets not mounted yet (screens and dialogs not opened yet), parsed ahead into
    the stylesheet's kept rules of single sources, a few at a time, for each set of variables. When such a
    screen opens, Textual adds its sources and parses them: those parses are then served from what was kept
    (the first ctrl+p spent ~20 of its 90 ms parsing the palette's CSS). Sources already in the stylesheet
    are left to `Warmer`."""

    def __init__(self, sheet: ThemeStylesheet, themes: list[dict[str, str]], sources: list[tuple[tuple, CssSource]]):
        self.sheet = sheet
        self._todo = [(variables, read_from, source) for variables in themes for read_from, source in sources]
        self._parsers: dict[tuple, Stylesheet] = {}
        self.done = not self._todo

    def step(self, budget: float) -> None:
        """Parse until `budget` seconds have passed (at least one source). Invalid CSS is skipped (kept
        nowhere; its screen reports it when it opens, as before)."""
        deadline = time.perf_counter() + budget
        sheet = self.sheet
        while self._todo:
            variables, read_from, source = self._todo.pop()
            if read_from in sheet.source:
                continue
            key = tuple(variables.items())
            parser = self._parsers.get(key)
            if parser is None:
                parser = self._parsers[key] = Stylesheet(variables=variables)
            try:
                sheet.rules_of(key, parser, read_from, source)
            except Exception:
                pass
            if time.perf_counter() >= deadline:
                break
        self.done = not self._todo
