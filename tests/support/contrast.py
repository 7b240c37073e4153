"""WCAG contrast of colours, and the text colour pairs a widget actually draws (shared by the theme tests)."""

from __future__ import annotations

from textual.color import Color
from textual.geometry import Region

from explorer.tui.themes import contrast, luminance, resolve

__all__ = ["contrast", "drawn_text", "luminance", "resolve", "unreadable"]


BOX = " " + "".join(map(chr, range(0x2500, 0x2580)))
"""Blanks, and the box-drawing characters of borders (lines, not text: a border title is text)."""


def drawn_text(widget) -> list[tuple[str, Color | None, Color | None]]:
    """Each run of text `widget` draws now (blanks left out), with its foreground and background as the
    terminal gets them: the widget's lines after the app's line filters (ANSI colours mapped to the
    theme's, dim blended), reverse video swapped. None: a colour left to the terminal's default."""
    width, height = widget.region.size
    runs = []
    for strip in widget.render_lines(Region(0, 0, width, height)):
        for segment in strip:
            text, style = segment.text, segment.style
            if segment.control or not text.strip(BOX) or style is None:
                continue
            fg, bg = style.color, style.bgcolor
            if style.reverse:
                fg, bg = bg, fg
            runs.append((text, None if fg is None or fg.triplet is None else Color.from_rich_color(fg),
                         None if bg is None or bg.triplet is None else Color.from_rich_color(bg)))
    return runs


def unreadable(widget, least: float = 4.5) -> list[tuple[str, str, str, float]]:
    """The runs of text `widget` draws under `least`:1 (text, foreground, background, ratio); a run with a
    terminal-default colour counts as unreadable (its contrast depends on the terminal)."""
    bad = []
    for text, fg, bg in drawn_text(widget):
        ratio = 0.0 if fg is None or bg is None else contrast(fg, bg)
        if ratio < least:
            bad.append((text.strip()[:24], fg and fg.hex, bg and bg.hex, round(ratio, 2)))
    return bad

