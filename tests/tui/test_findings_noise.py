"""The findings pane against noise (issue 20, part 3): grouped by rule (g), filtered (F), the ignore file
and --disable honoured by `open` as by `scan`, and a finding accepted from the UI (A) into the ignore
file that `explorer scan` then reads back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.demo import write_demo
from explorer.detectors.base import ScanOptions
from explorer.reports.ignorefile import load_ignore_file
from explorer.sources import open_image
from explorer.tui.app import ExplorerApp
from explorer.tui.findings_filter import FindingFilter, parse
from tests.support.pilot import wait_until_scanned
from explorer.tui.screens.finding import FindingDetail
from explorer.tui.screens.prompt import PromptScreen
from explorer.tui.widgets.findings import FindingsTable, RuleGroup

SIZE = (200, 55)
ROOT = str(Path(__file__).resolve().parents[2])
"""This worktree: `python -m explorer` from another folder runs this code."""


@pytest.fixture
def image(tmp_path):
    return write_demo(str(tmp_path))


def scan_output(image: str, *flags: str, cwd=None) -> bytes:
    """What `explorer scan IMAGE --format json FLAGS` writes."""
    done = subprocess.run([sys.executable, "-m", "explorer", "--no-cache", "scan", image, "--format", "json", *flags],
                          capture_output=True, timeout=300, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": ROOT})
    assert done.returncode == 0, done.stderr
    return done.stdout


def scan_json(image: str, *flags: str, cwd=None) -> dict:
    return json.loads(scan_output(image, *flags, cwd=cwd))


async def test_g_groups_the_findings_by_rule_with_counts_and_enter_opens_a_group(demo_ui):
    app, pilot = demo_ui
    table = app.query_one(FindingsTable)
    every = table.row_count
    rules = {f.rule_id for f in table.findings}
    await pilot.press("f", "g")
    assert table.grouped and table.row_count == len(rules) < every
    row = next(i for i in range(table.row_count) if isinstance(table._rows[i], RuleGroup)
               and table._rows[i].rule_id == "miner.pool-host")
    group = table._rows[row]
    assert len(group.findings) == 4 and all(f.rule_id == "miner.pool-host" for f in group.findings)
    cells = table.get_row_at(row)
    assert cells[3].plain == "▸ miner.pool-host" and cells[4].plain == "4 findings"
    assert "grouped by rule (g)" in table.border_subtitle
    table.move_cursor(row=row)
    await pilot.press("enter")  # opens the group: its four findings below it
    assert table.row_count == len(rules) + 4 and table.cursor_row == row
    assert table.get_row_at(row)[3].plain == "▾ miner.pool-host"
    assert [table._rows[row + i] for i in range(1, 5)] == group.findings
    await pilot.press("down", "enter")  # a finding of the group: its detail view
    await pilot.pause()
    assert isinstance(app.screen, FindingDetail) and app.screen.finding is group.findings[0]
    await pilot.press("escape", "up", "enter")  # closes the group again
    assert table.row_count == len(rules)
    await pilot.press("g")
    assert not table.grouped and table.row_count == every


async def test_F_filters_by_severity_category_rule_and_text(demo_ui):
    app, pilot = demo_ui
    table = app.query_one(FindingsTable)
    every = list(table.findings)
    await pilot.press("f", "F")
    await pilot.pause()
    assert isinstance(app.screen, PromptScreen)
    await pilot.press(*"critical", "enter")
    await pilot.pause()
    shown = table.findings
    assert shown == [f for f in every if f.severity == "critical"] and 0 < len(shown) < len(every)
    assert f"{len(shown)} of {len(every)} shown" in table.border_subtitle
    await pilot.press("F")
    await pilot.pause()
    await pilot.press("ctrl+u", *"high+ secret rule:secret.* slack", "enter")
    await pilot.pause()
    assert [f.rule_id for f in table.findings] == [f.rule_id for f in every if f.category == "secret"
                                                   and f.severity in ("high", "critical") and "slack" in f.rule_id]
    assert table.findings and all("slack" in f.rule_id for f in table.findings)
    await pilot.press("F")
    await pilot.pause()
    await pilot.press("ctrl+u", "enter")  # empty: everything again
    await pilot.pause()
    assert table.findings == every and "shown" not in table.border_subtitle


def test_filter_words_read_back_as_typed():
    flt = parse("medium+ Secret,miner rule:secret.* TOKEN env")
    assert flt.severities == {"medium", "high", "critical"} and flt.categories == {"secret", "miner"}
    assert flt.rule == "secret.*" and flt.words == ("token", "env")
    assert parse(flt.text()) == flt
    assert parse("").empty and FindingFilter().text() == ""


async def test_A_accepts_a_finding_into_the_ignore_file_and_scan_reads_it_back(image, tmp_path):
    ignore = tmp_path / "accepted.toml"
    ignore.write_text('# ours\n[[ignore]]\nrule = "misconfig.*"\nreason = "known"')  # no final newline
    source = open_image(image)
    app = ExplorerApp(source, ignores=load_ignore_file(str(ignore)), ignore_file=str(ignore))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_until_scanned(pilot)
            table = app.query_one(FindingsTable)
            assert not [f for f in table.findings if f.category == "misconfig"]
            assert app.ignored and all(f.category == "misconfig" for f, _ in app.ignored)
            finding = next(f for f in table.findings if f.rule_id == "secret.github-pat")
            count = table.row_count
            table.focus()
            table.move_cursor(row=table.row_of(finding))
            await pilot.press("A")
            await pilot.pause()
            assert isinstance(app.screen, PromptScreen)
            await pilot.press("enter")  # no reason: not accepted
            await pilot.pause()
            assert table.row_count == count
            await pilot.press("A")
            await pilot.pause()
            await pilot.press(*"test token, revoked", "enter")
            await pilot.pause()
            assert table.row_count == count - 1 and finding not in table.findings
            assert app.accepted == [(finding, "test token, revoked")]
            await pilot.press("R")  # the JSON report: as scan writes it with the ignore file as it is now
            await pilot.pause()
            await pilot.press("shift+tab", "down", "enter", "tab")
            await pilot.pause()
            await pilot.press("ctrl+u", *str(tmp_path / "out"), "enter")
            await pilot.pause()
            assert app.report_paths == [str(tmp_path / "out" / "explorer-report.json")]
    finally:
        source.close()
    text = ignore.read_text()
    assert text.startswith('# ours\n[[ignore]]\nrule = "misconfig.*"\nreason = "known"\n\n# accepted in the explorer UI')
    assert 'rule = "secret.github-pat"\npath = "/srv/app/.env"\nreason = "test token, revoked"\n' in text
    scanned = scan_output(image, "--ignore-file", str(ignore))
    assert (tmp_path / "out" / "explorer-report.json").read_bytes() == scanned  # the UI's report, byte for byte
    doc = json.loads(scanned)
    assert "secret.github-pat" not in {f["rule_id"] for f in doc["findings"]}
    assert [(f["rule_id"], f["ignore_reason"]) for f in doc["ignored"] if f["category"] != "misconfig"] == [
        ("secret.github-pat", "test token, revoked")]
    assert len(doc["findings"]) == count - 1


async def test_open_reads_the_default_ignore_file_and_disable_like_scan(image, tmp_path, monkeypatch):
    (tmp_path / ".explorer-ignore.toml").write_text('[[ignore]]\nrule = "miner.*"\npath = "/tmp/.x/*"\n'
                                                    'reason = "demo"\n')
    monkeypatch.chdir(tmp_path)
    source = open_image(image)
    app = ExplorerApp(source, ScanOptions(disabled=frozenset({"secret.github-pat"})),
                      ignores=load_ignore_file(None))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_until_scanned(pilot)
            shown = app.query_one(FindingsTable).findings
            rules = {f.rule_id for f in shown}
            assert "secret.github-pat" not in rules and not [f for f in shown if f.path and f.path.startswith("/tmp/.x/")
                                                             and f.rule_id.startswith("miner.")]
            assert len(app.ignored) > 2
    finally:
        source.close()
    doc = scan_json(image, "--disable", "secret.github-pat", cwd=tmp_path)
    assert sorted(json.dumps((f["rule_id"], f["layer"], f["path"])) for f in doc["findings"]) == sorted(
        json.dumps((f.rule_id, f.layer, f.path)) for f in shown)


def test_open_takes_ignore_file_and_disable_and_a_bad_ignore_file_is_one_line(image, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[ignore]]\nrule = 3\n")
    for flags in (["--ignore-file", str(bad)], ["--disable", "secret.github-pat", "--ignore-file", str(bad)]):
        done = subprocess.run([sys.executable, "-m", "explorer", "open", image, *flags], capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert done.returncode == 2
        assert done.stderr == f"explorer: {bad}: ignore entry 1 needs a rule id\n"
