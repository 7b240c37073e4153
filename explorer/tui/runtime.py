"""The app's runtime policy, apart from what it shows: `ExplorerApp` (explorer.tui.app) composes the panes and
routes screens and keys; this base class decides how it runs.

- the terminal driver (a lone Escape delivered when ESCDELAY ends, explorer.tui.patches.driver);
- when the cyclic garbage collector may run (explorer.tui.gcpolicy): full collections between keys, none
  during a theme switch's restyle;
- the theme CSS parsed ahead of time, a slice at a time between keys (explorer.tui.patches.themecss);
- a screen opened for the first time styled once, not twice (explorer.tui.patches.screens);
- where the worker processes' stderr goes while the app draws on the terminal (explorer.scan.workerlog).

The subclass calls `start_runtime` from its on_mount and sets `timings["first_paint"]` once the layers are
drawn (the theme warm-up waits for it).
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import suppress

from textual import events
from textual.app import App

from explorer.scan import workerlog
from explorer.core.textsafe import safe
from explorer.tui.gcpolicy import IdleCollector, pause, resume
from explorer.tui import patches
from explorer.tui.patches import screens
from explorer.tui.patches.themecss import (SourceWarmer, ThemeStylesheet, Warmer, default_css_sources, theme_variables,
                                           widget_classes)

LIGHT_AND_DARK = ("explorer-light", "textual-dark")
"""The themes ctrl+t switches between (and the warm-up parses ahead of time)."""
WARM_SLICE = 0.002
"""Seconds of theme CSS parsing per idle tick (a key arriving meanwhile waits at most about this)."""


class RuntimePolicy(App[None]):
    """An App with explorer's runtime policy (driver, collections, theme warm-up, worker log)."""

    def __init__(self) -> None:
        super().__init__()
        if patches.ACTIVE:  # else Textual's Stylesheet: every theme switch parses again
            self.stylesheet = ThemeStylesheet(variables=self.get_css_variables())  # no sources: read at start
            screens.install()  # a new screen styled once (it reads the stylesheet's epoch)
        self.timings: dict[str, float] = {}
        """Seconds: `scan` (mount to result), `first_paint` (result to the layer list and tree drawn)."""
        self.collector = IdleCollector()
        """Full garbage collections between key presses, not during them (explorer.tui.gcpolicy)."""
        self._theme_vars: list[dict[str, str]] = []
        self._warmer: Warmer | None = None
        self._themes_failed: set[tuple] = set()
        self._source_warmer: SourceWarmer | None = None
        self.warm_after = 0.2
        """Seconds without a key before the theme warm-up takes a slice (tests raise it)."""
        self._worker_log: str | None = None
        """Where the worker processes' stderr goes while the app runs (explorer.scan.workerlog)."""
        self._css_pauses = 0
        """Collection pauses of CSS refreshes (theme switches) not yet drawn."""

    def get_driver_class(self):
        """Textual's driver for this terminal; on Linux and macOS the one that delivers a lone Escape
        when ESCDELAY ends (explorer.tui.patches.driver), not up to 100 ms later (while the gate is open)."""
        driver = super().get_driver_class()
        if (patches.ACTIVE and driver.__module__ == "textual.drivers.linux_driver"
                and driver.__name__ == "LinuxDriver"):
            from explorer.tui.patches.driver import PromptEscapeDriver
            return PromptEscapeDriver
        return driver

    def start_runtime(self) -> None:
        """At mount: the idle collector and its timer (which also warms the themes), the worker log."""
        self.collector.start()
        self.set_interval(0.25, self._collect_when_idle)
        self._worker_log = _worker_log()

    def on_unmount(self) -> None:
        self.collector.stop()
        while self._css_pauses:
            self._css_drawn()
        workerlog.divert(None)
        if self._worker_log and _size(self._worker_log) == 0:
            with suppress(OSError):
                os.unlink(self._worker_log)
        if self._worker_log:
            workerlog.untrack(self._worker_log)  # kept on purpose when written (the app said where)

    def _worker_messages(self) -> None:
        """Say where the worker processes' messages went, if they wrote any (explorer.scan.workerlog)."""
        if self._worker_log and _size(self._worker_log):
            self.notify(f"worker processes wrote messages to {safe(self._worker_log)}", severity="warning",
                        timeout=10, markup=False)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self.collector.input()
        await super().on_event(event)

    def refresh_css(self, animate: bool = True) -> None:
        # a theme switch restyles and redraws every widget: no young collections until that is drawn
        pause()
        self._css_pauses += 1
        stylesheet = self.stylesheet
        merge = isinstance(stylesheet, ThemeStylesheet)
        if merge:
            stylesheet.merge_refreshes = True
        try:
            super().refresh_css(animate)
        finally:
            if merge:
                stylesheet.merge_refreshes = False
            if not self.call_after_refresh(self._css_drawn):
                self._css_drawn()

    def _css_drawn(self) -> None:
        if self._css_pauses:  # (on_unmount ends those whose refresh never came)
            self._css_pauses -= 1
            resume()

    def _collect_when_idle(self) -> None:
        took = self.collector.tick()
        if took is not None:
            self.log(f"full garbage collection while idle: {took * 1000:.1f} ms")
        self._warm_themes()

    def _warm_themes(self) -> None:
        """Have the light and dark themes' CSS parsed for the current sources before ctrl+t asks (see
        patches.themecss): once the layers are shown, a slice of WARM_SLICE seconds per tick on the UI thread,
        when no key has come for `warm_after` seconds."""
        stylesheet = self.stylesheet
        if not isinstance(stylesheet, ThemeStylesheet):  # the patches are off: nothing kept to warm
            return
        if "first_paint" not in self.timings or time.monotonic() - self.collector.last_input < self.warm_after:
            return
        if self._warmer is None or not self._warmer.current():
            if not self._theme_vars:
                self._theme_vars = [theme_variables(self, name) for name in LIGHT_AND_DARK]
            missing = stylesheet.missing(self._theme_vars, skip=self._themes_failed)
            if not missing:
                self._warmer = None
                self._warm_sources(stylesheet)
                return
            self._warmer = Warmer(stylesheet, missing[0])
        try:
            self._warmer.step(WARM_SLICE)
        except Exception:  # invalid CSS: a switch will report it, as before
            self._themes_failed.add(self._warmer.key)
            self._warmer = None
            return
        if self._warmer.done:
            self._warmer = None

    def _warm_sources(self, stylesheet: ThemeStylesheet) -> None:
        """Once both themes are warm: the default CSS of explorer's widgets and of the command palette, for
        both themes, before a screen that holds them is first opened (themecss.SourceWarmer)."""
        if self._source_warmer is None:
            classes = widget_classes("explorer.tui", "textual.command")
            self._source_warmer = SourceWarmer(stylesheet, self._theme_vars, default_css_sources(classes))
        if not self._source_warmer.done:
            self._source_warmer.step(WARM_SLICE)


def _worker_log() -> str | None:
    """A new file for the worker processes' stderr, diverted there from the terminal the app draws on."""
    try:
        fd, path = tempfile.mkstemp(prefix="explorer-workers-", suffix=".log")
    except OSError:
        path = os.devnull
    else:
        os.close(fd)
        workerlog.track(path)
    workerlog.divert(path)
    return path if path != os.devnull else None


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
