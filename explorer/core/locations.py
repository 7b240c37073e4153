"""Where explorer keeps files between runs and reads its settings: one function per folder, used by
every caller (the layer cache, the compiled YARA rules, the demo image; the settings file)."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "EXPLORER_CACHE_DIR"


def cache_dir() -> Path:
    """$EXPLORER_CACHE_DIR, else $XDG_CACHE_HOME/explorer, else ~/.cache/explorer: the one folder
    of every file explorer keeps between runs (layer results, compiled rules, the demo image)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "explorer"


def config_dir() -> Path:
    """$XDG_CONFIG_HOME/explorer, else ~/.config/explorer: the folder of the user's config.toml."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "explorer"
