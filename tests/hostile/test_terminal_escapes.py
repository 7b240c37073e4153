"""Names and history lines from an image never reach the terminal raw: no ESC, no C1, no newline, no markup."""

from __future__ import annotations

import re
import tarfile

import pytest

from hostile_images import config_doc, docker_archive, member, run_inprocess, run_subprocess, tar_bytes

HOSTILE_NAMES = ["esc\x1b[2J\x1b[31mred", "new\nline", "[bold red]x", "c1\x9b31mcsi", "bell\x07", "rtl\u202etxt.exe",
                 "cr\rover"]
HISTORY = "RUN echo \x1b]0;pwned\x07 a\nINJECTED [bold red]x[/] \x9b2J \u202eevil"
RAW = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""Control characters other than the newline that ends each output line."""


@pytest.fixture
def image(tmp_path):
    first = tar_bytes([member("d", tarfile.DIRTYPE, mode=0o755)] +
                      [member(f"d/{name}", data=b"x") for name in HOSTILE_NAMES] +
                      [member("l\x1b[1m", tarfile.SYMTYPE, linkname="\x1b[5mtarget\n")])
    second = tar_bytes([member("d/.wh.new\nline"), member("d/esc\x1b[2J\x1b[31mred", data=b"changed")])
    config = config_doc([first, second], created_by=[HISTORY, "COPY \x1b[8mhidden\x1b[0m /"])
    return docker_archive(tmp_path / "image\x1b[7m.tar", [first, second], config=config)


def _assert_clean(out: str) -> None:
    assert "\x1b" not in out
    assert not RAW.search(out), repr(RAW.search(out).group(0))


def test_layers_table_escapes_history_and_reference(image, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    rc, out, err = run_inprocess("layers", image)
    assert rc == 0, err
    _assert_clean(out)
    _assert_clean(err)
    assert "RUN echo \\x1b]0;pwned\\x07 a\\nINJECTED [bold red]x[/] \\x9b2J \\u202eevil" in out
    assert "COPY \\x1b[8mhidden\\x1b[0m /" in out
    assert "image\\x1b[7m.tar" in out
    assert not any(line.startswith("INJECTED") for line in out.splitlines())


def test_tree_lines_stay_one_per_entry(image):
    rc, out, err = run_inprocess("tree", image, "--layer", "0")
    assert rc == 0, err
    _assert_clean(out)
    lines = out.splitlines()
    assert len(lines) == 2 + len(HOSTILE_NAMES)  # /d, /l…, and each file in /d
    assert all(re.match(r"^[-dlhcbp?][0-7]{4} ", line) for line in lines), lines
    assert any(line.endswith("/d/new\\nline") for line in lines)
    assert any(line.endswith("/d/[bold red]x") for line in lines)
    assert any(line.endswith("/l\\x1b[1m -> \\x1b[5mtarget\\n") for line in lines)


def test_tree_changes_escape_deleted_and_modified_names(image):
    rc, out, err = run_inprocess("tree", image, "--changes")
    assert rc == 0, err
    _assert_clean(out)
    lines = out.splitlines()
    assert [line[0] for line in lines] == ["M", "D"]
    assert lines[0].endswith("/d/esc\\x1b[2J\\x1b[31mred") and lines[1].endswith("/d/new\\nline")


@pytest.mark.parametrize("argv", [["layers"], ["tree"], ["tree", "--changes"]])
def test_subprocess_output_has_no_raw_control_characters(image, argv):
    rc, out, err = run_subprocess(argv[0], image, *argv[1:])
    assert rc == 0, err
    _assert_clean(out)
    _assert_clean(err)
    assert "INJECTED" not in "".join(line[:8] for line in out.splitlines())


def test_layers_json_keeps_names_exact(image):
    """JSON is for programs: the history line comes back exactly, escaped by JSON itself."""
    import json
    rc, out, _err = run_inprocess("layers", image, "--format", "json")
    assert rc == 0
    assert "\x1b" not in out and "\n INJECTED" not in out
    assert json.loads(out)["layers"][0]["created_by"] == HISTORY


def test_json_escapes_what_a_terminal_would_act_on_and_stays_exact(image):
    """C1 controls and bidi overrides are valid JSON text, but raw they still act on a terminal."""
    import json
    rc, out, _err = run_inprocess("tree", image, "--layer", "0", "--format", "json")
    assert rc == 0
    _assert_clean(out)
    assert "\\u009b" in out and "\\u202e" in out
    paths = {entry["path"] for entry in json.loads(out)}
    assert "/d/c1\x9b31mcsi" in paths and "/d/rtl\u202etxt.exe" in paths


def test_undecodable_bytes_print_as_the_bytes_they_were():
    from explorer.core.textsafe import json_text, safe
    assert safe("RUN \udcff\udce9") == "RUN \\xff\\xe9"
    assert json_text("\udcff") == '"\\udcff"'
