"""Teaching: the raw tar view (r), opaque folders labelled, digest vs diff_id explained, the guided tour (T)."""

from __future__ import annotations

import io

from explorer.scan.engine import DetectorSet
from explorer.demo.imagewriter import Entry, ImageSpec, Layer, compress, layer_tar, write_image
from explorer.layerfs.rawmembers import read_raw_members
from explorer.core.model import LayerRef
from explorer.sources import open_image
from explorer.tui.app import ExplorerApp
from explorer.tui.lineview import LineView
from tests.support.pilot import go_to, wait_for_tree
from explorer.tui.screens.config import ConfigView
from explorer.tui.screens.rawlayer import RawLayerView, member_row
from explorer.tui.widgets.details import Details
from explorer.tui.widgets.filetree import FileTree
from explorer.tui.widgets.findings import FindingsTable
from explorer.tui.widgets.layers import LayerTable
from explorer.tui.widgets.tour import TourPanel, start_tour
from tests.tui.test_panes_actions import wait_for

SIZE = (160, 48)


def row_texts(view: LineView) -> list[str]:
    return [view.lines.row(i).plain for i in range(len(view.lines))]


async def open_raw(pilot, app, layer: int) -> RawLayerView:
    app._step_layer(layer - app.layer_index)
    await wait_for_tree(pilot)
    await pilot.press("r")
    screen = app.screen
    assert isinstance(screen, RawLayerView) and screen.layer_index == layer
    await wait_for(pilot, lambda: screen.ready, "the raw view did not read the layer")
    return screen


async def test_raw_view_shows_whiteout_and_opaque_members_as_stored(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        screen = await open_raw(pilot, app, 4)
        view = screen.query_one(LineView)
        rows = row_texts(view)
        assert [m.name for m in screen.listing.members] == [
            "srv/app/.wh..env", "tmp/.wh..x", "var/lib/apt/lists", "var/lib/apt/lists/.wh..wh..opq"]
        assert any("srv/app/.wh..env" in r and "deletes /srv/app/.env from lower layers" in r for r in rows)
        assert any("tmp/.wh..x" in r and "deletes /tmp/.x from lower layers" in r for r in rows)
        opq = next(r for r in rows if ".wh..wh..opq" in r)
        assert "hides everything lower layers had in /var/lib/apt/lists" in opq and "0 opaque" in opq
        assert "5 dir" in next(r for r in rows if r.rstrip().endswith("var/lib/apt/lists"))
        # the cursor starts on the first marker; n walks the markers (3 of them), wrapping round
        assert screen.marker_rows == [1, 2, 4] and view.cursor == 1
        await pilot.press("n")
        assert view.cursor == 2
        await pilot.press("n", "n")
        assert view.cursor == 1
        await pilot.press("p")
        assert view.cursor == 4
        # enter on the opaque marker: the folder it empties, in the file tree of that layer
        await pilot.press("enter")
        await wait_for_tree(pilot)
        assert not isinstance(app.screen, RawLayerView)
        tree = app.query_one(FileTree)
        assert app.layer_index == 4 and tree.cursor_node.data.path == "/var/lib/apt/lists"
        screen = await open_raw(pilot, app, 4)
        await pilot.press("enter")  # on the first marker, the whiteout of .env: its deleted copy
        await wait_for_tree(pilot)
        assert tree.cursor_node.data.path == "/srv/app/.env" and tree.cursor_node.data.deleted
        # a layer with no marker: all its members, a plain file row with its size and mode
        screen = await open_raw(pilot, app, 5)
        assert screen.marker_rows == [] and len(screen.listing.members) == 15
        passwd = next(r for r in row_texts(screen.query_one(LineView)) if r.rstrip().endswith("etc/passwd"))
        assert "0 file" in passwd and "0644" in passwd and "0:0" in passwd
        await pilot.press("n")
        assert "no whiteout" in str(list(app._notifications)[-1].message)


async def test_raw_view_of_a_damaged_layer_shows_what_was_read_and_the_problem(tmp_path, wait_for_scan):
    files = [Entry.file(f"/f{i}", bytes(range(256)) * 20) for i in range(40)]
    whole = len(compress(layer_tar(files), "gzip"))
    spec = ImageSpec(layers=[Layer([Entry.dir("/a"), Entry.whiteout("/gone")], created_by="RUN a"),
                             Layer(files, created_by="RUN b", truncate=whole // 2)])
    cut = tmp_path / "cut.tar"
    write_image(spec, str(cut))
    with open_image(str(cut)) as source:
        app = ExplorerApp(source, detectors=DetectorSet())
        async with app.run_test(size=SIZE) as pilot:
            await wait_for_scan(pilot, app)
            screen = await open_raw(pilot, app, 1)
            read = len(screen.listing.members)
            assert 0 < read < 40
            assert screen.listing.problems and f"{read} members read" in screen.listing.problems[0]
            rows = row_texts(screen.query_one(LineView))
            assert rows[-1] == screen.listing.problems[0] and "cut short" in rows[-1]
            assert f"{read} members read" in str(screen.query_one("#raw-meta").render())
            await pilot.press("escape")
            screen = await open_raw(pilot, app, 0)  # the sound layer below still reads whole
            assert not screen.listing.problems and screen.marker_rows == [2]


async def test_opaque_folder_labelled_and_its_history_says_replaced_not_deleted(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source)  # real detectors: the miner deleted with its folder keeps its !C
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        await go_to(pilot, 4, "/var/lib/apt/lists")
        tree = app.query_one(FileTree)
        node = tree.cursor_node
        assert node.data.path == "/var/lib/apt/lists" and "opaque" in node.label.plain
        details = app.query_one(Details).plain
        assert "layer   4  replaced its contents (opaque)" in details
        assert "deleted" not in details.split("history", 1)[1]
        # the list of layer 1 it hid: a D row inside, with a history saying why
        node.expand()
        await pilot.pause()
        hidden = [c for c in node.children if c.data is not None and c.data.path.endswith("_InRelease")]
        assert hidden and hidden[0].data.deleted and hidden[0].label.plain.startswith("D ")
        await go_to(pilot, 4, hidden[0].data.path)
        assert "hidden by opaque folder /var/lib/apt/lists" in app.query_one(Details).plain
        # at another layer the folder is not labelled (the marker belongs to layer 4)
        await go_to(pilot, 5, "/var/lib/apt/lists")
        assert "opaque" not in tree.cursor_node.label.plain
        # a file deleted through its parent folder keeps its deletion and finding markers at that layer
        await go_to(pilot, 4, "/tmp/.x/kworker")
        label = tree.cursor_node.label.plain
        assert tree.cursor_node.data.deleted and label.startswith("D ") and "!C" in label
        assert "!C" in tree.cursor_node.parent.label.plain  # and its folder too, as before


async def test_concepts_tab_explains_digest_and_diff_id_with_this_images_values(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        await pilot.press("i")
        screen = app.screen
        assert isinstance(screen, ConfigView)
        await wait_for(pilot, lambda: screen.ready, "the config view did not fill")
        await pilot.press("6")
        text = screen.query_one("#view-concepts", LineView).lines.plain
        layers = app.scan_index.analysis.layers
        top, first = layers[5].stats, layers[0].stats
        assert top.digest == top.diff_id and first.digest != first.diff_id
        lines = text.splitlines()
        at = next(i for i, line in enumerate(lines) if line.strip().startswith("layer 5: digest"))
        assert top.digest in lines[at] and top.diff_id in lines[at + 1]
        assert "digest = diff_id: stored uncompressed" in lines[at + 2]
        at = next(i for i, line in enumerate(lines) if line.strip().startswith("layer 0: digest"))
        assert first.digest in lines[at] and first.diff_id in lines[at + 1]
        assert "digest ≠ diff_id: the digest hashes the gzip-compressed blob" in lines[at + 2]
        assert "1 layer(s) stored uncompressed (digest = diff_id), 5 compressed (they differ)." in text
        assert "from a docker-archive" in text


async def test_guided_tour_walks_every_concept_on_the_demo(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        left = [w.region for w in app.query("#summary, #layers, #findings")]
        await pilot.press("T")
        panel = app.query_one(TourPanel)
        assert panel.has_focus
        # in the right column: opening it resizes (and redraws) the tree and the details, not the left panes
        await pilot.pause()
        assert panel.parent.id == "right" and [w.region for w in app.query("#summary, #layers, #findings")] == left
        tree = app.query_one(FileTree)
        seen = []
        heights = set()
        for step in range(len(panel.steps)):
            await wait_for_tree(pilot)
            await pilot.pause(0.05)
            current = panel.step
            highlighted = [w.id for w in app.query(".tour-highlight")]
            cursor = tree.cursor_node.data.path if tree.cursor_node is not None and tree.cursor_node.data else None
            table = app.query_one(FindingsTable)
            if current.finding is not None:  # the findings list's cursor is on the step's finding
                assert table.findings[table.cursor] is current.finding
            if current.title == "digest vs diff_id":  # the details pane shows that layer's two hashes
                shown = app.query_one(Details).plain
                assert shown.startswith("Layer 5") and app.scan_index.analysis.layers[5].stats.diff_id in shown
            seen.append((current.title, app.layer_index, cursor, highlighted))
            assert f"{step + 1}/{len(panel.steps)}  {current.title}" in str(panel.render())
            heights.add(panel.outer_size.height)
            await pilot.press("n")
        titles = [s[0] for s in seen]
        assert titles == ["Layers", "A whiteout", "An opaque folder", "A finding", "Deleted but still shipped",
                          "digest vs diff_id", "End of the tour"]
        by_title = {s[0]: s[1:] for s in seen}
        assert by_title["Layers"][0] == 0 and by_title["Layers"][2] == ["layers"]
        assert by_title["A whiteout"] == (4, "/srv/app/.env", ["files"])
        assert by_title["An opaque folder"] == (4, "/var/lib/apt/lists", ["files"])
        steps = {s.title: s for s in panel.steps}
        finding = steps["A finding"].finding
        assert finding.severity == "critical" and finding.in_final_image
        assert by_title["A finding"] == (finding.layer, finding.path, ["findings"])
        gone = steps["Deleted but still shipped"].finding
        assert not gone.in_final_image and gone.severity == "critical" and gone.path.startswith("/tmp/.x/")
        assert by_title["Deleted but still shipped"] == (3, gone.path, ["details"])
        assert "layer 4 deleted it" in steps["Deleted but still shipped"].text
        assert by_title["digest vs diff_id"][0] == 5 and by_title["digest vs diff_id"][2] == ["details"]
        whiteout = next(s for s in panel.steps if s.title == "A whiteout")
        assert "srv/app/.wh..env" in whiteout.text
        digest = next(s for s in panel.steps if s.title == "digest vs diff_id")
        top = app.scan_index.analysis.layers[5].stats
        assert top.digest[:19] in digest.text and "uncompressed" in digest.text
        # n at the end stays there; p goes back one step; r over the tour opens the raw view and comes back
        assert panel.step.title == "End of the tour"
        await pilot.press("p", "p", "p", "p", "p")
        await wait_for_tree(pilot)
        assert panel.step.title == "A whiteout" and app.layer_index == 4
        await pilot.press("r")
        assert isinstance(app.screen, RawLayerView) and app.screen.layer_index == 4
        await pilot.press("escape")
        assert app.query_one(TourPanel).has_focus
        await pilot.press("escape")
        await pilot.pause()
        assert not panel.display and not app.query(".tour-highlight") and app.query_one(LayerTable).has_focus
        # one height for every step (a step of another height laid the whole screen out again); hidden, not
        # removed, and T shows it again from its first step
        assert len(heights) == 1, heights
        await pilot.press("T")
        await pilot.pause()
        assert app.query_one(TourPanel) is panel and panel.display and panel.has_focus
        assert panel.step.title == "Layers" and [w.id for w in app.query(".tour-highlight")] == ["layers"]


def tour_frames(app: ExplorerApp, what) -> list:
    """`what(panel)` at each frame the app draws while the tour panel is mounted."""
    frames = []
    display = app._display

    def drawn(screen, renderable):
        if renderable is not None and app.query(TourPanel):
            frames.append(what(app.query_one(TourPanel)))
        return display(screen, renderable)

    app._display = drawn
    return frames


async def open_tour(pilot, app: ExplorerApp, wait_for_scan) -> TourPanel:
    await wait_for_scan(pilot, app)
    await pilot.press("T")
    await wait_for_tree(pilot)
    return app.query_one(TourPanel)


async def test_a_tour_step_draws_its_text_before_the_panes_move_and_a_skipped_step_moves_nothing(
        demo_source, wait_for_scan, monkeypatch):
    """The panel answers a key in the frame after it; the layer switch and the tree's cursor come after that
    frame (a big layer's tree took the panel's answer past 100 ms). Keys faster than frames move the panes
    once, to the last step."""
    from explorer.tui.widgets import tour

    moved = []
    go = tour.go
    monkeypatch.setattr(tour, "go", lambda app, step: moved.append(step.title) or go(app, step))
    app = ExplorerApp(demo_source)
    frames = tour_frames(app, lambda panel: (panel.step.title, str(panel.render()), app.layer_index))
    async with app.run_test(size=SIZE) as pilot:
        panel = await open_tour(pilot, app, wait_for_scan)
        assert moved == ["Layers"] and app.layer_index == 0
        frames.clear()
        await pilot.press("n")
        await wait_for_tree(pilot)
        await pilot.pause(0.05)
        assert moved == ["Layers", "A whiteout"] and app.layer_index == 4
        first = next(f for f in frames if f[0] == "A whiteout")
        assert "2/7  A whiteout" in first[1] and first[2] == 0, frames  # the text, with layer 0 still shown
        assert frames[-1][2] == 4
        # two keys before a frame: the panes go to the second step only
        app.screen._update_timer.pause()
        panel.action_step(1)
        panel.action_step(1)
        app.screen._update_timer.resume()
        await wait_for_tree(pilot)
        await pilot.pause(0.05)
        assert panel.step.title == "A finding" and moved[2:] == ["A finding"]
        # leaving before the frame: the panes stay where they are
        app.screen._update_timer.pause()
        panel.action_step(1)
        panel.action_leave()
        app.screen._update_timer.resume()
        await pilot.pause(0.1)
        assert moved[3:] == []


async def test_leaving_the_tour_blanks_the_panel_in_one_frame_and_gives_its_rows_back_in_the_next(demo_source,
                                                                                                 wait_for_scan):
    app = ExplorerApp(demo_source)
    frames = tour_frames(app, lambda panel: (panel.visible, app.query_one(FileTree).region))
    async with app.run_test(size=SIZE) as pilot:
        panel = await open_tour(pilot, app, wait_for_scan)
        await pilot.pause(0.05)
        during = app.query_one(FileTree).region
        frames.clear()
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert frames[0] == (False, during), frames  # blank at once, the tree not resized yet
        assert not panel.display and app.query_one(FileTree).region.height > during.height
        assert app.query_one(LayerTable).has_focus and not app.query(".tour-highlight")
        # T again between the blank frame and the fold: the tour stays
        await pilot.press("T")
        await pilot.pause(0.1)
        assert panel.display and panel.visible
        app.screen._update_timer.pause()
        panel.action_leave()
        assert start_tour(app) is panel
        app.screen._update_timer.resume()
        await pilot.pause(0.1)
        assert panel.display and panel.visible and panel.has_focus and app.query_one(FileTree).region == during


def test_raw_rows_escape_hostile_names_and_show_link_targets():
    evil = "x\x1b[2J\x07[bold]y"
    blob = layer_tar([Entry.file("/" + evil, b"1"), Entry.whiteout("/" + evil), Entry.symlink("/l", "../t")])
    got = read_raw_members(io.BytesIO(blob), LayerRef(0, "x", None, "", 0, None))
    row = member_row(got.members[1]).plain
    assert "\x1b" not in row and "\x07" not in row and "[bold]" in row and got.members[1].kind == "whiteout"
    assert member_row(got.members[2]).plain.rstrip().endswith("l -> ../t")


async def test_palette_opens_the_raw_view_and_the_tour(demo_source, wait_for_scan):
    from explorer.tui.palette import palette_commands

    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for_scan(pilot, app)
        commands = {c.title: c.callback for c in palette_commands(app)}
        commands["Raw tar members of the layer"]()
        await pilot.pause()
        assert isinstance(app.screen, RawLayerView) and app.screen.layer_index == app.layer_index == 5
        await pilot.press("escape")
        commands["Guided tour"]()
        await pilot.pause()
        assert app.query_one(TourPanel).step.title == "Layers"
