"""Mask secrets in text that reports and the UI print besides evidence: history lines (`created_by`)
and file content in the viewer. Every output masks secrets, not only findings' evidence."""

from __future__ import annotations

import functools
import re

from explorer.detectors.gitleaks_rules import RULES
from explorer.detectors.secret_rules import FILE, HISTORY
from explorer.detectors.secrets import RuleSet, _named_value_severity, mask, secret_name

_PAIR = re.compile(r"""(?<![A-Za-z0-9_])(?:([A-Za-z_][A-Za-z0-9_.-]*+)=("[^"\s]*"|'[^'\s]*'|[^\s"']+)"""
                   r"""|[A-Za-z_][A-Za-z0-9_.-]*+)""")
"""`NAME=value`; a name-like run that is not one matches whole without groups (the search goes on
after it instead of retrying from each `-`/`.` inside it: a long run was quadratic)."""


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
        if name is None:
            continue
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


MASK_CHUNK = 64 * 1024
"""Secret rules run over this much content at a time: a regex holds the GIL for a whole call, and the
preview's worker must not freeze the UI thread for the length of a 4 MiB scan."""
MASK_OVERLAP = 8 * 1024
"""Chunks overlap by this much (whole lines when it can), so a secret across a cut is still seen."""


def _secret_spans(data: bytes) -> list[tuple[int, int]]:
    rules = _rules(FILE)
    if len(data) <= MASK_CHUNK:
        return rules.scan(data)[1]
    spans: list[tuple[int, int]] = []
    start = 0
    while True:
        end = min(len(data), start + MASK_CHUNK)
        if end < len(data):
            cut = data.rfind(b"\n", start + MASK_CHUNK // 2, end)
            end = cut + 1 if cut != -1 else end
        spans.extend((a + start, b + start) for a, b in rules.scan(data[start:end])[1])
        if end >= len(data):
            return spans
        back = data.rfind(b"\n", end - MASK_OVERLAP, end - 1)
        start = back + 1 if back != -1 else end - MASK_OVERLAP


_PEM_BEGIN = re.compile(rb"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----")


def _private_key_bodies(data: bytes) -> list[tuple[int, int]]:
    """The whole body of every PEM private key (the secret rules' span covers its first line only)."""
    spans = []
    end_at = -2  # the first -----END at or after the last body start it was looked for from (-1: none)
    at = data.find(b"PRIVATE KEY")
    while at != -1:
        begin = _PEM_BEGIN.search(data, max(0, at - 60), at + 40)
        if begin is not None:
            if end_at == -2 or -1 < end_at < begin.end():  # body starts never decrease: each byte looked at once
                end_at = data.find(b"-----END", begin.end())
            end = end_at if end_at != -1 and end_at + 8 <= begin.end() + 64 * 1024 else -1
            stop = end if end != -1 else min(len(data), begin.end() + 64 * 1024)
            if stop > begin.end():
                spans.append((begin.end(), stop))
        at = data.find(b"PRIVATE KEY", at + 11)
    return spans


def mask_in_place(data: bytes, keep: int = 8) -> tuple[bytes, list[tuple[int, int]]]:
    """File content with every secret the file rules find masked without moving a byte (for the
    preview's text and hex views: offsets and line numbers stay true), and the masked spans.

    A secret keeps at most its first `keep` bytes (a third of it at most); newlines inside it stay.
    Big content is scanned in overlapping chunks (see MASK_CHUNK)."""
    spans = _secret_spans(data) + _private_key_bodies(data)
    if not spans:
        return data, []
    out = bytearray(data)
    done: list[tuple[int, int]] = []
    last = 0
    for start, end in sorted(set(spans)):
        if end <= last:
            continue
        shown = min(keep, (end - start) // 3)
        for i in range(max(start + shown, last), end):
            if out[i] not in (0x0A, 0x0D):
                out[i] = 0x2A  # '*'
        done.append((max(start, last), end))
        last = end
    return bytes(out), done
