"""The UI on real images: layers, the file tree per layer, findings, help, viewer, hostile names."""

from __future__ import annotations

from rich.text import Text

from explorer.detectors.base import FileDetector, ScanOptions
from explorer.scan.engine import DetectorSet
from explorer.core.findings import Match
from explorer.demo.imagewriter import Entry, ImageSpec, Layer, write_image
from explorer.sources import open_image
from explorer.tui.app import ExplorerApp
from explorer.tui.screens.help import HelpScreen
from tests.support.pilot import choose_finding, search, view_copy
from explorer.tui.screens.viewer import FileViewer
from explorer.tui.widgets.details import Details
from explorer.tui.widgets.filetree import FileTree
from explorer.tui.widgets.findings import FindingsTable
from explorer.tui.widgets.layers import LayerTable

SIZE = (160, 48)


class Marker(FileDetector):
    name = "marker"

    def wants(self, entry):
        return True

    def scan(self, entry, data):
        if b"MARK" in data:
            yield Match("test.marker", "suspicious", "high", "marker", evidence="MARK")


def child_paths(tree: FileTree, node=None) -> list[str]:
    node = node or tree.root
    return [c.data.path for c in node.children]


async def test_demo_opens_on_the_last_layer_with_every_layer_listed(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        layers = app.query_one(LayerTable)
        assert layers.row_count == len(demo_source.layers) == 6
        assert app.layer_index == 5
        assert "efficiency" in app.sub_title and "wasted" in app.sub_title
        findings = app.query_one(FindingsTable)
        assert findings.row_count == len(app.scan_index.result.findings) > 0


async def test_layer_keys_and_changes_only_view(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        tree = app.query_one(FileTree)
        await pilot.press("left_square_bracket")
        assert app.layer_index == 4 and tree.layer_index == 4
        # layer 4 only deletes: in the merged view the deleted folder shows as a ghost under /tmp (and /var
        # holds the apt list its opaque folder hid)
        await pilot.press("c")
        assert app.changes_only
        assert child_paths(tree) == ["/srv", "/tmp", "/var"]
        tmp = next(c for c in tree.root.children if c.data.path == "/tmp")
        tmp.expand()
        await pilot.pause()
        ghost = next(c for c in tmp.children if c.data.path == "/tmp/.x")
        assert ghost.data.deleted and "strike" in str(ghost.label.style) + "".join(str(s.style) for s in ghost.label.spans)
        await pilot.press("c")
        assert "/bin" in child_paths(tree) and "/etc" in child_paths(tree)


async def test_choosing_a_finding_shows_its_file_in_its_layer(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        await choose_finding(pilot, "/tmp/.x/kworker")
        tree = app.query_one(FileTree)
        assert app.layer_index == 3
        assert tree.cursor_node.data.path == "/tmp/.x/kworker"
        details = app.query_one(Details)
        assert "NOT visible in the final image" in details.plain
        assert "deleted  by layer 4: /bin/sh -c rm -rf /srv/app/.env /tmp/.x" in details.plain
        assert "miner.xmrig-strings" in details.plain


async def test_help_opens_again_and_closes_with_escape_or_q(demo_source, wait_for_scan):
    # what it lists: test_panes_actions.test_help_lists_every_binding_of_every_widget_and_screen
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("question_mark")  # again: the same screen, shown again
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("q")
        assert not isinstance(app.screen, HelpScreen)


async def test_viewer_shows_a_deleted_copy_of_a_secret_file(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        text = await view_copy(pilot, 2, "/srv/app/.env")
        assert isinstance(app.screen, FileViewer)
        assert "APP_ENV=production" in text and "GITHUB_TOKEN" in text


async def test_hostile_names_are_shown_escaped_never_styled(tmp_path, wait_for_scan):
    evil = "[bold red]x\x1b[31mred\nline"
    spec = ImageSpec(layers=[Layer([Entry.dir("/d"), Entry.file("/d/" + evil, b"MARK")],
                                   created_by="RUN echo \x1b]0;pwned\x07 [link=x]y[/link]")])
    path = write_image(spec, str(tmp_path / "evil.tar"))
    with open_image(path) as source:
        app = ExplorerApp(source, detectors=DetectorSet(file=[Marker()]))
        async with app.run_test(size=SIZE) as pilot:
            await wait_for_scan(pilot, app)
            tree = app.query_one(FileTree)
            d = tree.root.children[0]
            d.expand()
            await pilot.pause()
            label = d.children[0].label
            assert isinstance(label, Text)
            assert label.plain.startswith("A [bold red]x") and "\x1b" not in label.plain and "\\x1b" in label.plain
            assert "\n" not in label.plain
            cell = app.query_one(LayerTable).get_row_at(0)[-1]
            assert isinstance(cell, Text) and "\x1b" not in cell.plain and "[link=x]" in cell.plain
            finding_cell = app.query_one(FindingsTable).get_row_at(0)[3]  # where
            assert "\x1b" not in finding_cell.plain


async def test_command_palette_offers_layers_and_findings(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Go to layer 0" in titles and "Toggle changes only" in titles
        assert any(t.startswith("Finding: ") for t in titles)


async def test_scan_runs_in_a_worker_and_the_ui_answers_meanwhile(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source, detectors=DetectorSet(), options=ScanOptions())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")  # handled while the scan worker may still run
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await wait_for_scan(pilot, app)
        assert [w.group for w in app.workers] in ([], ["scan"])


async def test_find_a_path_in_every_layer_including_deleted_copies(demo_source, wait_for_scan):
    from explorer.tui.screens.search import SearchScreen

    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        screen = await search(pilot, ".env")
        assert isinstance(screen, SearchScreen)
        assert [(e.layer, e.path) for e in screen.found] == [(2, "/srv/app/.env")]
        await pilot.press("enter")
        await pilot.pause(0.2)
        tree = app.query_one(FileTree)
        assert app.layer_index == 2 and tree.cursor_node.data.path == "/srv/app/.env"


async def test_worker_stderr_goes_to_a_log_file_not_the_screen_and_the_app_says_so(
        demo_source, wait_for_scan, monkeypatch):
    import os
    from explorer.scan import workerlog

    diverted = []
    divert = workerlog.divert

    def divert_and_write(path):  # a worker writes to its stderr during the scan
        divert(path)
        if path is not None:
            diverted.append(path)
            with open(path, "a") as log:
                log.write("Traceback (most recent call last): ...\n")

    monkeypatch.setattr(workerlog, "divert", divert_and_write)
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        await pilot.pause()
        assert workerlog.target() == diverted[0]
        assert [n.message for n in app._notifications] == [f"worker processes wrote messages to {diverted[0]}"]
    assert workerlog.target() is None
    assert os.path.exists(diverted[0])  # kept: it holds what they wrote
    os.unlink(diverted[0])

    monkeypatch.setattr(workerlog, "divert", divert)
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        path = workerlog.target()
        assert path and os.path.exists(path) and not app._notifications
    assert workerlog.target() is None and not os.path.exists(path)  # an empty log is removed
