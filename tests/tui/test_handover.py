"""Handing findings over from the UI (issue 20, part 1): copy (y, ctrl+c), the findings report (R), a
finding's detail view (enter), and text cut with an ellipsis where a column is too narrow."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys

import pytest
from rich.text import Text

from explorer.demo import _token, write_demo
from explorer.reports.handover import finding_json
from explorer.sources import open_image
from explorer.tui.app import ExplorerApp
from tests.support.pilot import go_to, wait_for_tree, wait_until_scanned
from explorer.tui.screens.copymenu import CopyMenu
from explorer.tui.screens.finding import FindingDetail
from explorer.tui.screens.report import ReportScreen
from explorer.tui.tableview import clip, cut_text
from explorer.tui.widgets.filetree import FileTree
from explorer.tui.widgets.findings import FindingsTable
from explorer.tui.widgets.layers import LayerTable

SIZE = (200, 55)


def demo_secrets() -> tuple[str, str]:
    """The GitHub and Slack tokens planted in the demo's /srv/app/.env (as explorer.demo makes them)."""
    rng = random.Random(20261128)
    github = "ghp_" + _token(rng, 36)
    return github, _token(rng, 16)


async def on_finding(pilot, predicate) -> object:
    table = pilot.app.query_one(FindingsTable)
    finding = next(f for f in table.findings if predicate(f))
    table.focus()
    table.move_cursor(row=table.row_of(finding))
    await pilot.pause()
    return finding


async def test_y_copies_a_finding_as_json_and_text_with_its_secret_masked(demo_ui):
    app, pilot = demo_ui
    github, _ = demo_secrets()
    finding = await on_finding(pilot, lambda f: f.rule_id == "secret.github-pat")
    await pilot.press("y")
    await pilot.pause()
    assert isinstance(app.screen, CopyMenu)
    assert set(app.screen.choices) == {"path", "sha256", "text", "json"}
    await pilot.press("j")
    await pilot.pause()
    assert not isinstance(app.screen, CopyMenu)
    copied = json.loads(app.clipboard)
    assert copied["rule_id"] == "secret.github-pat" and copied["path"] == "/srv/app/.env"
    assert copied["layer"] == 2 and copied["in_final_image"] is False
    assert copied["evidence"] == finding.evidence and "*" in copied["evidence"]
    assert copied["sha256"] == finding.content_sha256 and len(copied["sha256"]) == 64
    assert github not in app.clipboard and github[:12] not in app.clipboard
    await pilot.press("y", "t")
    await pilot.pause()
    assert app.clipboard.splitlines()[0] == "[high] secret.github-pat: GitHub personal access token"
    assert "made by: COPY app/ /srv/app/ # buildkit" in app.clipboard
    assert "still visible in the final image: no" in app.clipboard and github not in app.clipboard
    await pilot.press("y", "p")
    await pilot.pause()
    assert app.clipboard == "/srv/app/.env"
    await pilot.press("y", "s")
    await pilot.pause()
    assert app.clipboard == finding.content_sha256


async def test_ctrl_c_copies_the_selected_files_path_and_y_its_sha256(demo_ui):
    app, pilot = demo_ui
    await go_to(pilot, 3, "/tmp/.x/kworker")
    await pilot.press("ctrl+c")
    await pilot.pause()
    assert app.clipboard == "/tmp/.x/kworker"
    entry = app.query_one(FileTree).cursor_node.data.entry
    await pilot.press("y")
    await pilot.pause()
    assert isinstance(app.screen, CopyMenu) and set(app.screen.choices) == {"path", "sha256"}
    await pilot.press("s")
    await pilot.pause()
    assert app.clipboard == entry.digest and len(entry.digest) == 64
    # over another screen ctrl+c is not the main screen's: the copy menu's escape, then nothing copied
    app.copy_to_clipboard("")
    await pilot.press("y")
    await pilot.pause()
    await pilot.press("ctrl+c")
    await pilot.pause()
    assert app.clipboard == ""


async def test_enter_on_a_finding_opens_its_detail_and_enter_there_goes_to_the_file(demo_ui):
    app, pilot = demo_ui
    github, _ = demo_secrets()
    finding = await on_finding(pilot, lambda f: f.rule_id == "secret.github-pat")
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(app.screen, FindingDetail) and app.screen.finding is finding
    shown = app.screen.query_one("#body").render().plain
    for expected in (finding.evidence, "secret.github-pat", "GitHub personal access token", "layer: 2",
                     finding.layer_digest, "made by: COPY app/ /srv/app/ # buildkit",
                     "still visible in the final image: no", "Every location (1)", "T1552.001",
                     "→ layer 2  /srv/app/.env:2"):
        assert expected in shown, expected
    assert github not in shown
    await pilot.press("y", "p")  # copy from the detail view
    await pilot.pause()
    assert app.clipboard == "/srv/app/.env" and isinstance(app.screen, FindingDetail)
    await pilot.press("enter")
    await wait_for_tree(pilot)
    assert not isinstance(app.screen, FindingDetail)
    assert app.layer_index == 2 and app.query_one(FileTree).cursor_node.data.path == "/srv/app/.env"


async def test_the_detail_view_lists_every_copy_of_the_same_file(demo_ui):
    app, pilot = demo_ui
    findings = app.scan_index.result.findings
    # the demo's miner config: planted in layer 3, deleted by layer 4
    finding = await on_finding(pilot, lambda f: f.path == "/tmp/.x/kworker")
    same = [f for f in findings if f.rule_id == finding.rule_id
            and (f.path == finding.path or f.content_sha256 == finding.content_sha256)]
    await pilot.press("enter")
    await pilot.pause()
    shown = app.screen.query_one("#body").render().plain
    assert f"Every location ({len(same)})" in shown
    assert all(f"layer {f.layer}  {f.path}" in shown for f in same)


async def test_R_writes_the_same_sarif_as_scan_and_json_and_markdown(tmp_path):
    image = write_demo(str(tmp_path))
    out = tmp_path / "out"
    source = open_image(image)
    app = ExplorerApp(source)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_until_scanned(pilot)
            await pilot.press("R")
            await pilot.pause()
            assert isinstance(app.screen, ReportScreen) and app.screen.format == "sarif"
            await pilot.press("ctrl+u", *str(out / "reports"), "enter")  # a folder that does not exist yet
            await pilot.pause()
            assert app.report_paths == [str(out / "reports" / "explorer-report.sarif")]
            # again: a new name, nothing overwritten; this time all three formats
            await pilot.press("R")
            await pilot.pause()
            await pilot.press("shift+tab", "down", "down", "down", "enter", "tab")
            await pilot.pause()
            assert app.screen.format == "all"
            await pilot.press("ctrl+u", *str(out / "reports"), "enter")
            await pilot.pause()
            names = sorted(p.rsplit("/", 1)[-1] for p in app.report_paths)
            assert names == ["explorer-report-2.sarif", "explorer-report.json", "explorer-report.md"]
    finally:
        source.close()
    ui_sarif = (out / "reports" / "explorer-report.sarif").read_bytes()
    assert (out / "reports" / "explorer-report-2.sarif").read_bytes() == ui_sarif
    scanned = {}
    for fmt in ("sarif", "json"):
        done = subprocess.run([sys.executable, "-m", "explorer", "--no-cache", "scan", image, "--format", fmt],
                              capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr
        scanned[fmt] = done.stdout
    assert ui_sarif == scanned["sarif"]
    assert (out / "reports" / "explorer-report.json").read_bytes() == scanned["json"]
    doc = json.loads(ui_sarif)
    assert len(doc["runs"][0]["results"]) == len(json.loads(scanned["json"])["findings"]) > 10
    markdown = (out / "reports" / "explorer-report.md").read_text()
    assert "| severity | rule | layer | history line | path | still visible | evidence |" in markdown
    github, _ = demo_secrets()
    assert github not in markdown and github[:12] not in markdown
    row = next(line for line in markdown.splitlines() if "secret.github" in line)
    assert row.startswith("| high | secret.github\\-pat | 2 | COPY app\\/") or "| 2 |" in row
    assert "| no |" in row and "\\/srv\\/app\\/.env" not in row and "/srv/app/.env:2" in row.replace("\\", "")


def test_markdown_cells_cannot_make_links_tags_columns_or_mentions():
    from explorer.reports.markdown import md

    cell = md("/x|y [a](http://e) <img src=x> @you #12 `c` \x1b[2J\nz")
    assert "|" not in cell.replace("\\|", "") and "\n" not in cell and "\x1b" not in cell
    for special in "[]()<>@#`|":  # each one escaped: preceded by a backslash
        assert re.search(r"(?<!\\)" + re.escape(special), cell) is None, special
    assert cell.replace("\\", "").startswith("/x|y [a](http://e) <img src=x> @you #12 `c` x1b[2Jnz")  # (control characters as \\x1b, \\n)


def test_cut_text_marks_the_cut_with_an_ellipsis_in_the_middle_or_at_the_end():
    text = Text("COPY file:0123456789abcdef0123456789abcdef in /srv/app/")
    middle = cut_text(text, 24, "middle")
    assert middle.cell_len == 24 and middle.plain.startswith("COPY file:") and middle.plain.endswith("/srv/app/")
    assert "…" in middle.plain
    end = cut_text(text, 24)
    assert end.cell_len == 24 and end.plain.endswith("…") and end.plain.startswith("COPY file:0123")
    assert cut_text(text, 200) is text
    assert clip("x" * 10, 5) == "xxxx…" and clip("abcdefghij", 5, "middle") == "ab…ij" and clip("abc", 5) == "abc"


async def test_findings_fit_the_pane_with_the_evidence_visible_and_cuts_marked(demo_ui):
    app, pilot = demo_ui
    table = app.query_one(FindingsTable)
    pane = table.scrollable_content_region.width
    assert table.virtual_size.width <= pane  # no horizontal scrolling
    assert table.header_rows == 1
    header = table.render_line(0).text
    assert "evidence" in header and header.rstrip().endswith("evidence")
    rows = [table.render_line(y).text for y in range(1, min(table.size.height, table.row_count + 1))]
    shown = table.findings[:len(rows)]
    for row, finding in zip(rows, shown):
        assert finding.evidence[:8] in row or finding.evidence == "", (row, finding.evidence)
    cut = [row for row, f in zip(rows, shown) if len(f.evidence) > 40]
    assert cut and all("…" in row for row in cut)
    # the layer list: COPY lines keep their destination (cut in the middle)
    layers = app.query_one(LayerTable)
    line = layers.render_line(1 + 5).text  # layer 5: COPY dir:9a1f3 in /
    assert "in /" in line
    assert re.search(r"COPY app/ /srv/app/", layers.render_line(1 + 2).text)


@pytest.mark.parametrize("width", [120, 300])
async def test_findings_columns_follow_the_pane_width(demo_source, width):
    app = ExplorerApp(demo_source)
    async with app.run_test(size=(width, 50)) as pilot:
        await wait_until_scanned(pilot)
        table = app.query_one(FindingsTable)
        assert table.virtual_size.width <= max(table.scrollable_content_region.width,
                                               sum(c.width + 2 for c in table.columns) + 1)
        evidence = table.columns.index(next(c for c in table.columns if c.label == "evidence"))
        assert table._widths[evidence] >= 12
        if width == 300:
            assert table._widths[evidence] > 40


def test_finding_json_is_the_scan_documents_entry_plus_digests():
    from explorer.core.findings import Finding

    f = Finding("secret.x", "secret", "high", "X", "file", 1, "/a", 2, True, "tok_abcd****", "RUN x",
                layer_digest="sha256:" + "1" * 64, content_sha256="2" * 64)
    doc = json.loads(finding_json(f))
    assert doc == {**f.to_json(), "layer_digest": "sha256:" + "1" * 64, "sha256": "2" * 64}


async def test_the_palette_offers_copy_report_group_filter_and_accept(demo_ui):
    app, pilot = demo_ui
    commands = {c.title: c.callback for c in app.get_system_commands(app.screen)}
    for title in ("Copy to the clipboard", "Copy the path", "Export the findings report",
                  "Findings: group by rule or not", "Findings: filter", "Findings: accept the selected one"):
        assert title in commands, title
    await go_to(pilot, 2, "/srv/app/.env")
    commands["Copy the path"]()
    assert app.clipboard == "/srv/app/.env"
    commands["Findings: group by rule or not"]()
    assert app.query_one(FindingsTable).grouped
    commands["Export the findings report"]()
    await pilot.pause()
    assert isinstance(app.screen, ReportScreen)
