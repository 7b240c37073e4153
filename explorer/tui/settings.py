"""What the UI remembers between runs (the theme), in $XDG_CONFIG_HOME/explorer/ui.json (else
~/.config/explorer/ui.json): a small JSON object the UI rewrites, kept apart from config.toml, whose keys
are flags the CLI checks. A missing, unreadable or odd file means the defaults; failing to write it costs
the memory, never the session."""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import suppress

from explorer.core.locations import config_dir

FILE = "ui.json"


def settings_path() -> str:
    return os.path.join(config_dir(), FILE)


def load() -> dict:
    try:
        with open(settings_path(), encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def remembered_theme(available) -> str | None:
    """The saved theme, when it is a name among `available`."""
    theme = load().get("theme")
    return theme if isinstance(theme, str) and theme in available else None


def save(**values) -> bool:
    """Merge `values` into the file (written whole, then renamed into place); False when it cannot be."""
    path = settings_path()
    data = {**load(), **values}
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".ui-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        with suppress(OSError, UnboundLocalError):
            os.unlink(tmp)
        return False
    return True
