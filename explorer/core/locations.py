"""Folders of the user's machine that explorer reads or writes (XDG base directories)."""

from __future__ import annotations

import os


def config_dir() -> str:
    """$XDG_CONFIG_HOME/explorer, else ~/.config/explorer: the user's config.toml, and the UI's settings."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "explorer")
