"""Issue 20, part 5: the UI fits 80×24 and 300×80, and the bugs of its list stay fixed.

Each test drives the real app on a real image (the demo, or one built here) and reads what is on the
screen (the composited rows), not only widget state: a bug here was text that existed but was not seen.
"""

from __future__ import annotations

import os
import re
import threading

from explorer.detectors.base import FileDetector
from explorer.scan.engine import DetectorSet
from explorer.demo.imagewriter import Entry, ImageSpec, Layer, write_image
from explorer.sources import open_image
from explorer.tui.app import ExplorerApp
from tests.support.pilot import go_to, view_copy, wait_for_tree, wait_until_scanned
from explorer.tui.screens.export import ExportScreen
from explorer.tui.screens.help import HelpScreen, binding_rows, ui_classes
from explorer.tui.widgets.details import Details
from explorer.tui.widgets.filetree import FileTree
from explorer.tui.widgets.findings import FindingsTable

LONG_RUN = "RUN " + " && ".join(f"step-{i:02d} --with-a-long-option" for i in range(14)) + " && END-OF-LINE"


def screen_rows(app) -> list[str]:
    """The screen as drawn, one string per terminal row."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def region_text(app, widget) -> str:
    """What the screen shows inside `widget`'s region (whatever covers it included)."""
    region = widget.region
    rows = screen_rows(app)[region.y:region.bottom]
    return "\n".join(row[region.x:region.right] for row in rows)


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def wait_for(pilot, condition, what: str, attempts: int = 200) -> None:
    for _ in range(attempts):
        await pilot.pause(0.02)
        if condition():
            return
    raise AssertionError(what)


def preview_image(tmp_path) -> str:
    """A text file with a secret deep in a long line, and a binary with strings past the text cut."""
    text = b"".join(b"line %d plain text\n" % i for i in range(400))
    text = text.replace(b"line 250 plain text",
                        b"line 250 " + b"x" * 300 + b" token=ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8")
    filler = bytes(range(11, 256))  # no newline: one very long "line" when read as text
    binary = b"\x7fELF\x00\x01" + filler * 40 + b"NEEDLE-in-binary" + bytes(3000) + filler * 150 + b"SECOND-one"
    spec = ImageSpec(layers=[Layer([Entry.dir("/d"), Entry.file("/d/app.conf", text),
                                    Entry.file("/d/blob.bin", binary), Entry.file("/d/gone", b"x")],
                                   created_by=LONG_RUN),
                             Layer([Entry.dir("/d"), Entry.whiteout("/d/gone")], created_by=LONG_RUN)])
    return write_image(spec, str(tmp_path / "preview.tar"))


# -- the Details pane -------------------------------------------------------------------------

async def test_details_pane_scrolls_to_every_finding_at_200x55(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source)
    async with app.run_test(size=(200, 55)) as pilot:
        await wait_for_scan(pilot, app)
        await go_to(pilot, 3, "/tmp/.x/config.json")
        details = app.query_one(Details)
        last = details.plain.splitlines()[-1].strip()
        assert re.match(r"(critical|high|medium|low|info)\b", last), last  # a finding row
        assert last not in region_text(app, details)  # six findings: more than the pane's rows
        details.focus()
        await pilot.press("end")  # scrolls smoothly: wait for the end
        await wait_for(pilot, lambda: details.scroll_y == details.max_scroll_y > 0, "the details' end")
        await pilot.pause()
        assert last[:40] in region_text(app, details)


async def test_layers_and_lines_are_named_apart(tmp_path, demo_source, wait_for_scan):
    """'L3' meant a line in the preview and a layer in Details: now 'layer 3' and 'line 3'."""
    app = ExplorerApp(demo_source)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for_scan(pilot, app)
        await go_to(pilot, 3, "/tmp/.x/config.json")
        details = app.query_one(Details).plain
        assert not re.search(r"\bL\d", details), details
        assert re.search(r"layer 3\s+miner\.", details), details
        await view_copy(pilot, 2, "/srv/app/.env")
        matches = str(app.screen.query_one("#matches").render())
        timeline = app.screen.query_one("#timeline").plain
        assert not re.search(r"\bL\d", matches + timeline), matches + timeline
        assert re.search(r"line 2\b", matches), matches


# -- the preview ------------------------------------------------------------------------------

async def test_text_search_finds_a_string_past_the_cut_of_a_binary_line(tmp_path, wait_for_scan):
    with open_image(preview_image(tmp_path)) as source:
        app = ExplorerApp(source, detectors=DetectorSet())
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for_scan(pilot, app)
            await view_copy(pilot, 0, "/d/blob.bin")
            viewer = app.screen
            await pilot.press("x")  # as text: the first "line" runs past the 4000 characters shown
            await wait_for(pilot, lambda: viewer.loaded and viewer.mode == "text", "no text view")
            await pilot.press("slash", *"NEEDLE", "enter")
            await pilot.pause()
            # past the characters the line shows as text: the match is shown in the hex view, and said so
            at = viewer.current.data.find(b"NEEDLE")
            assert viewer.mode == "hex" and viewer.query_one("#content").cursor == at // 16
            assert f"{at // 16 * 16:08x}" in region_text(app, viewer.query_one("#content"))
            assert any(f"found at byte {at:,}" in n for n in notes(app)), notes(app)


async def test_next_match_scrolls_a_secret_on_a_long_line_into_view(tmp_path, wait_for_scan):
    with open_image(preview_image(tmp_path)) as source:
        app = ExplorerApp(source)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for_scan(pilot, app)
            await view_copy(pilot, 0, "/d/app.conf")
            await pilot.press("m")
            await pilot.pause()
            shown = region_text(app, app.screen.query_one("#content"))
            assert "token=" in shown and "****" in shown, shown


async def test_hex_search_match_is_above_the_find_bar_at_80x24(tmp_path, wait_for_scan):
    with open_image(preview_image(tmp_path)) as source:
        app = ExplorerApp(source, detectors=DetectorSet())
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for_scan(pilot, app)
            await view_copy(pilot, 0, "/d/blob.bin")
            viewer = app.screen
            assert viewer.mode == "hex"
            await pilot.press("slash", *"SECOND", "enter")
            await pilot.pause()
            content, find = viewer.query_one("#content"), viewer.query_one("#find")
            at = viewer.current.data.find(b"SECOND")
            offset = f"{at // 16 * 16:08x}"
            rows = screen_rows(app)
            seen = [y for y, row in enumerate(rows) if offset in row]
            assert seen and seen[0] < find.region.y and content.region.y < seen[0] < content.region.bottom - 1, \
                (seen, find.region, content.region)


# -- the export box ---------------------------------------------------------------------------

async def test_export_box_says_where_and_a_typed_relative_path_goes_there(demo_source, wait_for_scan, tmp_path,
                                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = tmp_path / "exports"
    base.mkdir()
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for_scan(pilot, app)
        await go_to(pilot, 2, "/srv/app/.env")
        await pilot.press("x")
        box = app.screen
        assert isinstance(box, ExportScreen)
        box.base = str(base)  # the folder the box offers (the working folder by default)
        box.query_one("#dest").value = ""
        await pilot.press(*"out1")
        want = str(base / "out1")

        def says_where() -> bool:  # painted once the box has laid out its lines (later under load)
            said = region_text(app, box.query_one("Vertical"))  # a long path wraps inside the box's border
            return want in said or want in "".join(ch for ch in said if not ch.isspace() and ch not in "█▀▄▌▐")

        await wait_for(pilot, says_where, f"the box does not say {want}: {region_text(app, box.query_one('Vertical'))}")
        await pilot.press("enter")
        await wait_for(pilot, (base / "out1").exists, f"not written where the box said: {notes(app)}")
        assert (base / "out1").read_bytes().startswith(b"APP_ENV=")  # the file, named as typed
        assert not (tmp_path / "out1").exists()


# -- small and large terminals ----------------------------------------------------------------

PANES = ("#summary", "#layers", "#findings", "#files", "#details")


async def test_every_pane_has_rows_at_80x24(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_scan(pilot, app)
        for pane in PANES:
            widget = app.query_one(pane)
            assert widget.display and widget.scrollable_content_region.height >= 2, (pane, widget.region)
        findings = app.query_one(FindingsTable)
        shown = region_text(app, findings)
        assert shown.count(findings.findings[0].severity) >= 3, shown  # rows, not only the header


async def test_every_pane_is_used_at_300x80(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source)
    async with app.run_test(size=(300, 80)) as pilot:
        await wait_for_scan(pilot, app)
        for pane in PANES:
            widget = app.query_one(pane)
            assert widget.display and widget.region.width >= 60, (pane, widget.region)
        layers = region_text(app, app.query_one("#layers"))
        assert all(f"\n{i} " in "\n" + layers.replace("│", "").replace("╭", "") or f" {i} " in layers
                   for i in range(6))
        findings = app.query_one(FindingsTable)
        assert len(findings.findings) <= findings.scrollable_content_region.height  # all 47 on screen
        assert findings.findings[-1].rule_id[:12] in region_text(app, findings)


# -- help -------------------------------------------------------------------------------------

async def test_help_fits_80x24_and_names_keys_whole(demo_source, wait_for_scan):
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_scan(pilot, app)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        view = app.screen.query_one("#keys")
        assert view.region.x >= 0 and view.region.right <= 80
        text = str(view.render())
        assert not any(cls.__name__[:7] in text for cls in ui_classes()), "a class name in the help"
        for needed in ("esc / q / ?", "tab", "shift+tab", "mouse", "f1", "ctrl+t"):
            assert needed in text, needed
        quit_row = next(line for line in text.splitlines() if re.search(r"\bq\b", line) and "explorer" in line)
        assert "main" in quit_row and "closes" in text
        for where, key, _does in binding_rows(app):  # no key label or place cut
            assert any(f" {where} " in line and f" {key} " in line for line in text.splitlines()), (where, key)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_help_names_the_hand_over_places_in_words(demo_source, wait_for_scan):
    """The copy menu, a finding's detail, the report box and the question box (filter, accept) showed as
    CopyMenu, FindingDetail, ReportScreen and PromptScreen."""
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for_scan(pilot, app)
        places = {where for where, _key, _does in binding_rows(app)}
        assert {"copy menu", "finding", "report box", "question box", "raw tar", "tour"} <= places
        assert not [p for p in places if re.search(r"[A-Z]|\bscreen\b|\bview\b", p)], places
        await pilot.press("question_mark")
        text = str(app.screen.query_one("#keys").render())
        for name in ("CopyMenu", "FindingDetail", "ReportScreen", "PromptScreen", "prompt screen", "report screen"):
            assert name not in text, name
        rows = [line for line in text.splitlines() if " question box " in line]
        assert any(" esc " in line or " escape " in line for line in rows), rows


# -- keys while loading -----------------------------------------------------------------------

class Gate(FileDetector):
    """Holds the scan until the test opens it (so that keys arrive while the layers are read)."""
    name = "gate"

    def __init__(self) -> None:
        self.open = threading.Event()

    def wants(self, entry):
        return True

    def scan(self, entry, data):
        self.open.wait(10)
        return iter(())


async def test_t_pressed_while_loading_focuses_the_tree_when_shown(demo_source):
    gate = Gate()
    app = ExplorerApp(demo_source, detectors=DetectorSet(file=[gate]))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause(0.1)
        assert app.scan_index is None
        await pilot.press("t")
        gate.open.set()
        await wait_until_scanned(pilot)
        await wait_for_tree(pilot)
        assert isinstance(app.focused, FileTree), app.focused


# -- the palette's screenshot -----------------------------------------------------------------

async def test_palette_screenshot_without_downloads_says_where_it_went(demo_source, wait_for_scan, tmp_path,
                                                                       monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(work)
    app = ExplorerApp(demo_source, detectors=DetectorSet())
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_scan(pilot, app)
        command = next(c for c in app.get_system_commands(app.screen) if c.title == "Screenshot")
        command.callback()
        await wait_for(pilot, lambda: list(work.glob("*.svg")), f"no screenshot saved: {notes(app)}")
        await wait_for(pilot, lambda: any(str(work) in n for n in notes(app)), f"not said where: {notes(app)}")
        assert any("Downloads" in n and "does not exist" in n for n in notes(app)), notes(app)
        assert not any("Saved screenshot" in n for n in notes(app))  # Textual's own notice, replaced


# -- findings and wrapping --------------------------------------------------------------------

async def test_a_truncated_layer_finding_names_its_layer_not_config(tmp_path, wait_for_scan):
    spec = ImageSpec(layers=[Layer([Entry.dir("/a"), Entry.file("/a/one", b"1" * 5000)], created_by="ADD a"),
                             Layer([Entry.dir("/b"), Entry.file("/b/two", os.urandom(20000))],
                                   created_by="ADD b", truncate=3000)])
    with open_image(write_image(spec, str(tmp_path / "cut.tar"))) as source:
        app = ExplorerApp(source)
        async with app.run_test(size=(160, 48)) as pilot:
            await wait_for_scan(pilot, app)
            table = app.query_one(FindingsTable)
            row = next(i for i, f in enumerate(table.findings) if f.rule_id == "integrity.truncated-layer")
            cells = [c.plain for c in table._row_cells(row)]
            assert "config" not in cells[4] and "layer 1" in cells[4], cells
            table.focus()
            table.move_cursor(row=row)
            await pilot.press("enter")  # its detail view: in layer 1's blob, not "the image config"
            await pilot.pause()
            shown = app.screen.query_one("#body").render().plain
            assert "in: layer 1 blob" in shown and "the image config" not in shown, shown
            await pilot.press("escape")
            table.focus()
            await pilot.press("A")  # accepting it asks about the layer's blob too
            await pilot.pause()
            question = app.screen.question.plain
            assert "at layer 1 blob" in question and "config" not in question, question


async def test_long_history_lines_wrap_in_the_preview_header_and_details(tmp_path, wait_for_scan):
    with open_image(preview_image(tmp_path)) as source:
        app = ExplorerApp(source, detectors=DetectorSet())
        async with app.run_test(size=(100, 40)) as pilot:
            await wait_for_scan(pilot, app)
            await go_to(pilot, 0, "/d/gone")  # deleted by layer 1: Details says by which step
            assert "END-OF-LINE" in app.query_one(Details).plain
            await view_copy(pilot, 0, "/d/app.conf")
            assert "END-OF-LINE" in region_text(app, app.screen.query_one("#meta")).replace("\n", "")
            timeline = app.screen.query_one("#timeline")  # the path's history: whole, wrapped
            assert "END-OF-LINE" in timeline.plain
            rows = region_text(app, timeline).splitlines()
            assert "layer 0" in rows[1] and "step-00" in rows[2], rows
