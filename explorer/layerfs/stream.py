"""Byte streams for one pass over a layer blob: hash as stored, sniff, decompress, hash again."""

from __future__ import annotations

import bz2
import hashlib
import io
import lzma
from typing import BinaryIO

import zstandard

try:
    from isal import igzip as _gzip
except ImportError:  # pragma: no cover - isal is a dependency, gzip is the fallback
    import gzip as _gzip

CHUNK = 1 << 20


class HashingReader(io.RawIOBase):
    """Passes bytes through while hashing and counting them."""

    def __init__(self, raw: BinaryIO):
        super().__init__()
        self._raw = raw
        self.sha = hashlib.sha256()
        self.count = 0
        self._peeked = b""

    def peek_head(self, n: int) -> bytes:
        """The first n bytes, without consuming them (valid before any read)."""
        while len(self._peeked) < n:
            more = self._raw.read(n - len(self._peeked))
            if not more:
                break
            self._peeked += more
        return self._peeked[:n]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view = memoryview(buffer)
        if self._peeked:
            n = min(len(view), len(self._peeked))
            view[:n] = self._peeked[:n]
            self._peeked = self._peeked[n:]
        else:
            n = self._raw.readinto(view) if hasattr(self._raw, "readinto") else self._fallback(view)
            if not n:
                return 0
        self.sha.update(view[:n])
        self.count += n
        return n

    def _fallback(self, view) -> int:
        data = self._raw.read(len(view))
        view[: len(data)] = data
        return len(data)

    def drain(self) -> None:
        """Read to the end so the hash covers the whole stream."""
        buf = bytearray(CHUNK)
        while self.readinto(buf):
            pass

    def hexdigest(self) -> str:
        return "sha256:" + self.sha.hexdigest()


def sniff(head: bytes) -> str:
    """Compression of a blob by its first bytes; media types lie."""
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if head[:3] == b"BZh":
        return "bzip2"
    return "none"


def decompressor(kind: str, raw: BinaryIO) -> BinaryIO:
    if kind == "gzip":
        return _gzip.IGzipFile(fileobj=raw, mode="rb") if hasattr(_gzip, "IGzipFile") else _gzip.GzipFile(fileobj=raw)
    if kind == "zstd":
        return zstandard.ZstdDecompressor().stream_reader(raw, read_size=CHUNK, read_across_frames=True)
    if kind == "xz":
        return lzma.LZMAFile(raw)
    if kind == "bzip2":
        return bz2.BZ2File(raw)
    return raw


class LayerStream:
    """The stored blob → (compressed hash) → decompress → (uncompressed hash) pipeline."""

    def __init__(self, blob: BinaryIO):
        self.blob = blob
        self.stored = HashingReader(blob)
        self.compression = sniff(self.stored.peek_head(6))
        if self.compression == "none":
            self.plain = self.stored
            self.reader: BinaryIO = io.BufferedReader(self.stored, buffer_size=CHUNK)
        else:
            self.plain = HashingReader(decompressor(self.compression, io.BufferedReader(self.stored, CHUNK)))
            self.reader = io.BufferedReader(self.plain, buffer_size=CHUNK)

    def finish(self) -> None:
        """Consume what the tar reader left (end-of-archive padding), then the stored tail."""
        while self.reader.read(CHUNK):
            pass
        if self.plain is not self.stored:
            self.stored.drain()

    def close(self) -> None:
        self.blob.close()
