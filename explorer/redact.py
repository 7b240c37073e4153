"""Mask secrets in text that reports and the UI print besides evidence: history lines (`created_by`)
and file content in the viewer. Every output masks secrets, not only findings' evidence."""

from __future__ import annotations

import functools
import re

from explorer.detectors.secret_rules import FILE, HISTORY, RULES
from explorer.detectors.secrets import RuleSet, _named_value_severity, mask, secret_name

_PAIR = re.compile(r"""(?<![A-Za-z0-9_])([A-Za-z_][A-Za-z0-9_.-]*)=("[^"\s]*"|'[^'\s]*'|[^\s"']+)""")


@functools.cache
def _rules(scope: str) -> RuleSet:
    return RuleSet(r for r in RULES if scope in r.scopes)


def _apply(raw: bytes, spans: list[tuple[int, int]]) -> bytes:
    out, last = [], 0
    for start, end in sorted(set(spans)):
        if start < last:
            continue
        out.append(raw[last:start])
        out.append(mask(raw[start:end].decode("utf-8", "replace")).encode())
        last = end
    out.append(raw[last:])
    return b"".join(out)


@functools.lru_cache(maxsize=4096)
def redact_text(text: str) -> str:
    """`text` with every secret the history rules see, and every secret-named `NAME=value`, masked."""
    if not text:
        return text
    raw = text.encode("utf-8", "surrogateescape")
    _matches, spans = _rules(HISTORY).scan(raw)
    for pair in _PAIR.finditer(text):
        name, value = pair.group(1), pair.group(2)
        if secret_name(name) and _named_value_severity(name, value) is not None:
            start = len(text[: pair.start(2)].encode("utf-8", "surrogateescape"))
            spans.append((start, start + len(value.encode("utf-8", "surrogateescape"))))
    if not spans:
        return text
    return _apply(raw, spans).decode("utf-8", "surrogateescape")


def redact_content(data: bytes) -> bytes:
    """File content with every secret the file rules find masked (for the viewer)."""
    _matches, spans = _rules(FILE).scan(data)
    return _apply(data, spans) if spans else data


def mask_in_place(data: bytes, keep: int = 8) -> tuple[bytes, list[tuple[int, int]]]:
    """File content with every secret the file rules find masked without moving a byte (for the
    preview's text and hex views: offsets and line numbers stay true), and the masked spans.

    A secret keeps at most its first `keep` bytes (a third of it at most); newlines inside it stay."""
    _matches, spans = _rules(FILE).scan(data)
    if not spans:
        return data, []
    out = bytearray(data)
    done: list[tuple[int, int]] = []
    last = 0
    for start, end in sorted(set(spans)):
        if start < last:
            continue
        shown = min(keep, (end - start) // 3)
        for i in range(start + shown, end):
            if out[i] not in (0x0A, 0x0D):
                out[i] = 0x2A  # '*'
        done.append((start, end))
        last = end
    return bytes(out), done
