"""The footer (explorer.tui.widgets.keybar): the screen's shown keys drawn as one widget, as Textual's Footer
shows them, clickable, with tooltips, cut with an ellipsis in a narrow terminal."""

from __future__ import annotations

from rich.style import Style

from explorer.sources import open_image
from explorer.tui.app import ExplorerApp
from explorer.tui.screens.help import HelpScreen
from explorer.tui.widgets.keybar import MORE, Key, KeyBar
from explorer.tui.widgets.tour import TourPanel
from tests.support.pilot import wait_until_scanned


def drawn(bar: KeyBar) -> str:
    return bar.render_line(0).text


def shown_keys(screen) -> list[tuple[str, str]]:
    """(key, description) of each binding Textual's Footer would show, in its order (first per action)."""
    out, actions = [], set()
    for _node, binding, _enabled, _tip in screen.active_bindings.values():
        if binding.show and binding.action not in actions:
            actions.add(binding.action)
            out.append((binding.key, binding.description))
    return out


async def test_it_shows_the_screens_keys_in_footer_order_and_the_palette_on_the_right(demo_ui):
    app, pilot = demo_ui
    bar = app.screen.query_one(KeyBar)
    assert [(k.key, k.description) for k in bar.keys] == shown_keys(app.screen)
    assert bar.palette is not None and bar.palette.key == "ctrl+p"
    line = drawn(bar)
    assert len(line) == app.size.width
    assert line.startswith(" q Quit  ? Help  c Changes ")  # " key description " each, as FooterKey draws
    assert line.rstrip().endswith("▏ ^p palette")
    assert not bar.children  # one widget, not one per key


async def test_the_keys_follow_the_focus_without_new_widgets(demo_ui):
    app, pilot = demo_ui
    bar = app.screen.query_one(KeyBar)
    await pilot.press("T")  # the tour's panel takes the focus: its keys join the footer
    await pilot.pause()
    await pilot.pause()
    assert isinstance(app.focused, TourPanel)
    assert {"Next", "Back", "Leave tour"} <= {k.description for k in bar.keys}
    assert "Leave tour" in drawn(bar)
    await pilot.press("escape")
    await pilot.pause()
    await pilot.pause()
    assert "Leave tour" not in {k.description for k in bar.keys} and "Leave tour" not in drawn(bar)
    assert app.screen.query_one(KeyBar) is bar


async def test_a_click_presses_the_key_and_the_mouse_over_a_key_shows_its_tooltip(demo_ui):
    app, pilot = demo_ui
    bar = app.screen.query_one(KeyBar)
    start, _end, key = next(span for span in bar.spans if span[2].description == "Help")
    await pilot.hover(KeyBar, offset=(start + 1, 0))
    await pilot.pause()
    assert bar.hover == key and bar.tooltip == key.tooltip and key.tooltip
    hovered = bar.render_line(0)
    assert [s.style for s in hovered if "Help" in s.text] != \
        [s.style for s in bar._draw(app.size.width, bar.rich_style, Style(), Style(), Style(), Style()) if "Help" in s.text]
    await pilot.click(KeyBar, offset=(start + 1, 0))
    await pilot.pause()
    assert isinstance(app.screen, HelpScreen)


async def test_a_disabled_key_is_dim_and_a_click_on_it_rings_the_bell(demo_ui, monkeypatch):
    app, pilot = demo_ui
    bar = app.screen.query_one(KeyBar)
    bar.keys = (Key("z", "z", "Nothing", False, "a disabled key"),) + bar.keys
    bar.refresh()
    strip = bar.render_line(0)
    assert all(s.style.dim for s in strip if s.text in (" z ", "Nothing "))
    rang = []
    monkeypatch.setattr(app, "bell", lambda: rang.append(1))
    pressed = []
    monkeypatch.setattr(app, "simulate_key", pressed.append)
    await pilot.click(KeyBar, offset=(1, 0))
    assert rang == [1] and pressed == []


async def test_keys_that_do_not_fit_are_cut_with_an_ellipsis_and_the_palette_stays(tmp_path):
    from explorer.demo import write_demo

    app = ExplorerApp(open_image(write_demo(str(tmp_path))))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_scanned(pilot)
        bar = app.screen.query_one(KeyBar)
        line = drawn(bar)
        assert len(line) == 80
        assert len(bar.keys) > len(bar.spans) - 1  # some keys left out (the palette has a span too)
        left = line[:line.index("▏")].rstrip()
        assert left.endswith(MORE)
        assert line.rstrip().endswith("^p palette")
        assert all(0 <= start < end <= 80 for start, end, _key in bar.spans)
        # every key drawn is whole: its key and its description
        for start, end, key in bar.spans[:-1]:
            assert line[start:end] == f" {key.shown} {key.description} "


async def test_columns_are_terminal_cells_so_a_wide_key_does_not_push_the_line_past_the_edge(demo_ui):
    app, pilot = demo_ui
    bar = app.screen.query_one(KeyBar)
    bar.keys = (Key("z", "全", "wide", True, "a key shown as a wide character"),) + bar.keys
    strip = bar.render_line(0)
    assert strip.cell_length == app.size.width
    start, end, key = bar.spans[0]
    assert key.shown == "全" and (start, end) == (0, len(" 全 wide ") + 1)  # 全 takes two cells
    assert bar.key_at(end - 1) == key and bar.key_at(end) == bar.keys[1]
