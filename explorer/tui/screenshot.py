"""Where the command palette's "Screenshot" goes: the downloads folder when it exists, else a folder that
does (Textual wrote to a missing ~/Downloads and only said "Failed to save screenshot")."""

from __future__ import annotations

import os
import tempfile


def screenshot_folder() -> tuple[str, str | None]:
    """(folder, why it is not the downloads folder — None when it is)."""
    from platformdirs import user_downloads_path

    downloads = str(user_downloads_path())
    if os.path.isdir(downloads) and os.access(downloads, os.W_OK):
        return downloads, None
    here = os.getcwd()
    if os.access(here, os.W_OK):
        fallback = here
    else:
        fallback = tempfile.gettempdir()
    reason = "does not exist" if not os.path.isdir(downloads) else "is not writable"
    return fallback, f"{downloads} {reason}"
