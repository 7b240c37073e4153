"""explorer's light theme, and the colours the line-based lists draw derived from the current theme.

Textual's textual-light draws its accent, warning and success colours (border titles, footer keys, the find
bar) at 1.3-3.8:1 on its grey background; EXPLORER_LIGHT keeps every text colour of the theme at WCAG AA
(4.5:1) or better on its backgrounds (tests/tui/test_theme.py measures it).

The rows of the lists (preview, raw tar view, findings, search, space and archive views) keep their own
styles in ANSI colour names (`red`, `magenta`, a syntax theme of ANSI names): a row is built once and drawn
in any theme, and Textual's ANSI filter gives each name its colour when the row is drawn. `ansi_palette`
makes that mapping from the theme: the theme's own text colours for the names that carry a meaning (red:
error, green: success, yellow: warning, blue: primary, black: muted text), every colour then darkened (a
light theme) or lightened (a dark one) until it reads at 4.5:1 on each background a row can have there (the
theme's grounds, the cursor row, the finding marks of MARKS). The marks and the cursor row are component
classes of LineView styled with the theme's variables, so a theme switch restyles them as any CSS.
"""

from __future__ import annotations

from functools import lru_cache

from rich.terminal_theme import TerminalTheme
from textual.color import Color
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

MARKS = {"critical": ("error", 35), "high": ("error", 25), "medium": ("warning", 22), "low": ("primary", 18),
         "info": ("primary", 18), "secret": ("secondary", 30), "marker": ("error", 18), "finding": ("warning", 22)}
"""A LineView row mark (a finding's severity, a masked secret, a raw tar marker member, a config line with a
finding) -> the theme colour and the percentage of it laid over the list's surface."""

MUTED = "bright_black"
"""Muted text in a list's rows (notes, link targets, sizes, the line numbers): the palette's muted grey. Rich's
dim would blend the text into its background, under 4.5:1 on the cursor row or a mark in the light theme."""

CURSOR_GROUND = "block-cursor-blurred-background"
"""The background of a LineView's cursor row (under the row's own colours)."""

LEAST = 4.6
"""The contrast the palette aims at (WCAG AA's 4.5:1, and a little for rounding)."""


def luminance(c: Color) -> float:
    """WCAG relative luminance."""
    def channel(v: int) -> float:
        v = v / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4
    return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)


def contrast(a: Color, b: Color) -> float:
    """WCAG contrast ratio (1 to 21)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def resolve(value: str, under: Color) -> Color:
    """A theme variable's colour as drawn over `under` ('auto 87%': Textual's contrasting text)."""
    if value.startswith("auto"):
        alpha = float(value.split()[1].rstrip("%")) / 100 if " " in value else 1.0
        colour = under.get_contrast_text(alpha)
    else:
        colour, _, percent = value.partition(" ")  # '#0178D4 30%': that colour at 30% (as CSS writes it)
        colour = Color.parse(colour)
        if percent:
            colour = colour.with_alpha(colour.a * float(percent.rstrip("%")) / 100)
    return under.blend(colour.with_alpha(1.0), colour.a) if colour.a < 1 else colour


def theme_colours(theme: Theme) -> dict[str, str]:
    """The theme's CSS variables (as Textual's `App.get_css_variables` makes them, less app defaults)."""
    return {**theme.to_color_system().generate(), **theme.variables}


ANSI_ORDER = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white")
ANSI_SOURCE = {"black": "text-muted", "red": "text-error", "green": "text-success", "yellow": "text-warning",
               "blue": "text-primary", "magenta": "#B048C0", "cyan": "#1A9CB0", "white": "foreground"}
"""Where each ANSI colour starts from: a theme variable, or (no variable means it) a fixed hue."""


def _readable(colour: Color, grounds: list[Color], dark: bool) -> Color:
    for step in range(41):
        shade = colour.lighten(step * 0.025) if dark else colour.darken(step * 0.025)
        if min(contrast(shade, ground) for ground in grounds) >= LEAST:
            return shade
    return Color(255, 255, 255) if dark else Color(0, 0, 0)


@lru_cache(maxsize=16)
def _palette(variables: tuple[tuple[str, str], ...], dark: bool) -> TerminalTheme:
    v = dict(variables)
    page = Color.parse(v["background"])
    surface = resolve(v["surface"], page)
    grounds = [page, surface, resolve(v["panel"], page), resolve(v[CURSOR_GROUND], surface)]
    grounds += [surface.blend(Color.parse(v[name]).with_alpha(1.0), percent / 100)
                for name, percent in MARKS.values()]
    colours = []
    for name in ANSI_ORDER:
        source = ANSI_SOURCE[name]
        start = resolve(v[source], surface) if source in v else Color.parse(source)
        colours.append(_readable(start, grounds, dark).rgb)
    return TerminalTheme(page.rgb, resolve(v["foreground"], page).rgb, colours, colours)


def ansi_palette(variables: dict[str, str], dark: bool) -> TerminalTheme:
    """The ANSI colours for a theme with these CSS variables: each readable on every ground of a list's row."""
    return _palette(tuple(variables.items()), dark)


def mark_css() -> str:
    """LineView's component classes for MARKS (the theme colour laid over the surface)."""
    return "\n".join(f"LineView > .lineview--mark-{kind} {{ background: ${name} {percent}%; }}"
                     for kind, (name, percent) in MARKS.items())
