"""What the line-based lists actually draw is readable in both of ctrl+t's themes: every run of text in the
findings table, the preview (text, hex, its findings list and timeline), the raw tar view, the search results, the space
view, the config view and the archive view, with the cursor on a row that carries a finding mark, is at WCAG AA (4.5:1) or
better against the background it is drawn on (test_theme.py checks the theme's variables; this checks the
cells, after Textual's filters map ANSI colours and dim text to the theme's)."""

from __future__ import annotations

import pytest

from explorer.tui.app import ExplorerApp
from explorer.tui.lineview import LineView
from explorer.tui.runtime import LIGHT_AND_DARK
from explorer.tui.screens.config import ConfigView
from explorer.tui.screens.rawlayer import RawLayerView
from explorer.tui.widgets.findings import FindingsTable
from tests.support.contrast import unreadable
from tests.support.pilot import search, select_finding, view_copy, wait_for_tree, wait_until_scanned
from tests.tui.test_archive_view import archive_image, open_archive  # noqa: F401 - the fixture
from tests.tui.test_panes_actions import wait_for
from tests.tui.test_space import open_space

SIZE = (160, 48)


def check(app, view: str, failures: dict) -> None:
    """Every list on the current screen (LineViews, and the preview's timeline), as drawn now."""
    views = [w for w in app.screen.query("LineView, TimelineList") if w.region.area]
    assert views, view
    for widget in views:
        bad = unreadable(widget)
        if bad:
            failures[f"{app.theme} {view} #{widget.id or type(widget).__name__}"] = bad[:6]


def marked_row(view: LineView, *, not_cursor: bool = False) -> int:
    return next(r for r in sorted(view.marks) if not (not_cursor and r == view.cursor))


@pytest.mark.parametrize("theme", LIGHT_AND_DARK)
async def test_every_list_draws_its_rows_marks_and_cursor_readably(demo_source, wait_for_scan, theme):
    app = ExplorerApp(demo_source)
    failures: dict[str, list] = {}
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        app.theme = theme
        await pilot.pause()
        # the findings table, the cursor on a critical finding (its severity cell has a background of its own)
        select_finding(pilot, "/tmp/.x/config.json")
        await pilot.pause()
        assert isinstance(app.focused, FindingsTable)
        check(app, "main", failures)

        # the preview of a highlighted JSON file with findings on lines 1-3, the cursor on a marked line
        await view_copy(pilot, 3, "/tmp/.x/config.json")
        content = app.screen.query_one("#content", LineView)
        assert len(content.marks) >= 2
        content.go_to(marked_row(content))
        await pilot.pause()
        check(app, "preview", failures)
        await pilot.press("m")  # the next finding: the cursor still on a marked row, another one under it
        await pilot.pause()
        check(app, "preview m", failures)
        app.screen.query_one("#matches", LineView).focus()
        await pilot.pause()
        check(app, "preview matches focused", failures)
        await pilot.press("ctrl+t")  # the same rows after a theme switch
        await pilot.pause()
        check(app, "preview after ctrl+t", failures)
        await pilot.press("ctrl+t")
        await pilot.pause()
        await pilot.press("q")

        # masked secrets, as text and as hex rows
        await view_copy(pilot, 2, "/srv/app/.env")
        content = app.screen.query_one("#content", LineView)
        content.go_to(marked_row(content))
        await pilot.pause()
        check(app, "preview secrets", failures)
        await pilot.press("x")
        await wait_for(pilot, lambda: app.screen.query_one("#content", LineView).marks, "no hex marks")
        content.go_to(marked_row(content))
        await pilot.pause()
        check(app, "preview hex", failures)
        await pilot.press("q")

        # the raw tar view of layer 4: the cursor starts on a whiteout's marked row
        app._step_layer(4 - app.layer_index)
        await wait_for_tree(pilot)
        await pilot.press("r")
        screen = app.screen
        assert isinstance(screen, RawLayerView)
        await wait_for(pilot, lambda: screen.ready, "the raw view did not read the layer")
        await pilot.pause()
        raw = screen.query_one(LineView)
        assert raw.cursor in raw.marks
        check(app, "raw tar", failures)
        await pilot.press("escape")

        # search results (deleted copies drawn in their own colour) and the wasted space view
        await pilot.press("t")
        await search(pilot, "x")
        await pilot.pause()
        check(app, "search", failures)
        await pilot.press("escape")
        await pilot.pause()
        await open_space(pilot, "w")
        check(app, "wasted", failures)
        await pilot.press("escape")
        await pilot.pause()

        # the config view's history tab: finding-marked lines, the cursor on one
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, ConfigView)
        await wait_for(pilot, lambda: app.screen.ready, "the config view did not load")
        await pilot.press("2")
        await pilot.pause()
        history = app.screen.query_one("#view-history", LineView)
        history.go_to(marked_row(history))
        await pilot.pause()
        check(app, "config history", failures)
    assert not failures, "\n".join(f"{where}: {runs}" for where, runs in failures.items())


@pytest.mark.parametrize("theme", LIGHT_AND_DARK)
async def test_the_archive_view_draws_its_members_marks_and_cursor_readably(archive_image, theme):
    app = ExplorerApp(archive_image)  # real detectors: the members' findings are marked
    failures: dict[str, list] = {}
    async with app.run_test(size=SIZE) as pilot:
        await wait_until_scanned(pilot)
        app.theme = theme
        screen = await open_archive(pilot, 1, "/srv/bundle.tar.gz")
        view = screen.query_one("#archive-members", LineView)
        assert view.marks and view.cursor in view.marks  # the view opens on the first flagged member
        check(app, "archive", failures)
        view.go_to(marked_row(view, not_cursor=True) if len(view.marks) > 1 else 0)
        await pilot.pause()
        check(app, "archive, cursor moved", failures)
    assert not failures, "\n".join(f"{where}: {runs}" for where, runs in failures.items())
