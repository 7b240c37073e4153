"""Matching paths against what a person types (no Textual import): used by the search (`/`) and by the
file tree's filter by name (ctrl+f)."""

from __future__ import annotations

import fnmatch
import re


def matcher(query: str):
    """A predicate on paths: glob when the query has glob characters, else a case-insensitive substring."""
    on_lowered = lowered_matcher(query)
    return lambda path: on_lowered(path.lower())


def lowered_matcher(query: str):
    """`matcher`'s predicate on paths already lowercased (the file tree's filter lowers a layer's paths once
    for every letter typed)."""
    if is_glob(query):
        pattern = re.compile(fnmatch.translate(query.lower()))
        if "/" in query:
            return lambda path: pattern.match(path) is not None
        return lambda path: pattern.match(path) is not None or pattern.match(path.rsplit("/", 1)[-1]) is not None
    needle = query.lower()
    return lambda path: needle in path


def is_glob(query: str) -> bool:
    """Whether `query` is a glob (else a substring)."""
    return any(c in query for c in "*?[")
