"""Settings for every flag from a config file (explorer.toml, [tool.explorer] in pyproject.toml, the user's
config.toml) and EXPLORER_* environment variables; flags > environment > file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.demo import write_demo

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return write_demo(str(tmp_path_factory.mktemp("demo")))


@pytest.fixture
def explorer(tmp_path):
    """explorer(*argv, **env) run in tmp_path (its working folder), with tmp_path/xdg as XDG_CONFIG_HOME."""
    def run(*argv, **env):
        full = {k: v for k, v in os.environ.items() if not k.startswith("EXPLORER_") or k == "EXPLORER_CACHE_DIR"}
        full.update(PYTHONPATH=str(ROOT), XDG_CONFIG_HOME=str(tmp_path / "xdg"), **env)
        return subprocess.run([sys.executable, "-m", "explorer", *argv], capture_output=True, text=True,
                              cwd=tmp_path, env=full, timeout=300)
    return run


def test_precedence_flag_env_file(demo, explorer, tmp_path):
    assert explorer("scan", demo, "--format", "json").returncode == 0
    (tmp_path / "explorer.toml").write_text('fail-on = "HIGH"\n[scan]\nexit-code = 7\n')
    assert explorer("scan", demo, "--format", "json").returncode == 7
    assert explorer("scan", demo, "--format", "json", EXPLORER_EXIT_CODE="9").returncode == 9
    assert explorer("scan", demo, "--format", "json", "--exit-code", "11", EXPLORER_EXIT_CODE="9").returncode == 11
    assert explorer("scan", demo, "--format", "json", EXPLORER_FAIL_ON="").returncode == 2  # '' is no severity
    assert explorer("scan", demo, "--format", "json", "--fail-on", "critical", "--severity", "high").returncode == 0


def test_every_kind_of_setting(demo, explorer, tmp_path):
    (tmp_path / "explorer.toml").write_text('severity = ["HIGH", "critical"]\nquiet = true\n'
                                            '[scan]\nformat = "json"\ndisable = ["secret.github-pat"]\n')
    done = explorer("scan", demo)
    doc = json.loads(done.stdout)
    assert {f["severity"] for f in doc["findings"]} == {"high", "critical"}
    assert "secret.github-pat" not in {f["rule_id"] for f in doc["findings"]}
    done = explorer("scan", demo, EXPLORER_DISABLE="secret.aws-secret-access-key,secret.npm-token",
                    EXPLORER_SEVERITY="high")
    rules = {f["rule_id"] for f in json.loads(done.stdout)["findings"]}
    assert {f["severity"] for f in json.loads(done.stdout)["findings"]} == {"high"}
    assert not rules & {"secret.aws-secret-access-key", "secret.npm-token"}
    assert "secret.github-pat" in rules  # the environment's list replaces the file's


def test_pyproject_and_user_config(demo, explorer, tmp_path):
    (tmp_path / "xdg" / "explorer").mkdir(parents=True)
    (tmp_path / "xdg" / "explorer" / "config.toml").write_text('[layers]\nformat = "json"\n')
    assert json.loads(explorer("layers", demo).stdout)["layers"]
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n[tool.explorer.layers]\nformat = "table"\n')
    assert "efficiency 92.9379 %" in explorer("layers", demo).stdout  # the table
    assert json.loads(explorer("layers", demo, EXPLORER_FORMAT="JSON").stdout)["layers"]


@pytest.mark.parametrize("text, message", [
    ('jobz = 3\n', "explorer: explorer.toml: jobz: no such setting (a flag's long name without dashes)"),
    ('[scan]\njobs = 3\n', "explorer: explorer.toml: [scan]: jobs is a global setting: put it at the top of the file"),
    ('[scna]\nformat = "json"\n', "explorer: explorer.toml: [scna]: no such command"),
    ('[scan]\nfail-on = "huge"\n',
     "explorer: explorer.toml: fail-on: 'huge' is not a severity (critical, high, medium, low, info)"),
    ('no-cache = "maybe"\n', "explorer: explorer.toml: no-cache: expected true or false, not 'maybe'"),
    ('fail-on = \n', "explorer: explorer.toml: Invalid value (at line 1, column 11)"),
])
def test_bad_settings_are_one_line(demo, explorer, tmp_path, text, message):
    (tmp_path / "explorer.toml").write_text(text)
    done = explorer("scan", demo)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.replace(str(tmp_path) + "/", "") == message + "\n"
