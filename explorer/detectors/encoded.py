"""Payloads inside encodings: base64, hex and gzip+base64 blobs in scripts, configs, ENV values, history
lines and Cmd/Entrypoint, decoded (bounded) and scanned again by YARA and the secret rules; and the
shapes droppers use to run such payloads (`base64 -d | sh`, `eval(gzinflate(base64_decode(…)))`,
`exec(__import__('base64')…)`, `python -c` with an encoded payload).

A finding in decoded bytes keeps the rule that matched them and says where the blob was:
`decoded from base64 at line N: <evidence>`. Every pattern here is linear-time: single character
classes with bounded repetitions, no nested quantifiers.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
import zlib
from typing import Iterable

from explorer.detectors.base import FileDetector, HistoryItem, ImageDetector
from explorer.detectors.heuristics._paths import in_temp
from explorer.core.rules import RuleInfo
from explorer.core.findings import Match
from explorer.core.model import EntryKind, FileEntry, ImageConfig

DECODE_EXEC = RuleInfo(
    "suspicious.obfuscated.decode-exec", "suspicious", "high", "Encoded payload decoded and run",
    "A command or script decodes base64/hex/gzip data and runs it (`base64 -d | sh`, "
    "`eval(gzinflate(base64_decode(...)))`, `exec(__import__('base64')...)`, `python -c` with an encoded "
    "payload): the shape droppers use to hide what they run from a reader and from scanners.")
RULES = (DECODE_EXEC,)

SHAPES = (
    re.compile(rb"base64[ \t]{1,8}(?:-d|--decode|-D)\b[^|\n]{0,80}\|[ \t]{0,8}(?:sudo[ \t]{1,8})?"
               rb"(?:/usr)?(?:/bin/)?(?:ba|da|z|k)?sh\b"),
    re.compile(rb"(?:xxd[ \t]{1,8}-r[ \t]{1,8}-p|openssl[ \t]{1,8}(?:enc[ \t]{1,8})?-d[ \t]{1,8}-base64|"
               rb"base64[ \t]{1,8}(?:-d|--decode))[^|\n]{0,80}\|[ \t]{0,8}(?:gunzip|gzip[ \t]{1,8}-d|zcat)?"
               rb"[^|\n]{0,20}\|[ \t]{0,8}(?:ba|da|z)?sh\b"),
    re.compile(rb"eval[ \t]{0,4}\([ \t]{0,4}(?:gzinflate|gzuncompress|str_rot13|gzdecode)[ \t]{0,4}\("
               rb"[ \t]{0,4}base64_decode[ \t]{0,4}\("),
    re.compile(rb"eval[ \t]{0,4}\([ \t]{0,4}base64_decode[ \t]{0,4}\("),
    re.compile(rb"exec[ \t]{0,4}\([ \t]{0,4}__import__[ \t]{0,4}\([ \t]{0,4}['\"](?:base64|zlib|codecs|marshal)['\"]"),
    re.compile(rb"exec[ \t]{0,4}\([ \t]{0,4}(?:base64\.b64decode|zlib\.decompress|marshal\.loads)[ \t]{0,4}\("),
    re.compile(rb"python[0-9.]{0,4}[ \t]{1,8}-c[ \t]{1,8}['\"][^'\"\n]{0,200}(?:b64decode|decodebytes|"
               rb"\.decode\([ \t]{0,4}['\"](?:base64|hex)['\"])"),
)
"""Shapes of decode-then-run; each is tried with `search`, all linear-time."""

BASE64 = re.compile(rb"[A-Za-z0-9+/]{40,65536}={0,2}")
HEX = re.compile(rb"(?<![0-9A-Fa-f])[0-9A-Fa-f]{48,65536}(?![0-9A-Fa-f])")
MAX_BLOBS = 32
"""Blobs decoded per file or text (the first ones)."""
MAX_DECODED = 256 << 10
"""Bytes kept of one decoded blob (gunzip output included)."""
MAX_FILE = 1 << 20
"""Files larger than this are not searched for blobs (bundles, data files)."""
TEXTY = (".sh", ".bash", ".zsh", ".ksh", ".py", ".php", ".pl", ".rb", ".service", ".timer", ".conf", ".cfg",
         ".ini", ".yml", ".yaml", ".env", ".ps1", ".bat", ".cmd", ".cron", ".desktop", ".rc", ".pth", ".txt",
         ".xml", ".toml", ".phtml", ".jsp", ".asp", ".aspx", ".js", ".json")
PLACES = ("/etc/", "/root/", "/home/", "/usr/local/bin/", "/usr/local/sbin/", "/opt/", "/srv/", "/app/",
          "/var/www/", "/var/spool/cron/", "/docker-entrypoint", "/entrypoint", "/start", "/run.sh")
LIBRARIES = ("/usr/share/", "/usr/lib/", "/usr/local/lib/", "/usr/include/", "/usr/local/include/", "/lib/",
             "/etc/ssl/", "/etc/ca-certificates", "/etc/pki/", "/etc/alternatives/")
"""Installed libraries, documentation and certificate stores: read only for `.pth` start-up hooks (their
content is what packages ship, which package verification and the other rules judge; searching every
stdlib module for blobs cost more than the rest of the scan's heuristics together)."""
VENDORED = ("/node_modules/", "/site-packages/", "/dist-packages/")


def _printable(data: bytes) -> bool:
    if not data:
        return False
    sample = data[:512]
    good = sum(1 for b in sample if 32 <= b < 127 or b in (9, 10, 13))
    return good >= len(sample) * 0.9


def _gunzip(data: bytes) -> bytes | None:
    if data[:2] != b"\x1f\x8b" and data[:1] != b"\x78":
        return None
    try:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if data[:2] == b"\x1f\x8b" else zlib.MAX_WBITS)
        return inflater.decompress(data, MAX_DECODED)
    except zlib.error:
        return None


def decoded_blobs(text: bytes) -> Iterable[tuple[str, int, bytes]]:
    """(encoding, offset, decoded bytes) for the blobs of `text` that decode to text or to gzip/zlib data."""
    count = 0
    for kind, regex in (("base64", BASE64), ("hex", HEX)):
        for found in regex.finditer(text):
            blob = found.group()
            try:
                if kind == "base64":
                    raw = base64.b64decode(blob + b"=" * (-len(blob) % 4), validate=True)
                else:
                    raw = binascii.unhexlify(blob[: len(blob) // 2 * 2])
            except (binascii.Error, ValueError):
                continue
            inflated = _gunzip(raw)
            if inflated is not None and _printable(inflated):
                yield f"gzip+{kind}", found.start(), inflated[:MAX_DECODED]
            elif _printable(raw):
                yield kind, found.start(), raw[:MAX_DECODED]
            else:
                continue
            count += 1
            if count >= MAX_BLOBS:
                return


class EncodedPayloads(FileDetector, ImageDetector):
    """Decode-then-run shapes, and blobs decoded and scanned by `inner` detectors (YARA, secrets)."""

    name = "encoded-payloads"
    version = "1"
    RULES = RULES

    def __init__(self, inner: list[FileDetector] = ()) -> None:
        self.inner = list(inner)

    def wants(self, entry: FileEntry) -> bool:
        if entry.kind is not EntryKind.FILE or not 40 <= entry.size <= MAX_FILE:
            return False
        path = entry.path
        if path.startswith(LIBRARIES) or any(s in path for s in VENDORED):
            return path.endswith(".pth")
        return path.endswith(TEXTY) or path.startswith(PLACES) or in_temp(path) or "/cron" in path

    def scan(self, entry: FileEntry, data: bytes) -> Iterable[Match]:
        if b"\0" in data[:1024]:
            return []
        return list(self._text(data, entry))

    def _text(self, data: bytes, entry: FileEntry | None, depth: int = 0) -> Iterable[Match]:
        for shape in SHAPES:
            found = shape.search(data)
            if found is not None:
                line = data.count(b"\n", 0, found.start()) + 1
                yield DECODE_EXEC.match(_line_at(data, found.start()), line=line)
                break
        for kind, offset, decoded in decoded_blobs(data):
            line = data.count(b"\n", 0, offset) + 1
            where = f"decoded from {kind} at line {line}"
            for match in self._inner(decoded, entry, depth):
                yield dataclasses.replace(match, line=line, evidence=f"{where}: {match.evidence}"[:300],
                                          title=match.title if match.title.endswith("(encoded)") else
                                          f"{match.title} (encoded)")

    def _inner(self, decoded: bytes, entry: FileEntry | None, depth: int) -> Iterable[Match]:
        pseudo = FileEntry(path=(entry.path if entry else "/") + "#decoded", kind=EntryKind.FILE,
                           layer=entry.layer if entry else 0, size=len(decoded))
        seen = set()
        for detector in self.inner:
            if not detector.wants(pseudo):
                continue
            for match in detector.scan(pseudo, decoded):
                if match.rule_id not in seen and not match.is_fact:
                    seen.add(match.rule_id)
                    yield match
        if depth < 1:
            for match in self._text(decoded, entry, depth + 1):
                if match.rule_id not in seen:
                    seen.add(match.rule_id)
                    yield match

    # -- config and history ---------------------------------------------------------------------
    def scan_config(self, config: ImageConfig) -> Iterable[Match]:
        texts = [(f"ENV {item.split('=', 1)[0]}", item) for item in config.env]
        if config.entrypoint:
            texts.append(("Entrypoint", " ".join(config.entrypoint)))
        if config.cmd:
            texts.append(("Cmd", " ".join(config.cmd)))
        for number, (what, text) in enumerate(texts, start=1):
            for match in self._text(text.encode("utf-8", "surrogateescape"), None):
                yield dataclasses.replace(match, line=number, evidence=f"{what}: {match.evidence}"[:300])

    def scan_history(self, item: HistoryItem) -> Iterable[Match]:
        for match in self._text(item.created_by.encode("utf-8", "surrogateescape"), None):
            yield dataclasses.replace(match, line=item.position)


def _line_at(data: bytes, pos: int) -> str:
    start = data.rfind(b"\n", 0, pos) + 1
    end = data.find(b"\n", pos)
    line = data[start: end if end >= 0 else len(data)]
    return line[:160].decode("utf-8", "replace")
