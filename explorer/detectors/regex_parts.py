"""Reading Python's own regex parse trees (`re._parser`): what a character class matches."""

from __future__ import annotations

import re
from re import _constants as C  # noqa: the opcodes of Python's own `re` parse trees


def in_class(byte: int, items, flags: int = 0) -> bool:
    """Whether a character class (the items of an IN node of `re._parser.parse`) matches `byte`, as a
    bytes pattern with `flags` would (re.I folds ASCII letters; the categories are ASCII's)."""
    negate, hit = False, False
    ch = chr(byte)
    folds = {ord(ch.lower()), ord(ch.upper())} if flags & re.I and byte < 128 else {byte}
    for op, av in items:
        if op is C.NEGATE:
            negate = True
        elif op is C.LITERAL:
            hit |= av in folds
        elif op is C.RANGE:
            lo, hi = av
            hit |= any(lo <= b <= hi for b in folds)
        elif op is C.CATEGORY:
            hit |= {C.CATEGORY_DIGIT: ch.isdigit() and byte < 128,
                    C.CATEGORY_NOT_DIGIT: not (ch.isdigit() and byte < 128),
                    C.CATEGORY_SPACE: ch in " \t\n\r\f\v",
                    C.CATEGORY_NOT_SPACE: ch not in " \t\n\r\f\v",
                    C.CATEGORY_WORD: byte < 128 and (ch.isalnum() or ch == "_"),
                    C.CATEGORY_NOT_WORD: not (byte < 128 and (ch.isalnum() or ch == "_"))}.get(av, False)
    return hit != negate
