"""The light theme's text is readable (WCAG contrast), and the chosen theme is remembered across runs."""

from __future__ import annotations

import json

import pytest
from textual.app import App
from textual.color import Color

from explorer.scan.engine import DetectorSet
from explorer.tui.app import ExplorerApp
from explorer.tui.patches.themecss import theme_variables
from explorer.tui.runtime import LIGHT_AND_DARK
from explorer.tui.themes import EXPLORER_LIGHT
from tests.support.contrast import contrast, resolve

TEXT = ("foreground", "text", "text-muted", "text-primary", "text-secondary", "text-accent", "text-warning",
        "text-error", "text-success", "primary", "secondary", "accent", "warning", "error", "success",
        "footer-key-foreground", "footer-description-foreground")
"""Variables drawn as text: body text, and the colours of border titles, footer keys and notices."""
GROUNDS = ("background", "surface", "panel")


def test_contrast_ratios_match_the_wcag_examples():
    assert round(contrast(Color.parse("#000000"), Color.parse("#FFFFFF")), 1) == 21.0
    assert round(contrast(Color.parse("#777777"), Color.parse("#FFFFFF")), 2) == 4.48  # the classic near miss


def light_pairs() -> list[tuple[str, str, float]]:
    app = App()
    app.register_theme(EXPLORER_LIGHT)
    variables = theme_variables(app, LIGHT_AND_DARK[0])
    page = Color.parse(variables["background"])
    pairs = []
    for ground in GROUNDS:
        under = resolve(variables[ground], page)
        for name in TEXT:
            pairs.append((name, ground, contrast(resolve(variables[name], under), under)))
    cursor = resolve(variables["block-cursor-background"], page)
    pairs.append(("block-cursor-foreground", "block-cursor-background",
                  contrast(resolve(variables["block-cursor-foreground"], cursor), cursor)))
    return pairs


def test_the_light_theme_is_ctrl_t_s_and_its_text_passes_wcag_aa():
    assert LIGHT_AND_DARK[0] == "explorer-light"
    pairs = light_pairs()
    assert len(pairs) == len(TEXT) * len(GROUNDS) + 1
    failing = [(n, g, round(r, 2)) for n, g, r in pairs if r < 4.5]
    assert not failing, failing


def test_textual_light_would_fail_the_same_check():
    """The check can fail: Textual's own light theme has text colours under 4.5:1."""
    app = App()
    variables = theme_variables(app, "textual-light")
    page = Color.parse(variables["background"])
    worst = min(contrast(resolve(variables[n], page), page) for n in TEXT)
    assert worst < 3.0


async def test_the_chosen_theme_is_remembered_across_runs(demo_source, tmp_path, wait_for_scan):
    settings = tmp_path / "config" / "explorer" / "ui.json"
    assert not settings.exists()
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_scan(pilot, app)
        assert app.theme == "textual-dark"
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.theme == "explorer-light"
    assert json.loads(settings.read_text()) == {"theme": "explorer-light"}
    again = ExplorerApp(demo_source, detectors=DetectorSet())
    async with again.run_test(size=(120, 40)) as pilot:
        await wait_for_scan(pilot, again)
        assert again.theme == "explorer-light" and not again.current_theme.dark


@pytest.mark.parametrize("content", ["{not json", '{"theme": "no-such-theme"}', '["theme"]', '{"theme": 3}'])
async def test_a_bad_settings_file_leaves_the_default_theme(demo_source, tmp_path, content, wait_for_scan):
    settings = tmp_path / "config" / "explorer" / "ui.json"
    settings.parent.mkdir(parents=True)
    settings.write_text(content)
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_scan(pilot, app)  # (leaving while the scan result arrives races the app's own teardown)
        assert app.theme == "textual-dark"
