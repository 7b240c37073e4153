"""Byte streams for one pass over a layer blob: hash as stored, sniff, decompress, hash again."""

from __future__ import annotations

import bz2
import hashlib
import io
import lzma
import zlib
from typing import BinaryIO, Callable

import zstandard

try:
    from isal import isal_zlib as _zlib
except ImportError:  # pragma: no cover - isal is a dependency, zlib is the fallback
    _zlib = zlib

CHUNK = 1 << 20
INPUT = 32 * 1024
OUTPUT = 128 * 1024

STREAM_ERRORS = (EOFError, zlib.error, _zlib.error, OSError, zstandard.ZstdError, lzma.LZMAError, ValueError)
"""What a damaged compressed stream raises while being read."""


class HashingReader(io.RawIOBase):
    """Passes bytes through while hashing and counting them."""

    def __init__(self, raw: BinaryIO):
        super().__init__()
        self._raw = raw
        self.sha = hashlib.sha256()
        self.count = 0
        self._peeked = b""
        self.error: Exception | None = None
        """The error that ended the stream early; reading stops there, and the bytes before it count."""
        self.on_read: Callable[[int], None] | None = None
        """Told the size of every block passed through (resource caps); may raise to stop the read."""

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
            if self.error is not None:
                return 0
            try:
                n = self._raw.readinto(view) if hasattr(self._raw, "readinto") else self._fallback(view)
            except STREAM_ERRORS as exc:
                self.error = exc
                return 0
            if not n:
                return 0
        self.sha.update(view[:n])
        self.count += n
        if self.on_read is not None:
            self.on_read(n)
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


class GzipReader(io.RawIOBase):
    """gzip (several members allowed) decompressed piece by piece with isa-l.

    Unlike GzipFile, every byte decompressed before a cut or a corrupt spot is handed out before
    the error is raised, so the tar entries before the damage are kept.

    Memory: the compressed bytes are read into one buffer, used over and over, and inflated
    INPUT bytes at a time into pieces of at most OUTPUT bytes; both stay below glibc's mmap
    threshold (explorer.memtune), so the pieces come from the heap instead of fresh pages.
    """

    def __init__(self, raw: BinaryIO):
        super().__init__()
        self._raw = raw
        self._d = _zlib.decompressobj(wbits=31)
        self._in = memoryview(bytearray(CHUNK))
        self._start = self._end = 0
        """The compressed bytes read and not yet inflated: `_in[_start:_end]`."""
        self._pending = memoryview(b"")
        self._done = False
        self._error: Exception | None = None
        """Raised once the bytes inflated before it have been handed out."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        view = memoryview(buffer)
        size, n = len(view), 0
        while n < size:
            if not self._pending:
                if self._error is not None:
                    if n:
                        break
                    self._done = True
                    error, self._error = self._error, None
                    raise error
                if self._done:
                    break
                try:
                    self._pump()
                except STREAM_ERRORS as exc:
                    self._error = exc
                continue
            take = min(size - n, len(self._pending))
            view[n:n + take] = self._pending[:take]
            self._pending = self._pending[take:]
            n += take
        return n

    def _pump(self) -> None:
        """Inflate at most INPUT compressed bytes to at most OUTPUT bytes (a gzip bomb never inflates all at once)."""
        if self._start == self._end:
            self._start, self._end = 0, self._raw.readinto(self._in)
            if not self._end:
                if self._d.eof:
                    self._done = True
                    return
                raise EOFError("compressed layer ends before the end of its gzip stream")
        if self._d.eof:  # another gzip member follows
            self._d = _zlib.decompressobj(wbits=31)
        piece = self._in[self._start:min(self._end, self._start + INPUT)]
        self._pending = memoryview(self._d.decompress(piece, OUTPUT))
        self._start += len(piece) - len(self._d.unconsumed_tail) - len(self._d.unused_data)


class ZstdFrames(io.RawIOBase):
    """Passes compressed bytes through while following the zstd frame structure (headers and block
    sizes only, nothing decoded), so that a cut stream can be told from a complete one: zstandard's
    stream reader just stops where the input stops."""

    _ZSTD, _SKIP = 0xFD2FB528, 0x184D2A50

    def __init__(self, raw: BinaryIO):
        super().__init__()
        self._raw = raw
        self._head = b""
        """Bytes of the structure being read (magic, frame header, block header)."""
        self._want = 4
        self._state = "magic"
        self._skip = 0
        """Payload bytes to pass before the next structure."""
        self._checksum = False
        self.frames = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._raw.readinto(buffer)
        if n:
            self._feed(memoryview(buffer)[:n])
        return n

    @property
    def complete(self) -> bool:
        """At a frame boundary, after at least one frame."""
        return self._state == "magic" and not self._head and not self._skip and self.frames > 0

    def _feed(self, data) -> None:
        i, n = 0, len(data)
        while i < n:
            if self._skip:
                step = min(self._skip, n - i)
                self._skip -= step
                i += step
                continue
            take = min(self._want - len(self._head), n - i)
            self._head += bytes(data[i:i + take])
            i += take
            if len(self._head) == self._want:
                self._step()

    def _step(self) -> None:
        head, state = self._head, self._state
        self._head = b""
        if state == "magic":
            magic = int.from_bytes(head, "little")
            if magic == self._ZSTD:
                self._state, self._want = "descriptor", 1
            elif magic & 0xFFFFFFF0 == self._SKIP:
                self._state, self._want = "skip-size", 4
            else:
                raise zstandard.ZstdError("not a zstd frame")
        elif state == "skip-size":
            self._skip = int.from_bytes(head, "little")
            self._state, self._want = "magic", 4
            self.frames += 1
        elif state == "descriptor":
            fhd = head[0]
            single = (fhd >> 5) & 1
            self._checksum = bool((fhd >> 2) & 1)
            fcs = (1 if single else 0, 2, 4, 8)[fhd >> 6]
            self._skip = (0 if single else 1) + (0, 1, 2, 4)[fhd & 3] + fcs
            self._state, self._want = "block", 3
        elif state == "block":
            header = int.from_bytes(head, "little")
            kind, size = (header >> 1) & 3, header >> 3
            if kind == 3:
                raise zstandard.ZstdError("reserved zstd block type")
            self._skip = 1 if kind == 1 else size
            if header & 1:  # the last block of the frame
                self._skip += 4 if self._checksum else 0
                self._state, self._want = "magic", 4
                self.frames += 1
            else:
                self._want = 3


class ZstdReader(io.RawIOBase):
    """zstd (several frames allowed) with bounded output per read; a stream that stops inside a
    frame raises EOFError once everything before the cut has been handed out."""

    def __init__(self, raw: BinaryIO):
        super().__init__()
        self._frames = ZstdFrames(raw)
        self._reader = zstandard.ZstdDecompressor().stream_reader(self._frames, read_size=OUTPUT,
                                                                   read_across_frames=True)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._reader.readinto(buffer)
        if not n and not self._frames.complete:
            raise EOFError("compressed layer ends before the end of its zstd stream")
        return n


def decompressor(kind: str, raw: BinaryIO) -> BinaryIO:
    if kind == "gzip":
        return GzipReader(raw)
    if kind == "zstd":
        return ZstdReader(raw)
    if kind == "xz":
        return lzma.LZMAFile(raw)
    if kind == "bzip2":
        return bz2.BZ2File(raw)
    return raw


class ForwardReader(io.RawIOBase):
    """A one-way stream that tarfile's regular read mode can use: `seek` forward skips bytes, and a
    short step back (tarfile re-reads the byte before a header) is served from the last bytes read.

    tarfile's stream mode (`r|`) re-joins and re-slices its buffer on every small read; this keeps
    the decompressed stream in one buffered reader instead.
    """

    HISTORY = 4096

    def __init__(self, raw: BinaryIO):
        super().__init__()
        self._raw = raw
        self._pos = 0
        """Where the next read starts."""
        self._hi = 0
        """How far the underlying stream has been read."""
        self._tail = b""
        """The last bytes of the underlying stream (up to HISTORY), ending at `_hi`."""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def read(self, size: int = -1) -> bytes:
        data = b""
        if self._pos < self._hi:
            start = len(self._tail) - (self._hi - self._pos)
            data = self._tail[start:] if size is None or size < 0 else self._tail[start:start + size]
            self._pos += len(data)
            if size is not None and 0 <= size <= len(data):
                return data
            size = -1 if size is None or size < 0 else size - len(data)
        new = self._raw.read(size)
        if new:
            self._hi += len(new)
            self._pos = self._hi
            self._tail = new[-self.HISTORY:] if len(new) >= self.HISTORY else (self._tail + new)[-self.HISTORY:]
        return data + new if data else new

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 1:
            pos += self._pos
        elif whence != 0:
            raise io.UnsupportedOperation("seek from the end of a stream")
        if pos < self._pos:
            if self._hi - pos > len(self._tail) or pos < 0:
                raise io.UnsupportedOperation("cannot seek backwards in a layer stream")
            self._pos = pos
            return pos
        while pos > self._pos:
            if not self.read(min(CHUNK, pos - self._pos)):
                break
        return self._pos


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
            raw = self.stored if self.compression == "gzip" else io.BufferedReader(self.stored, CHUNK)
            self.plain = HashingReader(decompressor(self.compression, raw))
            self.reader = io.BufferedReader(self.plain, buffer_size=CHUNK)

    @property
    def error(self) -> Exception | None:
        """Why the stream ended early, if it did (a cut or corrupt blob)."""
        return self.plain.error or self.stored.error

    def finish(self) -> None:
        """Consume what the tar reader left (end-of-archive padding), then the stored tail.

        Raises the stream's error if it ended early, even where the cut fell between two tar
        members (tarfile then just sees an end of archive)."""
        while self.reader.read(CHUNK):
            pass
        if self.plain is not self.stored:
            self.stored.drain()
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.blob.close()
