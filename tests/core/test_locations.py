"""One cache folder for every cache: the layer cache, the compiled YARA rules and the demo image all
live in `explorer.core.locations.cache_dir()`, which honours $EXPLORER_CACHE_DIR, else
$XDG_CACHE_HOME/explorer, else ~/.cache/explorer."""

from __future__ import annotations

from pathlib import Path

import pytest

from explorer.scan.cache import LayerCache
from explorer.core.locations import cache_dir, config_dir
from explorer.demo import cached_demo
from explorer.detectors.base import ScanOptions
from explorer.detectors.yara_scan import YaraDetector

ROOT = Path(__file__).resolve().parents[2]


def _folders() -> dict[str, Path]:
    demo = cached_demo()
    assert demo is not None
    return {"layers": LayerCache().folder, "rules": YaraDetector(ScanOptions()).cache_path.parent,
            "demo": Path(demo).parent}


@pytest.fixture
def homes(tmp_path, monkeypatch):
    home, xdg = tmp_path / "home", tmp_path / "xdg"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg))
    monkeypatch.delenv("EXPLORER_CACHE_DIR", raising=False)
    return home, xdg


def test_every_cache_honours_explorer_cache_dir(homes, tmp_path, monkeypatch):
    chosen = tmp_path / "chosen"
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(chosen))
    assert cache_dir() == chosen
    assert _folders() == {"layers": chosen, "rules": chosen, "demo": chosen}
    assert sorted(p.name.endswith(".yarc") or p.name.startswith("explorer-demo-") for p in chosen.iterdir()) \
        == [True, True]


def test_every_cache_falls_back_to_xdg_then_home(homes, monkeypatch):
    home, xdg = homes
    assert _folders() == {"layers": xdg / "explorer", "rules": xdg / "explorer", "demo": xdg / "explorer"}
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == home / ".cache" / "explorer"
    assert LayerCache().folder == home / ".cache" / "explorer"


def test_the_config_folder_follows_xdg_config_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    assert config_dir() == tmp_path / ".config" / "explorer"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert config_dir() == tmp_path / "cfg" / "explorer"


def test_no_other_module_computes_a_cache_or_config_folder():
    """The environment variables that choose the folders are read in one module only."""
    readers = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "explorer").rglob("*.py")
                     if any(name in p.read_text() for name in ('"EXPLORER_CACHE_DIR"', '"XDG_CACHE_HOME"',
                                                                '"XDG_CONFIG_HOME"')))
    assert readers == ["explorer/core/locations.py"]
