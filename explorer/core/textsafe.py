"""Make hostile strings (file names, contents, history lines) safe to print on a terminal."""

from __future__ import annotations

import json
import re
import sys

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
_JSON_UNSAFE = re.compile(r"[\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
"""What json.dumps(ensure_ascii=False) leaves raw but a terminal would act on (C1 controls, bidi
overrides) or cannot encode (lone surrogates from undecodable bytes)."""


def _escape(match: re.Match) -> str:
    ch = match.group(0)
    code = ord(ch)
    if ch == "\n":
        return "\\n"
    if ch == "\t":
        return "\\t"
    if ch == "\r":
        return "\\r"
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: str) -> str:
    """Escape control characters, bidi overrides and invisible characters (one line, no ANSI)."""
    if not isinstance(text, str):
        text = str(text)
    return _CONTROL.sub(_escape, text)


def json_text(doc) -> str:
    """`doc` as indented JSON, UTF-8 text kept readable but every character a terminal would act on, or
    could not encode, written as a `\\uXXXX` escape: the same document for a program, inert on a terminal."""
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def dump_json(doc, fh=None) -> None:
    """`doc` as safe JSON (json_text) and a newline on `fh` (stdout when not given)."""
    (fh or sys.stdout).write(json_text(doc) + "\n")
