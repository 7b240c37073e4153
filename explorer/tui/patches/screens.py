"""A screen opened for the first time is styled once, not twice.

`App.push_screen` registers a new screen (`App._register` styles each node as it is added: the screen,
then its children as they are composed) and posts it a `ScreenResume` whose `refresh_styles` is true, so
`Screen._on_screen_resume` styles every node of the screen again before its first frame. For a screen that
was just composed that second pass finds what the first one found. On the bench image (headless, the
same keys five times, two alternating runs each) `i`, the config view with its six tabs, took 59-125 ms
(medians 86 and 75) to its first frame with it and 46-83 ms (medians 73 and 68) without it; every other
screen's opening (the viewer, space views, raw tar, dialogs) saves its own share.

`first_resume` turns that pass off only when it cannot change anything: the screen was never resumed
before, and every node it holds (scrollbars included) was styled under the stylesheet's current epoch
(`ThemeStylesheet.epoch`: a theme switch, a CSS file read or any unscoped or changed source moves it on, and
`ThemeStylesheet.apply` stamps each node). A screen resumed again (the installed help screen, the main
screen under a closed dialog) is styled as Textual styles it. tests/tui/test_latency.py opens every
screen and dialog and checks that a full restyle afterwards changes no node's rules.

Off the gate (explorer.tui.patches) or with another stylesheet, Textual's handler runs unchanged.
"""

from __future__ import annotations

from textual import events
from textual.screen import Screen

from explorer.tui import patches

_stock_resume = Screen._on_screen_resume
skipped = 0
"""How many first resumes left the restyle out (for tests)."""


def styled_under(screen: Screen, epoch: int) -> bool:
    """Whether every node of `screen`, its widgets' scrollbars included, was last styled under `epoch`."""
    for node in screen.walk_children(with_self=True):
        if getattr(node, "_explorer_style_epoch", None) != epoch:
            return False
        for bar in (getattr(node, "_vertical_scrollbar", None), getattr(node, "_horizontal_scrollbar", None),
                    getattr(node, "_scrollbar_corner", None)):
            if bar is not None and getattr(bar, "_explorer_style_epoch", None) != epoch:
                return False
    return True


def first_resume(screen: Screen, event: events.ScreenResume) -> None:
    """Textual's `Screen._on_screen_resume`, without the restyle of a screen composed under the current
    styles and never resumed before."""
    fresh = not getattr(screen, "_explorer_resumed", False)
    screen._explorer_resumed = True  # type: ignore[attr-defined]
    epoch = getattr(screen.app.stylesheet, "epoch", None)
    if patches.ACTIVE and fresh and event.refresh_styles and epoch is not None and styled_under(screen, epoch):
        global skipped
        skipped += 1
        event.refresh_styles = False
    _stock_resume(screen, event)


first_resume.__wrapped__ = _stock_resume  # type: ignore[attr-defined]
"""(So `inspect` reads, and COPIED hashes, Textual's handler even once `install` has put this one in its place.)"""


def install() -> None:
    """Route every screen's resume through `first_resume` (idempotent; it defers to Textual's handler for
    any app whose stylesheet keeps no epoch)."""
    Screen._on_screen_resume = first_resume  # type: ignore[method-assign]
