"""`explorer layers --ci`: dive's three CI rules (from flags, settings, or a .dive-ci file read as-is), exit 1
on failure, and the files that waste the most."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from explorer.main import main
from explorer.demo.imagewriter import Entry, Layer

DIVE_EXAMPLE = """---
plugins:
  - plugin1

rules:
  # dive's documented example (.data/.dive-ci in wagoodman/dive)
  lowestEfficiency: 0.95

  highestWastedBytes: 20Mb

  highestUserWastedPercent: 0.10

  plugin1/rule1: error
"""


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture
def image(make_image, tmp_path, monkeypatch):
    """total 6100 bytes, final 1100, wasted 5000, user bytes 5100; efficiency (1000 + 100) / (1000 + 5100)."""
    monkeypatch.chdir(tmp_path)
    return make_image([
        Layer([Entry.dir("/etc"), Entry.file("/etc/base", b"b" * 1000)]),
        Layer([Entry.dir("/app"), Entry.file("/app/big", b"x" * 5000)]),
        Layer([Entry.dir("/app"), Entry.file("/app/big", b"y" * 100)]),
    ])


def gate(image, *flags):
    rc, out, err = run("layers", image, "--format", "json", "--ci", *flags)
    doc = json.loads(out)
    return rc, {r["rule"]: r["status"] for r in doc["ci"]["rules"]}, doc


def test_wasted_files(image):
    rc, out, _ = run("layers", image, "--format", "json")
    doc = json.loads(out)
    assert rc == 0 and "ci" not in doc
    assert (doc["total_size"], doc["final_size"], doc["wasted_bytes"]) == (6100, 1100, 5000)
    assert doc["wasted_files"] == [{"path": "/app/big", "copies": 2, "layers": [1, 2], "wasted_bytes": 5000}]
    assert doc["wasted_paths"] == 1
    rc, out, _ = run("layers", image)
    assert "files wasting the most (1 of 1)" in out and "/app/big" in out
    assert json.loads(run("layers", image, "--format", "json", "--top", "0")[1])["wasted_files"] == []


def test_dive_defaults(image):
    rc, rules, doc = gate(image)
    assert rc == 1 and doc["ci"]["pass"] is False and doc["ci"]["source"] == ""
    assert rules == {"lowestEfficiency": "fail", "highestWastedBytes": "skip", "highestUserWastedPercent": "fail"}
    values = {r["rule"]: r["value"] for r in doc["ci"]["rules"]}
    assert values["lowestEfficiency"] == pytest.approx(1100 / 6100)
    assert values["highestUserWastedPercent"] == pytest.approx(5000 / 5100)


@pytest.mark.parametrize("flags, rules, status", [
    (["--lowest-efficiency", "0.18", "--highest-user-wasted-percent", "0.99"], ["pass", "skip", "pass"], 0),
    (["--lowest-efficiency", "0.19", "--highest-user-wasted-percent", "disabled"], ["fail", "skip", "skip"], 1),
    (["--lowest-efficiency", "disabled", "--highest-user-wasted-percent", "disabled",
      "--highest-wasted-bytes", "5000"], ["skip", "pass", "skip"], 0),
    (["--lowest-efficiency", "disabled", "--highest-user-wasted-percent", "disabled",
      "--highest-wasted-bytes", "4.9kb"], ["skip", "fail", "skip"], 1),
    (["--lowest-efficiency", "disabled", "--highest-user-wasted-percent", "disabled",
      "--highest-wasted-bytes", "4KiB"], ["skip", "fail", "skip"], 1),
])
def test_thresholds_from_flags(image, flags, rules, status):
    rc, found, _ = gate(image, *flags)
    assert rc == status
    assert list(found.values()) == rules


def test_dive_ci_file_read_as_is_and_overridden(image, tmp_path):
    (tmp_path / ".dive-ci").write_text(DIVE_EXAMPLE.replace("0.95", "0.1").replace("0.10", "0.99"))
    rc, rules, doc = gate(image)
    assert (rc, doc["ci"]["source"]) == (0, ".dive-ci")
    assert rules == {"lowestEfficiency": "pass", "highestWastedBytes": "pass", "highestUserWastedPercent": "pass"}
    assert gate(image, "--lowest-efficiency", "0.5")[0] == 1
    rc, out, _ = run("layers", image, "--ci")
    assert rc == 0 and "Result: PASS (rules from .dive-ci)" in out
    (tmp_path / "explorer.toml").write_text('[layers]\nlowest-efficiency = "0.5"\n')
    assert gate(image)[0] == 1  # the explorer config's setting wins over .dive-ci


@pytest.mark.parametrize("text, message", [
    ("rules:\n  lowestEfficiency: high\n", "explorer: .dive-ci: lowestEfficiency: 'high' is not a ratio between 0 and 1"),
    ("rules:\n  highestWastedBytes: 20 parsecs\n",
     "explorer: .dive-ci: highestWastedBytes: '20 parsecs' is not a size (e.g. 20MB, 1.5GiB, 512)"),
    ("rules: [1\n", None),
])
def test_bad_dive_ci_is_one_line(image, tmp_path, text, message):
    (tmp_path / ".dive-ci").write_text(text)
    rc, out, err = run("layers", image, "--ci")
    assert (rc, out) == (2, "") and len(err.splitlines()) == 1
    if message:
        assert err == message + "\n"
    else:
        assert err.startswith("explorer: .dive-ci: not valid YAML (")


def test_dive_example_on_dive_test_image(dive_image, tmp_path, monkeypatch):
    """dive's documented .dive-ci on dive's own test image: dive's rules pass efficiency (0.984 >= 0.95) and
    wasted bytes (32,025 <= 20 MB) and fail the user-wasted ratio (32,025 / 66,237 > 0.10)."""
    path = dive_image("test-docker-image.tar")
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".dive-ci").write_text(DIVE_EXAMPLE)
    rc, rules, doc = gate(path)
    assert rc == 1
    assert rules == {"lowestEfficiency": "pass", "highestWastedBytes": "pass", "highestUserWastedPercent": "fail"}
    assert doc["ci"]["user_size"] == 66237
    assert [r["value"] for r in doc["ci"]["rules"]] == [pytest.approx(0.9844212134184309), 32025,
                                                          pytest.approx(32025 / 66237)]
    assert sum(f["wasted_bytes"] for f in doc["wasted_files"]) == doc["wasted_bytes"] == 32025
