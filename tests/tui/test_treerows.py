"""The file tree draws its rows itself (treerows.render_row): the same cells as Textual's Tree, checked one by one."""

from __future__ import annotations

from contextlib import asynccontextmanager

import pytest
from textual.widgets import Tree

from explorer.scan.engine import DetectorSet
from explorer.tui.app import ExplorerApp
from tests.support.pilot import go_to
from explorer.tui.widgets.filetree import FileTree
from explorer.tui.patches.treerows import RowLabel

pytestmark = pytest.mark.textual_patch  # the tree rows patch (CI runs these only where the gate is open)

SIZE = (160, 48)


def cells(strip) -> list[tuple[str, str, dict]]:
    """Each character of a row with its look (colours, attributes) and its mouse metadata."""
    out = []
    for segment in strip:
        style = segment.style
        look = str(style.copy().clear_meta_and_links()) if style is not None else ""
        meta = style.meta if style is not None else {}
        out += [(char, look, meta) for char in segment.text]
    return out


def both(tree: FileTree, y: int):
    """Row y drawn by FileTree and by Textual's Tree, each from an empty line cache."""
    width, base = tree.size.width, tree.rich_style
    tree._pseudo_class_state = tree.get_pseudo_class_state()
    tree._frame = None
    tree._line_cache.clear()
    ours = tree._render_line(y, 0, width, base)
    tree._line_cache.clear()
    theirs = Tree._render_line(tree, y, 0, width, base)
    tree._line_cache.clear()
    return ours, theirs


async def expand_everything(pilot, tree: FileTree) -> None:
    """Every folder open (FileTree adds a folder's rows when the expansion message arrives)."""
    for _ in range(10):
        closed = [line.path[-1] for line in tree._tree_lines
                  if line.path[-1].allow_expand and not line.path[-1].is_expanded]
        if not closed:
            return
        for node in closed:
            node.expand()
        await pilot.pause()


def compare_every_row(tree: FileTree) -> int:
    drawn = 0
    for y in range(len(tree._tree_lines)):
        ours, theirs = both(tree, y)
        assert cells(ours) == cells(theirs), f"row {y}: {tree._tree_lines[y].path[-1].label.plain!r}"
        drawn += type(tree._tree_lines[y].path[-1]._label) is RowLabel
    return drawn


async def test_rows_are_drawn_cell_for_cell_as_textual_draws_them(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source)  # the default detectors: flagged rows
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        tree = app.query_one(FileTree)
        # deep rows, links, flagged and deleted rows, expanded and collapsed folders, placeholders
        for path in ("/usr/local/bin/.cache/kworker", "/etc/ssl/private/server.key", "/srv/app/.env"):
            await go_to(pilot, 5, path)
        await expand_everything(pilot, tree)
        labels = [line.path[-1].label.plain for line in tree._tree_lines]
        assert any(" -> " in label for label in labels) and any("!" in label for label in labels)
        assert len(tree._tree_lines) > 30 and max(len(line.path) for line in tree._tree_lines) >= 5
        for theme in ("textual-dark", "textual-light"):
            app.theme = theme
            await pilot.pause()
            tree.focus()
            tree.cursor_line = 7
            tree.hover_line = 12  # hover on a folder's row: its guides are drawn in the hover style
            await pilot.pause()
            assert compare_every_row(tree) > 25  # most rows drawn by ours (the root's is Textual's)
            app.query_one("#layers").focus()  # unfocused: no 'selected' guides, a dimmer cursor
            tree.hover_line = -1
            await pilot.pause()
            assert compare_every_row(tree) > 25


async def test_row_labels_skip_textuals_text_rendering_and_other_labels_keep_it(demo_source, wait_for_scan,
                                                                               monkeypatch):
    from rich.text import Text

    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        tree = app.query_one(FileTree)
        await go_to(pilot, 5, "/usr/local/bin/.cache/kworker")
        rendered = []
        render = Text.render
        monkeypatch.setattr(Text, "render", lambda self, *a, **k: (rendered.append(self.plain), render(self, *a, **k))[1])
        for y in range(len(tree._tree_lines)):
            both_drawn = both(tree, y)  # ours, then Textual's
            assert both_drawn[0] is not both_drawn[1]
        ours = [y for y, line in enumerate(tree._tree_lines) if type(line.path[-1]._label) is RowLabel]
        # each row through Text.render once (Textual's drawing); the root's row twice (ours hands it on)
        assert len(ours) == len(tree._tree_lines) - 1 and tree._tree_lines[0].path[-1] is tree.root
        assert len(rendered) == len(tree._tree_lines) + 1
        assert sum(1 for plain in rendered if plain.startswith(tree.ICON_NODE_EXPANDED + "/ ")) == 2


async def test_hostile_and_wide_names_are_drawn_as_textual_draws_them(tmp_path, wait_for_scan):
    from explorer.demo.imagewriter import Entry, ImageSpec, Layer, write_image
    from explorer.sources import open_image

    names = ["日本語のファイル名", "emoji-🐍-file", "e\u0301combining", "[bold red]markup[/]", "tab\there",
             "esc\x1b[31mred", "bell\x07", "newline\nname", "rtl-\u202eevil", "zero\u200bwidth"]
    entries = [Entry.dir("/d"), Entry.dir("/d/深い")]
    entries += [Entry.file(f"/d/{name}", b"x") for name in names]
    entries += [Entry.file(f"/d/深い/{name}", b"y", mode=0o4755) for name in names[:3]]
    entries += [Entry.symlink("/d/link", "/d/[link]\x1b]8;;http://x\x07target"), Entry.hardlink("/d/hard", "/d/tab\there")]
    path = write_image(ImageSpec(layers=[Layer(entries, created_by="RUN make names")]), str(tmp_path / "names.tar"))
    with open_image(path) as source:
        app = ExplorerApp(source, detectors=DetectorSet())
        async with app.run_test(size=SIZE) as pilot:
            await wait_for_scan(pilot, app)
            tree = app.query_one(FileTree)
            await expand_everything(pilot, tree)
            tree.focus()
            tree.cursor_line = 3
            await pilot.pause()
            assert len(tree._tree_lines) >= len(names) + 8
            assert compare_every_row(tree) >= len(names) + 6
            for strip in (both(tree, y)[0] for y in range(len(tree._tree_lines))):
                text = "".join(segment.text for segment in strip)
                assert not any(ord(c) < 32 or c == "\x7f" for c in text)  # nothing the terminal would obey
                assert strip.cell_length == tree.size.width  # padded to the pane, wide characters counted as two


@asynccontextmanager
async def at_env(source, wait_for_scan):
    """(app, pilot, tree): the app on `source` with the tree's cursor on /srv/app/.env at layer 5."""
    app = ExplorerApp(source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        tree = app.query_one(FileTree)
        await go_to(pilot, 5, "/srv/app/.env")
        yield app, pilot, tree


async def test_a_restyle_repaints_the_rows_without_rebuilding_them_or_laying_the_screen_out(demo_source,
                                                                                            wait_for_scan):
    """A focus change, a theme switch: the rows look different, the rows and every size stay (Tree's own
    restyle rebuilt the rows and asked for a layout of the whole screen)."""
    async with at_env(demo_source, wait_for_scan) as (app, pilot, tree):
        rows = tree._tree_lines
        layouts = []
        original = tree.refresh
        tree.refresh = lambda *regions, **kw: layouts.append(kw.get("layout")) or original(*regions, **kw)
        tree.focus()
        await pilot.pause()
        app.query_one("#layers").focus()
        await pilot.pause()
        assert tree._tree_lines is rows and not any(layouts), layouts
        app.theme = "textual-light" if app.current_theme.dark else "textual-dark"
        await pilot.pause()
        assert tree._tree_lines is rows and not any(layouts), layouts
        assert compare_every_row(tree) > 5  # and drawn in the new theme, as Textual draws them


async def test_a_resize_keeps_the_rows_and_draws_what_textuals_rebuild_draws(demo_source, wait_for_scan,
                                                                             monkeypatch, tmp_path):
    """The tree grows or shrinks (the terminal, the tour panel leaving): its rows are kept (Tree's resize
    rebuilt them all), and it shows the same rows as with Textual's handler and drawing."""
    from explorer.tui import patches

    shots = {}
    for active in (True, False):
        monkeypatch.setattr(patches, "ACTIVE", active)
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / str(active)))  # (a session saves its theme)
        async with at_env(demo_source, wait_for_scan) as (app, pilot, tree):
            rows = tree._tree_lines
            shots[active] = []
            for size in ((SIZE[0], SIZE[1] + 12), (SIZE[0] - 30, SIZE[1] - 10), SIZE):
                await pilot.resize_terminal(*size)
                await pilot.pause()
                await pilot.pause()
                assert (tree._tree_lines is rows) == active
                tree._frame = None
                shots[active].append((tree.size, tree.virtual_size, tree.scroll_offset, tree.cursor_line,
                                      [cells(tree.render_line(y)) for y in range(tree.size.height)]))
            if active:
                assert compare_every_row(tree) > 5
    assert shots[True] == shots[False]  # cell for cell (the patched rows are cut into other segments)
