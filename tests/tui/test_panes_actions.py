"""Actions on the panes: find a path (substring, glob), export a copy, big folders, help, hostile text."""

from __future__ import annotations

import os
import stat

from explorer.scan.engine import DetectorSet
from explorer.demo.imagewriter import Entry, ImageSpec, Layer, write_image
from explorer.sources import open_image
from explorer.tui.app import ExplorerApp
from tests.support.pilot import go_to, search, wait_for_tree
from explorer.tui.screens.export import ExportScreen
from explorer.tui.screens.help import HelpScreen, binding_rows, ui_classes
from explorer.tui.screens.search import matcher
from explorer.tui.widgets.filetree import CHUNK, FileTree
from explorer.tui.widgets.summary import SummaryPanel

SIZE = (160, 48)


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def wait_for(pilot, condition, what: str) -> None:
    for _ in range(200):
        await pilot.pause(0.02)
        if condition():
            return
    raise AssertionError(what)


def test_matcher_substring_and_glob():
    assert matcher(".ENV")("/srv/app/.env")
    assert matcher("*.env")("/srv/app/.env") and not matcher("*.env")("/srv/app/.envrc")
    assert matcher("id_*")("/root/.ssh/id_rsa")  # no '/': the name alone may match
    assert matcher("/etc/*/id_*")("/etc/ssh/id_rsa") and not matcher("/etc/*/id_*")("/root/.ssh/id_rsa")
    assert matcher("kw?rker")("/tmp/.x/kworker") and matcher("[kz]worker")("/tmp/.x/kworker")


async def test_find_by_glob_lists_every_copy_with_its_fate_and_jumps(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        screen = await search(pilot, "*/curl")
        assert [(e.layer, e.path) for e in screen.found] == [(1, "/usr/bin/curl"), (5, "/usr/bin/curl")]
        labels = [screen.row_text(i).plain for i in range(2)]
        assert "replaced by layer 5" in labels[0] and "in the final image" in labels[1]
        await pilot.press("down", "enter")  # ↓ from the query goes to the results; enter on the first
        await wait_for_tree(pilot)
        tree = app.query_one(FileTree)
        assert app.layer_index == 1 and tree.cursor_node.data.path == "/usr/bin/curl"


async def test_find_a_deleted_copy_with_a_filter_on(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        await pilot.press("a")
        screen = await search(pilot, "kworker")
        assert [(e.layer, e.path) for e in screen.found] == [(3, "/tmp/.x/kworker"), (5, "/usr/bin/kworkerds")]
        assert "deleted by layer 4" in screen.row_text(0).plain
        await pilot.press("enter")
        await wait_for_tree(pilot)
        assert app.query_one(FileTree).cursor_node.data.path == "/tmp/.x/kworker"
        assert app.tree_filter.everything and any("Filters cleared" in n for n in notes(app))


async def test_export_a_deleted_copy_and_a_setuid_file(demo_source, wait_for_scan, tmp_path):
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        await go_to(pilot, 4, "/srv/app/.env")  # the ghost of the .env layer 4 deleted
        assert app.query_one(FileTree).cursor_node.data.deleted
        await pilot.press("x")
        assert isinstance(app.screen, ExportScreen) and app.screen.as_of == 3
        app.screen.query_one("#dest").value = str(tmp_path)
        await pilot.press("enter")
        written = tmp_path / ".env"
        await wait_for(pilot, written.exists, "the export did not write the file")
        assert written.read_bytes().startswith(b"APP_ENV=production\nGITHUB_TOKEN=ghp_")
        await wait_for(pilot, lambda: any("wrote" in n for n in notes(app)), "no report of the export")

        await go_to(pilot, 5, "/bin/ps")
        await pilot.press("x")
        app.screen.query_one("#dest").value = str(tmp_path)
        await pilot.press("enter")
        await wait_for(pilot, (tmp_path / "ps").exists, "the export did not write ps")
        mode = stat.S_IMODE(os.lstat(tmp_path / "ps").st_mode)
        assert mode & 0o6000 == 0 and mode & 0o755 == 0o755

        await pilot.press("x")  # again: nothing is overwritten
        app.screen.query_one("#dest").value = str(tmp_path)
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("refusing to overwrite" in n for n in notes(app)), "no refusal")


async def test_export_a_folder_as_it_was_in_that_layer(demo_source, wait_for_scan, tmp_path):
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        await go_to(pilot, 2, "/srv/app")
        await pilot.press("x")
        app.screen.query_one("#dest").value = str(tmp_path)
        await pilot.press("enter")
        await wait_for(pilot, (tmp_path / "app" / "app.py").exists, "the folder was not written")
        assert sorted(p.name for p in (tmp_path / "app").iterdir()) == [".env", "app.py"]
        await pilot.press("x", "escape")  # cancelled: nothing more happens
        assert not isinstance(app.screen, ExportScreen)


async def test_devices_are_never_exported(tmp_path, wait_for_scan):
    spec = ImageSpec(layers=[Layer([Entry.dir("/dev"), Entry.char("/dev/null", 1, 3)])])
    with open_image(write_image(spec, str(tmp_path / "dev.tar"))) as source:
        app = ExplorerApp(source, detectors=DetectorSet())
        async with app.run_test(size=SIZE) as pilot:
            await wait_for_scan(pilot, app)
            await go_to(pilot, 0, "/dev/null")
            await pilot.press("x")
            assert not isinstance(app.screen, ExportScreen)
            await pilot.pause()
            assert any("never written" in n for n in notes(app))


async def test_a_huge_folder_opens_in_chunks_and_reveal_loads_what_it_needs(tmp_path, wait_for_scan):
    files = [Entry.file(f"/big/f{i:05d}", b"x") for i in range(CHUNK * 2 + 100)]
    spec = ImageSpec(layers=[Layer([Entry.dir("/big")] + files)])
    with open_image(write_image(spec, str(tmp_path / "big.tar"))) as source:
        app = ExplorerApp(source, detectors=DetectorSet())
        async with app.run_test(size=SIZE) as pilot:
            await wait_for_scan(pilot, app)
            tree = app.query_one(FileTree)
            big = tree.root.children[0]
            big.expand()
            await pilot.pause()
            assert len(big.children) == CHUNK + 1 and big.children[-1].data.more == CHUNK
            assert "100 more" not in big.children[-1].label.plain and "more" in big.children[-1].label.plain
            tree.focus()
            tree.move_cursor(big.children[-1])
            await pilot.press("enter")
            await pilot.pause()
            assert len(big.children) == 2 * CHUNK + 1
            assert tree.cursor_node.data.path == f"/big/f{CHUNK:05d}"
            await go_to(pilot, 0, f"/big/f{CHUNK * 2 + 50:05d}")
            assert len(big.children) == CHUNK * 2 + 100
            assert tree.cursor_node.data.path == f"/big/f{CHUNK * 2 + 50:05d}"


async def test_help_lists_every_binding_of_every_widget_and_screen(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        described = {text for _where, _key, text in binding_rows(app)}
        classes = {cls.__name__ for cls in ui_classes()}
        assert {"FileTree", "LayerTable", "SearchScreen", "ExportScreen", "HelpScreen"} <= classes
        for cls in [ExplorerApp, *ui_classes()]:
            for binding in cls.__dict__["BINDINGS"]:
                assert (binding.tooltip or binding.description) in described, (cls.__name__, binding.key)
        keys = {key for _where, key, _text in binding_rows(app)}
        assert {"x", "s", "!", "/", "ctrl+t"} <= keys  # ctrl+t written out (Textual displays ^t)


async def test_hostile_config_and_names_stay_plain_text(tmp_path, wait_for_scan):
    evil = "[bold]x\x1b[2J[link=http://e]y[/link]"
    spec = ImageSpec(layers=[Layer([Entry.dir("/d"), Entry.file("/d/" + evil, b"x")], created_by="RUN " + evil)],
                     user=evil, entrypoint=[evil])
    with open_image(write_image(spec, str(tmp_path / "evil.tar"))) as source:
        app = ExplorerApp(source, detectors=DetectorSet())
        async with app.run_test(size=SIZE) as pilot:
            await wait_for_scan(pilot, app)
            from textual.content import Content
            for command in app.get_system_commands(app.screen):  # the palette reads these as markup
                for text in (command.title, command.help):
                    assert Content.from_markup(text).spans == [] or "[bold]" not in text
            shown = [Content.from_markup(c.help).plain for c in app.get_system_commands(app.screen)
                     if c.title == "Go to layer 0"]
            assert shown == ["RUN [bold]x\\x1b[2J[link=http://e]y[/link]"]
            summary = app.query_one(SummaryPanel).plain
            assert "[bold]x\\x1b[2J[link=http://e]y[/link]" in summary and "\x1b" not in summary
            screen = await search(pilot, "link=")
            prompt = screen.row_text(0)
            assert "\x1b" not in prompt.plain and "[link=http:/e]y[/link]" in prompt.plain  # shown, not a link
            assert all("link" not in str(span.style) for span in prompt.spans)
            await pilot.press("escape")
            await go_to(pilot, 0, "/d/" + evil)
            await pilot.press("x")
            assert "\x1b" not in app.screen.query_one("Static").render().plain


async def test_every_finding_is_listed_however_many():
    """`explorer scan` lists them all and so does the UI: the table builds only the rows on screen."""
    from textual.app import App

    from explorer.core.findings import Finding
    from explorer.tui.widgets.findings import FindingsTable

    class One(App):
        def compose(self):
            yield FindingsTable()

    count = 20000
    many = [Finding(rule_id="secret.x", category="secret", severity=("low", "high")[i % 2], title="t",
                    source="file", layer=i % 3, path=f"/f{i}", line=1, in_final_image=True, evidence="e",
                    created_by="", layer_digest="") for i in range(count)]
    app = One()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(FindingsTable)
        table.load(many)
        table.focus()
        await pilot.pause()
        assert table.row_count == count and "first" not in str(table.border_subtitle)
        assert [f.severity for f in table.findings] == ["high"] * (count // 2) + ["low"] * (count // 2)
        await pilot.press("end")
        last = table.findings[-1]
        assert table.cursor_row == count - 1 and last.path in table.lines.row(count - 1).plain
        assert last.path in "\n".join(table.render_line(y).text for y in range(table.size.height))
        table.action_cycle_sort()  # by layer ('s' in the app): the cursor stays on the same finding
        assert table.sort_by == "layer" and table.findings[table.cursor_row] is last