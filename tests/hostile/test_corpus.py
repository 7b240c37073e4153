"""Every case of the hostile corpus through `layers`, `scan`, `extract` and the UI.

Each must finish with a clear message or a finding, the exit status of the contract, no traceback,
nothing written outside the output folder, nothing raw on the terminal; a few run as real processes
with a time bound and a memory bound.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import jsonschema
import pytest

from explorer.detectors.base import ScanOptions
from explorer.detectors.registry import build_detectors
from explorer.core.problems import problem_rules
from explorer.sources import open_image
from explorer.tui.app import ExplorerApp
from tests.support.pilot import view_copy, wait_until_scanned

from corpus import CASES, LAST, MARKUP, NAME_MARKUP, OK, many_empty_files, write
from hostile_images import TRACEBACK, error_lines, run_inprocess, run_measured, snapshot

PROBLEM_IDS = {rule.id for rule in problem_rules()}
SARIF_SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "data" / "sarif-2.1.0-rtm.5.json").read_text())
RAW = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
"""Control characters (but the newline), C1 controls, bidi overrides and undecodable bytes (lone
surrogates): never raw on the terminal, not even in JSON."""
PARAMS = [pytest.param(case, id=case.id) for case in CASES]


@pytest.fixture
def work(tmp_path):
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "victim").write_text("original")
    return tmp_path


def _clean(text: str) -> None:
    found = RAW.search(text)
    assert found is None, repr(text[max(0, found.start() - 40): found.end() + 40])


def _check_bad_input(case, rc, out, err):
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("explorer: ") and case.error in err, err


def _json_run(case, *argv: str):
    """Run a JSON command: no traceback, nothing raw on the terminal, the case's status; the document
    (None for an image that cannot be opened, after checking its one line)."""
    rc, out, err = run_inprocess(*argv, "--format", "json")
    assert TRACEBACK not in err
    _clean(err)
    if case.layers is None:
        _check_bad_input(case, rc, out, err)
        return None
    assert rc == case.status, err
    _clean(out)
    for fragment in case.stderr:
        assert fragment in err
    return json.loads(out)


@pytest.mark.parametrize("case", PARAMS)
def test_layers_and_tree(case, work):
    image = case.make(work)
    doc = _json_run(case, "layers", image)
    if doc is None:
        return
    assert doc["layers"][0]["created_by"] == "RUN first" and doc["layers"][-1]["created_by"] == "RUN last"
    assert doc["layers"][0]["added"] == 1 and doc["layers"][-1]["added"] == 1, "the sound layers are shown"
    rc, out, err = run_inprocess("tree", image)
    assert rc == case.status and TRACEBACK not in err
    _clean(out)
    assert any(line.endswith(" /srv/last") for line in out.splitlines())


@pytest.mark.parametrize("case", PARAMS)
def test_scan(case, work):
    image = case.make(work)
    doc = _json_run(case, "scan", image)
    if doc is None:
        return
    assert {f["rule_id"] for f in doc["findings"] if f["rule_id"] in PROBLEM_IDS} == case.rules
    assert [layer["index"] for layer in doc["layers"]] == list(range(len(doc["layers"])))
    assert _json_run(case, "scan", image, "--jobs", "2") == doc, "detection workers see the same"
    rc, out, err = run_inprocess("scan", image)  # the table
    assert rc == case.status and TRACEBACK not in err
    _clean(out)
    rc, out, err = run_inprocess("scan", image, "--format", "sarif")
    assert rc == case.status and TRACEBACK not in err
    _clean(out)
    jsonschema.validate(json.loads(out), SARIF_SCHEMA)


@pytest.mark.parametrize("case", PARAMS)
def test_extract_writes_nothing_outside_dest(case, work):
    image = case.make(work)
    dest = work / "dest"
    before = snapshot(work, exclude=dest)
    rc, out, err = run_inprocess("extract", image, "/", "-o", str(dest))
    assert TRACEBACK not in err
    _clean(err)
    assert snapshot(work, exclude=dest) == before
    assert not os.path.lexists("/abs/evil") and not os.path.lexists("/etc/evil-climb")
    if case.layers is None:
        assert not dest.exists()
        return _check_bad_input(case, rc, out, err)
    assert rc == case.status, err
    assert (dest / "srv" / "last").read_bytes() == b"last"
    for dirpath, dirnames, filenames, dirfd in os.fwalk(dest):  # by folder fd: paths may pass PATH_MAX
        for name in dirnames + filenames:
            mode = os.stat(name, dir_fd=dirfd, follow_symlinks=False).st_mode
            assert stat.S_ISDIR(mode) or stat.S_ISREG(mode) or stat.S_ISLNK(mode), name
            if stat.S_ISLNK(mode):
                full = os.path.join(dirpath, name)
                assert os.path.realpath(full).startswith(str(dest) + os.sep), full


@pytest.fixture(scope="module")
def detectors():
    return build_detectors(ScanOptions())


def _screen(app) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


KEYS = ["left_square_bracket", "t", "down", "enter", "c", "v", "escape", "f", "enter"]
"""A person finding their way: the layer below, the files, open a folder, changes only, view, findings."""


@pytest.mark.parametrize("case", [p for p in PARAMS if p.values[0].layers is not None])
async def test_ui(case, work, detectors):
    image = case.make(work)
    with open_image(image) as source:
        app = ExplorerApp(source, detectors=detectors)
        async with app.run_test(size=(160, 48)) as pilot:
            await wait_until_scanned(pilot)
            screen = _screen(app)
            assert "\x1b" not in screen
            _clean(screen)
            assert ("problem(s)" in screen) == bool(case.status or case.rules)
            for key in KEYS:
                await pilot.press(key)
            await pilot.pause()
            _clean(_screen(app))
            if case.id == "ansi-and-markup":
                app.select_layer(1)
                await pilot.pause()
                assert NAME_MARKUP in _screen(app)  # shown as text, never applied
                text = await view_copy(pilot, 1, "/" + NAME_MARKUP)
                assert MARKUP in text and "\x1b" not in text
            await pilot.press("q")


# -- real processes: time and memory bounds ---------------------------------------------------------

RSS_CAP_KB = 400 * 1024


@pytest.mark.parametrize("case_id, command", [("gzip-bomb", "scan"), ("zstd-bomb-oci", "layers"),
                                              ("corrupt-tar-headers", "scan"), ("ansi-and-markup", "scan"),
                                              ("manifest-not-json", "layers")])
def test_subprocess_status_and_bounds(case_id, command, work):
    case = next(c for c in CASES if c.id == case_id)
    rc, out, err, rss = run_measured(command, case.make(work))
    assert TRACEBACK not in err
    assert rc == case.status
    _clean(out)
    _clean(err)
    assert rss < RSS_CAP_KB
    if case.layers is None:
        assert len(err.splitlines()) == 1 and case.error in err
    else:
        assert error_lines(err) == []
        assert ("RUN last" if command == "layers" else " layers\n") in out


@pytest.fixture(scope="session")
def million_entries(tmp_path_factory):
    work = tmp_path_factory.mktemp("million")
    return write(work, [OK, many_empty_files(1_000_000), LAST])


def test_a_million_entries_stop_at_the_cap_in_bounded_time_and_memory(million_entries):
    rc, out, err, rss = run_measured("layers", million_entries, "--format", "json", timeout=240)
    assert TRACEBACK not in err
    assert rc == 2
    assert err.splitlines() == ["explorer: warning: layer 1: more than 300000 tar members; reading stopped "
                                "(raise --max-entries to read it); 300000 entries read"]
    doc = json.loads(out)
    assert [layer["entries"] for layer in doc["layers"]] == [1, 300000, 1]
    assert rss < RSS_CAP_KB
