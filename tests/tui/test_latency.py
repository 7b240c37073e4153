"""What keeps key presses prompt on big images: when garbage is collected, how big folders are revealed."""

from __future__ import annotations

import gc
import threading

import pytest

from explorer.scan.engine import DetectorSet
from explorer.tui import gcpolicy
from explorer.tui.app import ExplorerApp
from explorer.tui.gcpolicy import NEVER, IdleCollector, collections_paused, pause, resume
from explorer.tui.runtime import LIGHT_AND_DARK

SIZE = (160, 48)


async def test_full_collections_wait_for_a_pause_in_the_input_and_the_thresholds_come_back(
        demo_source, wait_for_scan):
    before = gc.get_threshold()
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        assert gc.get_threshold()[2] == NEVER  # never started by an allocation (a key's handler)
        app.collector.idle = 3600.0
        app.collector.durations = []  # a full collection may have run while the scan was awaited (idle 1 s)
        for _ in range(25):
            gc.collect(1)  # gen 1 collections pending a full one
        await pilot.press("down")
        await pilot.pause(0.6)  # two ticks of the timer: still pressing keys (as far as it knows)
        assert gc.get_count()[2] > 0 and not app.collector.durations
        app.collector.idle = 0.1
        await pilot.pause(0.6)
        assert app.collector.durations  # idle: the full collection ran
    assert gc.get_threshold() == before


def test_a_full_collection_runs_anyway_after_too_many_young_ones():
    collector = IdleCollector(idle=3600.0, limit=3)
    collector.start()
    try:
        collector.input()
        gc.collect()
        assert collector.tick() is None
        for _ in range(3):
            gc.collect(1)
        assert collector.tick() is not None and gc.get_count()[2] == 0
    finally:
        collector.stop()


def test_overlapping_pauses_resume_collection_when_the_last_one_ends():
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with collections_paused():
            first_in.set()
            second_in.wait(5)
        first_out.set()

    def second():
        first_in.wait(5)
        with collections_paused():
            second_in.set()
            first_out.wait(5)
            seen["enabled while the second still builds"] = gc.isenabled()
            seen["paused"] = gcpolicy.paused()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {"enabled while the second still builds": False, "paused": True}
    assert gc.isenabled() and not gcpolicy.paused()


def test_a_worker_index_is_frozen_even_when_a_short_pause_ends_after_it():
    frozen = gc.get_freeze_count()
    pause()  # a theme switch
    with collections_paused():  # a worker builds a view
        made = [[i] for i in range(1000)]
    assert not gc.isenabled() and gc.get_freeze_count() == frozen  # not yet: the switch is not drawn
    resume()
    assert gc.isenabled() and gc.get_freeze_count() >= frozen + len(made)
    pause()
    resume()  # a pause alone never freezes
    assert gc.isenabled() and gc.get_freeze_count() >= frozen + len(made)
    gc.unfreeze()


@pytest.mark.textual_patch  # tests a patch of explorer.tui.patches (CI runs it only where the gate is open)
async def test_a_theme_switch_parses_the_css_once_per_theme_and_collects_no_garbage_until_drawn(
        demo_source, wait_for_scan):
    from textual.css.stylesheet import Stylesheet
    from textual.widgets import LoadingIndicator, ProgressBar
    from explorer.tui.widgets.layers import LayerTable

    seen = []
    update = Stylesheet.update

    def watched(self, root, animate=False):
        seen.append(gc.isenabled())
        return update(self, root, animate=animate)

    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        assert not app.query(LoadingIndicator) and not app.query(ProgressBar)  # gone, not merely hidden
        table = app.query_one(LayerTable)
        dark = table.styles.background
        Stylesheet.update = watched
        try:
            for _ in range(5):
                await pilot.press("ctrl+t")
                await pilot.pause()
                assert gc.isenabled()  # back on once the new theme is drawn
                assert (table.styles.background == dark) == app.current_theme.dark, table.styles.background
        finally:
            Stylesheet.update = update
        # light parsed once; dark again from the start-up parse's rules (kept a source at a time), and the
        # later switches reuse both
        assert app.stylesheet.reparses == 1
        assert seen and not any(seen)  # no collection while every widget is restyled


async def warmed(pilot, sheet, limit: float = 15.0) -> None:
    """Until both themes are parsed for the current sources (a slice per 0.25 s tick: a few seconds)."""
    for _ in range(int(limit / 0.25)):
        await pilot.pause(0.25)
        if pilot.app._theme_vars and not sheet.missing(pilot.app._theme_vars):
            return


@pytest.mark.textual_patch  # tests a patch of explorer.tui.patches (CI runs it only where the gate is open)
async def test_both_themes_are_parsed_ahead_between_keys_and_again_when_a_screen_adds_css(demo_source,
                                                                                       wait_for_scan):
    from explorer.tui.patches.themecss import Warmer, theme_variables

    app = ExplorerApp(demo_source, detectors=DetectorSet())
    app.warm_after = 3600.0  # "a key came just now", until the test says otherwise
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        sheet = app.stylesheet
        assert theme_variables(app, app.theme) == app.get_css_variables()  # the same variables as a switch
        await pilot.pause(0.6)
        assert sheet.missing([theme_variables(app, name) for name in LIGHT_AND_DARK])
        slices = []
        step = Warmer.step
        Warmer.step = lambda self, budget: (slices.append(len(self._sources) - self._next), step(self, budget))[1]
        try:
            app.warm_after = 0.0
            await warmed(pilot, sheet)
        finally:
            Warmer.step = step
        assert not sheet.missing(app._theme_vars) and len(app._theme_vars) == 2
        assert len(slices) > 2  # in slices, not in one go
        for _ in range(3):
            await pilot.press("ctrl+t")
            await pilot.pause()
        assert sheet.reparses == 0  # every switch served from the warm-up's rules
        app.warm_after = 3600.0
        await pilot.press("question_mark")  # the help screen's CSS joins the sources: new keys
        await pilot.pause()
        await pilot.press("escape")
        assert sheet.missing(app._theme_vars)
        app.warm_after = 0.0
        await warmed(pilot, sheet)
        assert not sheet.missing(app._theme_vars)
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert sheet.reparses == 0


@pytest.mark.textual_patch  # tests a patch of explorer.tui.patches (CI runs it only where the gate is open)
async def test_the_palettes_css_is_parsed_ahead_and_opening_it_parses_nothing(demo_source, wait_for_scan):
    from textual.command import CommandInput, CommandList, CommandPalette

    from explorer.tui.patches.themecss import default_css_sources

    app = ExplorerApp(demo_source, detectors=DetectorSet())
    app.warm_after = 3600.0
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        sheet = app.stylesheet
        expected = [(where, source) for where, source in default_css_sources([CommandPalette, CommandInput, CommandList])
                    if where not in sheet.source]
        assert len(expected) >= 3  # the palette, its input and its list bring CSS of their own
        app.warm_after = 0.0
        for _ in range(5000):  # the idle ticks' slices, without waiting for the timer
            app._warm_themes()
            if app._source_warmer is not None and app._source_warmer.done:
                break
        assert app._source_warmer is not None and app._source_warmer.done
        app.warm_after = 3600.0
        before = sheet.parsed_sources
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        assert [(where, sheet.source.get(where)) for where, _ in expected] == expected  # as Textual added them
        assert sheet.parsed_sources == before  # every new source served from the warm-up
        await pilot.press("escape")
        await pilot.press("ctrl+t")  # and the other theme's rules for them too
        await pilot.pause()
        assert sheet.parsed_sources == before


@pytest.mark.textual_patch  # tests a patch of explorer.tui.patches (CI runs it only where the gate is open)
def test_the_warm_up_makes_the_rules_textuals_parse_makes():
    from textual.app import App

    from explorer.tui.patches.themecss import ThemeStylesheet, Warmer, theme_variables

    app = App()
    sheet = ThemeStylesheet(variables=theme_variables(app, "textual-dark"))
    sheet.add_source("Screen { background: $surface; }\nStatic { color: $text-muted; }", read_from=("a", ""))
    sheet.add_source("Label { border: round $accent; }", read_from=("b", ""), is_default_css=True)
    light = theme_variables(app, "textual-light")
    warmer = Warmer(sheet, light)
    while not warmer.done:
        warmer.step(0.0)
    sheet.set_variables(light)
    sheet.reparse()
    assert sheet.reparses == 0  # served from the warm-up
    fresh = ThemeStylesheet(variables=light)
    for read_from, (css, is_default, tie_breaker, scope) in sheet.source.items():
        fresh.add_source(css, read_from=read_from, is_default_css=is_default, tie_breaker=tie_breaker, scope=scope)
    fresh.parse()
    assert [r.css for r in sheet.rules] == [r.css for r in fresh.rules] and len(sheet.rules) == 3
    bad = ThemeStylesheet(variables=light)
    bad.add_source("Label { color: $no-such-variable; }", read_from=("c", ""))
    with pytest.raises(Exception):
        Warmer(bad, light).step(1.0)


@pytest.mark.textual_patch  # tests a patch of explorer.tui.patches (CI runs it only where the gate is open)
def test_a_new_source_is_the_only_one_parsed_again_for_each_theme():
    """A screen opened for the first time adds its CSS: a theme's rules are then the kept rules of the
    other sources plus one parse of the new one, the same rules a parse of everything makes."""
    from textual.app import App

    from explorer.tui.patches.themecss import ThemeStylesheet, theme_variables

    app = App()
    dark, light = (theme_variables(app, name) for name in ("textual-dark", "textual-light"))
    sheet = ThemeStylesheet(variables=dark)
    for n in range(20):
        sheet.add_source(f"Static.c{n} {{ color: $text-muted; background: $surface; }}", read_from=(f"s{n}", ""))
    sheet.parse()
    sheet.set_variables(light)
    sheet.reparse()
    assert sheet.parsed_sources == 40  # each source once per theme
    sheet.add_source("Label { border: round $accent; }", read_from=("new", "Label.DEFAULT_CSS"), is_default_css=True,
                     scope="Label")
    sheet.parse()  # as Textual does when a source is added
    sheet.set_variables(dark)
    sheet.reparse()
    assert sheet.parsed_sources == 42  # the new source, with the light then the dark variables
    for variables in (dark, light):
        sheet.set_variables(variables)
        sheet.reparse()
        fresh = ThemeStylesheet(variables=variables)
        for read_from, (css, is_default, tie_breaker, scope) in sheet.source.items():
            fresh.add_source(css, read_from=read_from, is_default_css=is_default, tie_breaker=tie_breaker,
                             scope=scope)
        fresh.parse()
        assert [(r.css, r.is_default_rules, r.tie_breaker) for r in sheet.rules] == \
               [(r.css, r.is_default_rules, r.tie_breaker) for r in fresh.rules]
        assert len(sheet.rules) == 21
    assert sheet.parsed_sources == 42
    sheet.add_source("Label { color: $no-such-variable; }", read_from=("bad", ""))
    with pytest.raises(Exception):
        sheet.reparse()


@pytest.mark.textual_patch  # tests a patch of explorer.tui.patches (CI runs it only where the gate is open)
async def test_a_theme_switch_refreshes_each_widget_once_not_once_per_colour(demo_source, wait_for_scan,
                                                                             monkeypatch):
    from collections import Counter

    from textual.widget import Widget
    from explorer.tui.widgets.layers import LayerTable

    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        await pilot.pause()
        calls: Counter = Counter()
        refresh = Widget.refresh
        monkeypatch.setattr(Widget, "refresh", lambda self, *a, **k: (calls.update([self]), refresh(self, *a, **k))[1])
        table = app.query_one(LayerTable)
        dark = table.styles.background
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert table.styles.background != dark and not getattr(app.stylesheet, "merge_refreshes", False)
        widgets = list(app.screen.walk_children(with_self=True))
        assert all(calls[w] >= 1 for w in widgets if w.display)  # every shown widget repainted
        # once by the restyle, plus the layout's (a scrollbar's size and position): 43 for the tree unmerged
        assert max(calls.values()) <= 3, calls.most_common(3)


@pytest.fixture
async def big_folder(tmp_path, wait_for_scan):
    """The app on an image with a 1000-file folder /big (and /big/d0500/inner): (pilot, its file tree)."""
    from explorer.demo.imagewriter import Entry, ImageSpec, Layer, write_image
    from explorer.sources import open_image
    from explorer.tui.widgets.filetree import FileTree

    entries = [Entry.dir("/big"), Entry.dir("/big/d0500")] + [Entry.file(f"/big/f{i:04}", b"x") for i in range(1000)]
    entries.append(Entry.file("/big/d0500/inner", b"y"))
    path = write_image(ImageSpec(layers=[Layer(entries, created_by="RUN make files")]), str(tmp_path / "big.tar"))
    with open_image(path) as source:
        app = ExplorerApp(source, detectors=DetectorSet())
        async with app.run_test(size=SIZE) as pilot:
            await wait_for_scan(pilot, app)
            yield pilot, app.query_one(FileTree)


async def test_a_jump_far_down_a_big_folder_loads_a_window_around_the_path(big_folder):
    from tests.support.pilot import go_to
    from explorer.tui.widgets.filetree import CHUNK, JUMP

    pilot, tree = big_folder
    await go_to(pilot, 0, "/big/f0900")
    await pilot.pause()
    big = next(c for c in tree.root.children if c.data.path == "/big")
    assert tree.cursor_node.data.path == "/big/f0900"
    rows = [c.data for c in big.children]
    assert len(rows) == JUMP + 2  # the window and a placeholder at each end, not the 900 rows above it
    listing = [d.path for d in tree.listing("/big")]
    start = listing.index(rows[1].path)
    assert rows[0].earlier and rows[0].more == start == listing.index("/big/f0900") - JUMP // 2
    assert rows[-1].more == start + JUMP and rows[-2].path == listing[start + JUMP - 1]
    first = rows[1].path
    # enter on the 'earlier' row loads the CHUNK rows above, cursor on the last of them
    tree.move_cursor(big.children[0])
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    paths = [c.data.path for c in big.children if not c.data.more]
    assert paths.index(first) == CHUNK and tree.cursor_node.data.path == paths[CHUNK - 1]
    assert big.children[0].data.earlier  # still more above
    # a jump back near the top replaces the window; a folder inside it expands as before
    await go_to(pilot, 0, "/big/d0500/inner")
    await pilot.pause()
    assert tree.cursor_node.data.path == "/big/d0500/inner"
    await go_to(pilot, 0, "/big/f0003")
    await pilot.pause()
    assert tree.cursor_node.data.path == "/big/f0003" and not big.children[0].data.more
    d = next(c for c in big.children if c.data.path == "/big/d0500")
    d.expand()
    await pilot.pause()
    assert [c.data.path for c in d.children] == ["/big/d0500/inner"]


async def test_a_jump_through_a_big_folder_loads_a_window_of_it_not_a_chunk(big_folder):
    from tests.support.pilot import go_to
    from explorer.tui.widgets.filetree import CHUNK, JUMP

    pilot, tree = big_folder
    await go_to(pilot, 0, "/big/d0500/inner")  # /big: d0500 first (folders first), then 1000 files
    await pilot.pause()
    assert tree.cursor_node.data.path == "/big/d0500/inner"
    big = next(c for c in tree.root.children if c.data.path == "/big")
    rows = [c.data for c in big.children]
    assert len(rows) == JUMP + 1 and rows[-1].more == JUMP  # the rest behind one placeholder
    assert rows[0].path == "/big/d0500" and [c.data.path for c in big.children[0].children] == ["/big/d0500/inner"]
    # enter on the placeholder loads the next CHUNK, as for a folder opened by hand
    tree.move_cursor(big.children[-1])
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    assert len(big.children) == JUMP + CHUNK + 1 and big.children[-1].data.more == JUMP + CHUNK


async def test_a_jump_adds_rows_without_a_redraw_per_row_and_moves_the_cursor_at_once(big_folder):
    from textual.widgets import Tree

    pilot, tree = big_folder
    calls = []
    invalidate = Tree._invalidate
    Tree._invalidate = lambda self: (calls.append(1), invalidate(self))[1]
    try:
        assert tree.reveal("/big/f0900")
    finally:
        Tree._invalidate = invalidate
    # a few per folder on the way (rows added, expanded), not one per row added (~200)
    assert 0 < len(calls) <= 6, len(calls)
    assert tree.cursor_node.data.path == "/big/f0900"  # in this frame, not after the next refresh
    await pilot.pause()
    top = tree.scroll_offset.y
    assert top <= tree.cursor_line < top + tree.scrollable_content_region.height  # scrolled to it
    # the width of each line as Textual measures it (by rendering the label), done without rendering
    for line in range(tree.last_line + 1):
        node = tree.get_node_at_line(line)
        assert tree.get_label_width(node) == Tree.get_label_width(tree, node)


async def test_the_viewer_is_drawn_before_its_workers_start_reading(demo_source, wait_for_scan, monkeypatch):
    from tests.support.pilot import view_copy
    from explorer.tui.screens.viewer import FileViewer

    events = []
    display, load = ExplorerApp._display, FileViewer.load
    monkeypatch.setattr(ExplorerApp, "_display", lambda self, screen, renderable: (
        events.append(f"frame {type(screen).__name__}") if renderable is not None else None,
        display(self, screen, renderable))[1])
    monkeypatch.setattr(FileViewer, "load", lambda self, *a, **k: (events.append("load"), load(self, *a, **k))[1])
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        events.clear()
        text = await view_copy(pilot, 5, "/etc/passwd")
        assert "root:x:0:0" in text
        assert events.index("frame FileViewer") < events.index("load")


async def test_collection_is_back_on_when_the_app_closes_right_after_a_theme_switch(demo_source, wait_for_scan):
    for _ in range(3):
        app = ExplorerApp(demo_source, detectors=DetectorSet())
        async with app.run_test(size=SIZE) as pilot:
            await wait_for_scan(pilot, app)
            app.action_toggle_dark()
            app.refresh_css()  # a pause whose resume waits for a refresh that never comes
        assert gc.isenabled() and not gcpolicy.paused()


async def test_the_help_is_laid_out_ahead_and_the_first_question_mark_uses_it(demo_source, wait_for_scan):
    from explorer.tui.screens.help import HelpScreen, help_lines, help_width, laid_out

    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        width = help_width(app)
        for _ in range(200):
            if width in laid_out(app):
                break
            await pilot.pause(0.02)
        ahead = laid_out(app).get(width)
        assert ahead is not None and ahead.plain == help_lines(app, width).plain  # the table the help would draw
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen) and width not in laid_out(app)  # taken, not laid out again
        assert app.screen.query_one("#keys").lines is ahead


async def _back_to_main(pilot) -> None:
    while len(pilot.app.screen_stack) > 1:
        pilot.app.pop_screen()
        await pilot.pause()


async def test_dialogs_cover_the_screen_below_so_it_is_not_drawn_again_through_a_tint(demo_ui):
    # A dialog screen with a see-through background makes Textual draw the whole screen below it again
    # through a tint filter on every frame: y and F paid 60-90 ms for it on the bench image.
    app, pilot = demo_ui
    from explorer.tui.widgets.findings import FindingsTable

    for key in ["y", "F", "R", "x", "question_mark", "slash", "ctrl+p"]:
        app.query_one(FindingsTable).focus()
        await pilot.pause()
        below = app.screen
        await pilot.press(key)
        await pilot.pause()
        assert app.screen is not below, key
        assert app.screen.styles.background.a == 1.0, (key, type(app.screen).__name__)
        await _back_to_main(pilot)


def _parts(screen):
    """The screen's nodes and their scrollbars that were styled. A scrollbar made after the screen's resume
    (at its first layout) was never styled, with the patch or without it: Textual styles one only in a
    restyle."""
    for node in screen.walk_children(with_self=True):
        for part in (node, getattr(node, "_vertical_scrollbar", None), getattr(node, "_horizontal_scrollbar", None),
                     getattr(node, "_scrollbar_corner", None)):
            if part is not None and hasattr(part, "_explorer_style_epoch"):
                yield part


def _rules_of(screen) -> dict[int, dict]:
    """Each styled part's CSS rules, by part."""
    return {id(part): (type(part).__name__, dict(part._css_styles.get_rules())) for part in _parts(screen)}


async def _on_file(pilot):
    from tests.support.pilot import go_to

    await go_to(pilot, 2, "/srv/app/.env")
    await pilot.press("t")
    await pilot.pause()


async def _on_finding(pilot):
    from tests.support.pilot import select_finding

    select_finding(pilot, "/srv/app/.env")
    await pilot.pause()


OPENERS = [(None, "i"), (_on_finding, "y"), (_on_finding, "F"), (_on_finding, "R"), (_on_finding, "enter"),
           (_on_file, "x"), (_on_file, "v"), (None, "question_mark"), (None, "slash"), (None, "ctrl+p"),
           (None, "w"), (None, "b"), (None, "r"), ("theme", "i")]


@pytest.mark.textual_patch  # tests a patch of explorer.tui.patches (CI runs it only where the gate is open)
async def test_a_new_screen_styled_once_has_the_rules_a_full_restyle_gives(demo_ui):
    # patches.screens skips the ScreenResume restyle of a screen composed under the current styles; each
    # node must then hold exactly the rules that restyle would have given it (every way in, one session)
    from textual.css.stylesheet import Stylesheet

    from explorer.tui.patches import screens

    app, pilot = demo_ui
    skipped = []
    for setup, key in OPENERS:
        if setup == "theme":
            await pilot.press("ctrl+t")  # a new epoch before the screen is composed
            await pilot.pause()
        elif setup is not None:
            await setup(pilot)
        below, before = app.screen, screens.skipped
        await pilot.press(key)
        await pilot.pause()
        await pilot.pause()
        assert app.screen is not below, key
        if screens.skipped == before + 1:  # the restyle was left out
            skipped.append(key)
        kept = _rules_of(app.screen)
        for node in _parts(app.screen):
            Stylesheet.apply(app.stylesheet, node)  # Textual's own, not the subclass's
        again = _rules_of(app.screen)
        assert {node: again[node] for node in kept} == kept, key
        await _back_to_main(pilot)
    # A screen whose composing moved the epoch on after some of its nodes were styled is restyled: a class's
    # CSS met again through a subclass gets that subclass's priority (OptionList's, in the viewer here)
    assert len(skipped) >= len(OPENERS) - 2 and skipped[0] == "i", skipped


@pytest.mark.textual_patch  # tests a patch of explorer.tui.patches (CI runs it only where the gate is open)
async def test_a_screen_with_a_node_styled_before_the_theme_changed_is_styled_again(demo_ui):
    from explorer.tui.patches.screens import styled_under

    app, pilot = demo_ui
    await pilot.press("i")
    await pilot.pause()
    assert styled_under(app.screen, app.stylesheet.epoch)
    app.stylesheet.set_variables(dict(app.stylesheet._variables))
    assert not styled_under(app.screen, app.stylesheet.epoch)
    await pilot.press("escape")
    await pilot.pause()
    await pilot.press("question_mark")  # the help screen is installed: pushed again, it is restyled
    await pilot.pause()
    await pilot.press("escape")
    await pilot.pause()
    from explorer.tui.patches import screens

    before = screens.skipped
    await pilot.press("question_mark")
    await pilot.pause()
    assert screens.skipped == before
