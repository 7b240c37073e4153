"""The YARA rules travel inside the package: a wheel installed into a fresh virtual environment, and the
same project installed with `pip install --user`, scan the demo image with YARA findings.

No network: the wheel is built without build isolation and installed with --no-deps --no-index into a
venv that sees this interpreter's site-packages (where the dependencies already are). Each run is in a
folder outside the checkout, without PYTHONPATH, so the installed copy is the one imported.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.demo import write_demo

ROOT = Path(__file__).resolve().parents[2]
YARA_RULE_IDS = {"miner.xmrig-strings", "miner.stratum-url", "miner.xmrig-config", "backdoor.webshell-php"}
"""Rules of yara_rules/ that match the demo image (no other detector raises these ids)."""

pytestmark = pytest.mark.packaging


def _run(*cmd, **kw):
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert done.returncode == 0, f"{cmd}: {done.stderr[-2000:]}"
    return done


def _clean_env(tmp_path: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONUSERBASE", "PIP_USER")}
    env.update(EXPLORER_CACHE_DIR=str(tmp_path / "cache"), PIP_NO_INDEX="1", **extra)
    return env


def _source_copy(tmp_path: Path) -> Path:
    """The project as an sdist would hold it, copied so that the build leaves nothing in the checkout."""
    src = tmp_path / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__",
                                                             "tests", "bench", "screenshots", ".*cache*"))
    return src


def _check_scan(explorer_bin: Path, python: Path, tmp_path: Path, env: dict, home: Path) -> None:
    demo = write_demo(str(tmp_path))
    where = _run(str(python), "-c", "import explorer, explorer.detectors.yara_scan as y; "
                 "print(explorer.__file__); print(y.RULES_DIR)", cwd=tmp_path, env=env).stdout.split("\n")
    assert Path(where[0]).is_relative_to(home), where
    assert Path(where[1]) == Path(where[0]).parent / "yara_rules", where
    assert sorted(p.name for p in Path(where[1]).glob("*.yar")) == sorted(p.name for p in (ROOT / "yara_rules").glob("*.yar"))
    done = subprocess.run([str(explorer_bin), "scan", demo, "--format", "json"], capture_output=True, text=True,
                          cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    found = {f["rule_id"] for f in json.loads(done.stdout)["findings"]}
    assert YARA_RULE_IDS <= found, sorted(found)


def test_wheel_in_fresh_venv(tmp_path):
    env = _clean_env(tmp_path)
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
         str(tmp_path / "dist"), str(_source_copy(tmp_path)), cwd=tmp_path, env=env)
    wheel, = (tmp_path / "dist").glob("explorer-*.whl")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--system-site-packages", str(venv), env=env)
    _run(str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", str(wheel), cwd=tmp_path, env=env)
    _check_scan(venv / "bin" / "explorer", venv / "bin" / "python", tmp_path, env, venv)


def test_user_install(tmp_path):
    """`pip install --user`: the data files of old landed under the user base, not sys.prefix."""
    base = tmp_path / "userbase"
    env = _clean_env(tmp_path, PYTHONUSERBASE=str(base))
    _run(sys.executable, "-m", "pip", "install", "-q", "--user", "--no-deps", "--no-build-isolation", str(_source_copy(tmp_path)),
         cwd=tmp_path, env=env)
    _check_scan(base / "bin" / "explorer", Path(sys.executable), tmp_path, env, base)
