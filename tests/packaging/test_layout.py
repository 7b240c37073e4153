"""The project's build settings name every package: pyproject.toml lists them (so that the top-level
yara_rules/ can be mapped in as package data without a build script), and a package missing from the
list would be left out of every wheel while the tests, run from the checkout, still pass."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_folder_is_listed_in_pyproject():
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "explorer").rglob("__init__.py")}
    assert set(settings["packages"]) == folders | {"explorer.yara_rules"}
    assert settings["package-dir"]["explorer.yara_rules"] == "yara_rules"
    assert sorted(p.name for p in (ROOT / "yara_rules").glob("*.yar")), "the rules' source folder is empty"


def test_the_top_level_holds_only_the_fixed_layout():
    """pyproject.toml, explorer/, yara_rules/, tests/, screenshots/, plus README, .ci/, bench/, docs/."""
    allowed = {"pyproject.toml", "explorer", "yara_rules", "tests", "screenshots", "README.md", ".ci", "bench",
               "docs", ".gitignore"}
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    top = {line.split("/", 1)[0] for line in listed.stdout.splitlines()}
    assert top <= allowed, sorted(top - allowed)
