"""Matching paths against what a person types (no Textual import): used by the search (`/`) and by the
file tree's filter by name (ctrl+f)."""

from __future__ import annotations

import fnmatch
import re


def matcher(query: str):
    """A predicate on paths: glob when the query has glob characters, else a case-insensitive substring."""
    if any(c in query for c in "*?["):
        pattern = re.compile(fnmatch.translate(query.lower()))
        if "/" in query:
            return lambda path: pattern.match(path.lower()) is not None
        return lambda path: (pattern.match(path.lower()) is not None
                             or pattern.match(path.rsplit("/", 1)[-1].lower()) is not None)
    needle = query.lower()
    return lambda path: needle in path.lower()
