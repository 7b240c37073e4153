"""explorer's light theme: Textual's textual-light draws its accent, warning and success colours (border
titles, footer keys, the find bar) at 1.3-3.8:1 on its grey background; this one keeps every text colour
of the theme at WCAG AA (4.5:1) or better on its backgrounds (tests/tui/test_theme.py measures it)."""

from __future__ import annotations

from textual.theme import Theme

EXPLORER_LIGHT = Theme(
    name="explorer-light",
    dark=False,
    primary="#0B57A4",
    secondary="#3B4F9A",
    accent="#8A4A00",
    warning="#7A5200",
    error="#A4002A",
    success="#1E6B34",
    foreground="#1A1A1A",
    background="#FFFFFF",
    surface="#F4F4F4",
    panel="#E8ECF2",
    boost="#0000000A",
    variables={
        "footer-key-foreground": "#0B57A4",
        "footer-description-foreground": "#1A1A1A",
        "input-selection-background": "#0B57A4 30%",
        "block-cursor-foreground": "#FFFFFF",
        "block-cursor-background": "#0B57A4",
    },
)
