"""How to present one copy's bytes: text or binary, its libmagic type, hex dump rows, and a bounded
unified diff of two copies. No Textual import: the preview shows these, a headless report could too.

Everything returned is plain, single-line, escaped text (`safe`) with secrets masked by the caller
(`redact.mask_in_place`) or here (diffs): nothing from the image can style or move the cursor.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from explorer.detectors.redact import mask_in_place
from explorer.core.textsafe import safe

HEX_WIDTH = 16
DIFF_CAP = 1024 * 1024
"""Bytes of each copy a diff compares."""
DIFF_LINES = 20000
"""Lines of each copy a diff compares (difflib is quadratic in the worst case)."""
BINARY_DIFF_CAP = 256 * 1024
"""Binary copies are compared as hex dump rows, over their first this many bytes."""


def looks_binary(data: bytes) -> bool:
    """NUL bytes, or bytes that are not UTF-8 (a cut multi-byte character at the end is allowed)."""
    head = data[:65536]
    if b"\x00" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 3
    return False


MAX_LINE = 4000
"""Characters shown of one line (a minified file is one huge line; the hex view shows all of it)."""


def text_lines(data: bytes) -> list[str]:
    """Decoded lines, tabs expanded, a CR before the newline dropped, control characters escaped,
    lines cut at MAX_LINE characters."""
    text = data.decode("utf-8", "replace")
    lines = text.split("\n")
    if lines and lines[-1] == "" and len(lines) > 1:
        lines.pop()
    return [_line(line) for line in lines]


def _line(line: str) -> str:
    if len(line) > MAX_LINE:
        return safe(line[:MAX_LINE].expandtabs(4)) + f" … ({len(line) - MAX_LINE} more characters)"
    return safe(line.removesuffix("\r").expandtabs(4))


def hex_row(data: bytes, offset: int) -> str:
    """`offset  hex bytes  |ascii|` for the HEX_WIDTH bytes of `data` (already windowed)."""
    left, right = data[:8], data[8:HEX_WIDTH]
    hexpart = " ".join(f"{b:02x}" for b in left).ljust(23) + "  " + " ".join(f"{b:02x}" for b in right)
    asciipart = "".join(chr(b) if 32 <= b < 127 else "." for b in data[:HEX_WIDTH])
    return f"{offset:08x}  {hexpart:<48}  |{asciipart}|"


def file_type(data: bytes) -> str:
    """libmagic's description of the first bytes ("" when libmagic is missing or fails)."""
    try:
        import magic
        return safe(magic.from_buffer(data[:65536]))[:200]
    except Exception:  # noqa: BLE001 - a missing libmagic or odd input costs a label, not the preview
        return ""


_SHEBANG = {"sh": "bash", "bash": "bash", "dash": "bash", "ash": "bash", "zsh": "bash", "python": "python",
            "python3": "python", "python2": "python", "perl": "perl", "ruby": "ruby", "node": "javascript",
            "php": "php", "lua": "lua", "awk": "awk"}
_NAMES = {".env": "bash", ".bashrc": "bash", ".profile": "bash", "authorized_keys": "text", "crontab": "bash",
          "dockerfile": "docker", "passwd": "text", "shadow": "text"}


def guess_language(path: str, data: bytes) -> str | None:
    """A pygments lexer alias from the name or the `#!` line, or None (shown unhighlighted).

    Deliberately no content guessing over the whole file: pygments' guesser runs every lexer."""
    name = path.rsplit("/", 1)[-1].lower()
    if name in _NAMES or name.endswith(".env"):
        language = _NAMES.get(name, "bash")
        return None if language == "text" else language
    if data.startswith(b"#!"):
        words = data[2:120].split(b"\n", 1)[0].decode("ascii", "replace").split()
        if words:
            prog = words[0].rsplit("/", 1)[-1]
            if prog == "env" and len(words) > 1:
                prog = words[1]
            prog = prog.rstrip("0123456789.") or prog
            lang = _SHEBANG.get(prog) or _SHEBANG.get(prog + "3")
            if lang:
                return lang
    if data.lstrip().startswith(b"<?php"):
        return "php"
    try:
        from pygments.lexers import get_lexer_for_filename
        from pygments.util import ClassNotFound
    except ImportError:
        return None
    try:
        lexer = get_lexer_for_filename(name)
    except ClassNotFound:
        return None
    alias = lexer.aliases[0] if lexer.aliases else None
    return None if alias in ("text", None) else alias


@dataclass(frozen=True)
class DiffLine:
    kind: str
    """`+` added, `-` removed, ` ` context, `@` hunk header, `=` file header, `!` a note."""
    text: str


def diff_copies(old: bytes, new: bytes, old_label: str, new_label: str,
                old_size: int | None = None, new_size: int | None = None) -> list[DiffLine]:
    """A unified diff of two copies, secrets masked, bounded (DIFF_CAP bytes, DIFF_LINES lines each);
    binary copies are compared as hex dump rows. `*_size` are the full sizes, to say when a copy
    was cut."""
    old, _ = mask_in_place(old[:DIFF_CAP])
    new, _ = mask_in_place(new[:DIFF_CAP])
    notes: list[DiffLine] = []
    binary = looks_binary(old) or looks_binary(new)
    if binary:
        a, b = _hex_lines(old[:BINARY_DIFF_CAP]), _hex_lines(new[:BINARY_DIFF_CAP])
        notes.append(DiffLine("!", "binary content: comparing hex dump rows"))
        cap = BINARY_DIFF_CAP
    else:
        a, b = text_lines(old), text_lines(new)
        cap = DIFF_CAP
    for label, lines, data, size in ((old_label, a, old, old_size), (new_label, b, new, new_size)):
        full = size if size is not None else len(data)
        if full > cap or len(lines) > DIFF_LINES:
            notes.append(DiffLine("!", f"{safe(label)}: compared its first {min(len(lines), DIFF_LINES)} lines "
                                       f"/ {min(full, cap)} of {full} bytes only"))
    a, b = a[:DIFF_LINES], b[:DIFF_LINES]
    out = [DiffLine("=", f"--- {safe(old_label)}"), DiffLine("=", f"+++ {safe(new_label)}"), *notes]
    body = list(difflib.unified_diff(a, b, lineterm="", n=3))[2:]
    if not body:
        cut = len(out) > 2 + binary or (old_size is not None and new_size is not None and old_size != new_size)
        out.append(DiffLine("!", "no difference in the compared part: the copies differ after it" if cut
                            else "no difference"))
    for line in body:
        kind = line[:1] if line[:1] in "+- @" else " "
        out.append(DiffLine(kind, line))
    return out


def _hex_lines(data: bytes) -> list[str]:
    return [hex_row(data[i:i + HEX_WIDTH], i) for i in range(0, len(data), HEX_WIDTH)]
