"""`explorer scan` at the command line: formats, --output, --fail-on, --rules, --disable, ignore file."""

from __future__ import annotations

import json
import os

import pytest

from explorer.main import main
from explorer.demo import write_demo
from explorer.demo.imagewriter import Entry, ImageSpec, Layer, write_image


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return write_demo(str(tmp_path_factory.mktemp("demo")))


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    spec = ImageSpec(layers=[Layer([Entry.dir("/app"), Entry.file("/app/hello.txt", b"hello\n")])], user="app")
    return write_image(spec, str(tmp_path_factory.mktemp("clean") / "clean.tar"))


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_fail_on_gates_by_severity(capsys, demo, clean):
    assert run(capsys, "scan", demo, "--fail-on", "critical")[0] == 1
    assert run(capsys, "scan", clean, "--fail-on", "info")[0] == 0
    code, out, _ = run(capsys, "scan", clean)
    assert code == 0 and "no findings" in out


def test_output_file_and_json_summary(capsys, demo, tmp_path):
    target = tmp_path / "report.json"
    code, out, _ = run(capsys, "scan", demo, "--format", "json", "--output", str(target))
    assert code == 0 and out == ""
    doc = json.loads(target.read_text())
    assert doc["summary"]["critical"] >= 3 and len(doc["findings"]) == sum(doc["summary"].values())
    assert len(doc["tool"]["rules"]) == 64
    assert all(f["layer"] is None or 0 <= f["layer"] < len(doc["layers"]) for f in doc["findings"])


def test_disable_drops_a_rule_everywhere(capsys, demo):
    code, out, _ = run(capsys, "scan", demo, "--format", "json", "--disable", "secret.aws-secret-access-key",
                       "--disable", "miner.xmrig-strings")
    rules = {f["rule_id"] for f in json.loads(out)["findings"]}
    assert "secret.aws-secret-access-key" not in rules and "miner.xmrig-strings" not in rules
    assert "secret.github-pat" in rules


def test_extra_rules_folder(capsys, clean, tmp_path):
    (tmp_path / "mine.yar").write_text('rule hello_text { strings: $a = "hello" condition: $a }\n')
    code, out, _ = run(capsys, "scan", clean, "--format", "json", "--rules", str(tmp_path), "--fail-on", "medium")
    (finding,) = [f for f in json.loads(out)["findings"] if f["rule_id"] == "custom.hello_text"]
    assert (finding["path"], finding["layer"], finding["severity"]) == ("/app/hello.txt", 0, "medium")
    assert code == 1


def test_bad_rules_folder_is_one_line_exit_2(capsys, clean, tmp_path):
    (tmp_path / "broken.yar").write_text("rule broken { condition: nope }\n")
    code, out, err = run(capsys, "scan", clean, "--rules", str(tmp_path))
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and "broken.yar" in err
    code, _out, err = run(capsys, "scan", clean, "--rules", str(tmp_path / "missing"))
    assert code == 2 and "no such folder" in err


def test_ignore_file_drops_accepted_findings_with_their_reason(capsys, demo, tmp_path):
    ignore = tmp_path / "accepted.toml"
    ignore.write_text('[[ignore]]\nrule = "miner.*"\npath = "/tmp/.x/*"\nreason = "lab sample"\n')
    code, out, _ = run(capsys, "scan", demo, "--format", "json", "--ignore-file", str(ignore))
    doc = json.loads(out)
    assert not [f for f in doc["findings"] if f["rule_id"].startswith("miner.") and f["path"].startswith("/tmp/.x/")]
    assert doc["ignored"] and all(i["ignore_reason"] == "lab sample" for i in doc["ignored"])
    assert sum(doc["summary"].values()) == len(doc["findings"])


def test_ignore_file_without_reason_is_refused(capsys, demo, tmp_path):
    ignore = tmp_path / "bad.toml"
    ignore.write_text('[[ignore]]\nrule = "miner.*"\n')
    code, out, err = run(capsys, "scan", demo, "--ignore-file", str(ignore))
    assert code == 2 and "needs a reason" in err


def test_default_ignore_file_in_the_working_folder(capsys, demo, tmp_path, monkeypatch):
    (tmp_path / ".explorer-ignore.toml").write_text('[[ignore]]\nrule = "*"\nreason = "everything accepted"\n')
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "scan", demo, "--format", "json", "--fail-on", "info")
    assert code == 0 and json.loads(out)["findings"] == []


def test_no_progress_bar_when_stderr_is_not_a_terminal(capsys, clean):
    code, _out, err = run(capsys, "scan", clean)
    assert code == 0 and err == ""


def test_table_is_plain_text_with_escaped_names(capsys, tmp_path):
    import random
    import string
    token = "ghp_" + "".join(random.Random(5).choice(string.ascii_letters + string.digits) for _ in range(36))
    spec = ImageSpec(layers=[Layer([Entry.dir("/x"), Entry.file("/x/\x1b[2J[red]evil", token.encode() + b"\n")])])
    image = write_image(spec, str(tmp_path / "evil.tar"))
    code, out, _ = run(capsys, "scan", image)
    assert "\x1b" not in out and "[red]evil" in out and "\\x1b[2J" in out
    assert "secret.github-pat" in out and token not in out and token[:8] in out
    assert os.linesep in out
