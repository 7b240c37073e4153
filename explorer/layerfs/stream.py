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
            except Exception as exc:  # noqa: BLE001 - whatever a decompressor or the file raises ends the stream
                self.error = as_stream_error(exc)
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
    if head[:4] == b"\x28\xb5\x2f\xfd" or (len(head) >= 8 and int.from_bytes(head[:4], "little") & ~0xF == 0x184D2A50):
        return "zstd"  # a zstd frame, or a skippable frame (moby's zstd check takes both)
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if head[:3] == b"BZh":
        return "bzip2"
    return "none"


class StreamError(OSError):
    """A compressed layer stream that cannot be read on (a bad header, checksum or trailing bytes)."""


def as_stream_error(exc: Exception) -> Exception:
    """`exc` as an error the layer walker reports (decompressors raise their own classes, isal's
    IsalError among them, which derive from nothing else)."""
    if isinstance(exc, (OSError, EOFError, ValueError)):
        return exc
    return StreamError(f"{type(exc).__name__}: {exc}")


class PumpedReader(io.RawIOBase):
    """A decompressed stream made step by step by `_pump`, which sets `_pending` (the next piece of
    output) or `_done`. Every byte made before an error is handed out before the error is raised,
    so the tar entries before a damaged spot are kept."""

    def __init__(self) -> None:
        super().__init__()
        self._pending = memoryview(b"")
        self._done = False
        self._error: Exception | None = None
        """Raised once the bytes made before it have been handed out."""

    def readable(self) -> bool:
        return True

    def _pump(self) -> None:
        raise NotImplementedError

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
                except Exception as exc:  # noqa: BLE001 - every decompressor error ends the stream the same way
                    self._error = as_stream_error(exc)
                continue
            take = min(size - n, len(self._pending))
            view[n:n + take] = self._pending[:take]
            self._pending = self._pending[take:]
            n += take
        return n


class GzipReader(PumpedReader):
    """gzip read as Docker reads it (Go's compress/gzip, multistream), inflated piece by piece with isa-l.

    Each member: the header as Go parses it (magic, method 8, FEXTRA of any length, FNAME and
    FCOMMENT of at most 511 bytes, FHCRC checked, reserved flag bits ignored), raw deflate, then the
    CRC-32 and size trailer. After a member, the stream may end (no byte left) or another member
    follow; anything else (trailing zeros, junk, a cut header) is an error, as in Go, where it fails
    `docker load`.

    Memory: the compressed bytes are read into one buffer, used over and over, and inflated
    INPUT bytes at a time into pieces of at most OUTPUT bytes; both stay below glibc's mmap
    threshold (explorer.core.memtune), so the pieces come from the heap instead of fresh pages.
    """

    NAME_MAX = 512
    """Go's readString: a NUL-terminated header string fits its 512-byte buffer, NUL included."""

    def __init__(self, raw: BinaryIO):
        super().__init__()
        self._raw = raw
        self._d = None
        self._in = memoryview(bytearray(CHUNK))
        self._start = self._end = 0
        """The compressed bytes read and not yet inflated: `_in[_start:_end]`."""
        self._state = "header"
        self._crc = self._size = 0
        self._step = INPUT
        self.members = 0


    def close(self) -> None:
        self._in = self._pending = memoryview(b"")
        self._d = None
        super().close()

    # -- compressed bytes ---------------------------------------------------------------------

    def _fill(self, n: int) -> bool:
        """At least `n` unread compressed bytes in the buffer; False when the stream ends first."""
        while self._end - self._start < n:
            if self._start:  # keep the unread bytes, at the front
                rest = bytes(self._in[self._start:self._end])
                self._in[:len(rest)] = rest
                self._start, self._end = 0, len(rest)
            got = self._raw.readinto(self._in[self._end:])
            if not got:
                return False
            self._end += got
        return True

    def _take(self, n: int, what: str) -> bytes:
        if not self._fill(n):
            raise EOFError(f"compressed layer ends inside a gzip {what}")
        data = bytes(self._in[self._start:self._start + n])
        self._start += n
        return data

    def _string(self, what: str) -> bytes:
        self._fill(self.NAME_MAX)
        window = self._in[self._start:min(self._end, self._start + self.NAME_MAX)]
        nul = bytes(window).find(b"\0")
        if nul < 0:
            if len(window) >= self.NAME_MAX:
                raise StreamError(f"gzip header: {what} longer than {self.NAME_MAX - 1} bytes "
                                  "(Docker's gzip reader refuses it)")
            raise EOFError(f"compressed layer ends inside a gzip {what}")
        return self._take(nul + 1, what)

    def _header(self) -> bool:
        """One member header; False at the end of the stream (not a byte left)."""
        if not self._fill(10):
            if self._start == self._end:
                return False
            raise EOFError("compressed layer ends inside a gzip header")
        head = self._take(10, "header")
        if head[:3] != b"\x1f\x8b\x08":
            what = "zero bytes" if head.count(0) == len(head) else "bytes that are not a gzip member"
            raise StreamError(f"{what} after gzip member {self.members} (Docker's gzip reader refuses them)")
        flags, crc = head[3], _zlib.crc32(head)
        if flags & 4:  # FEXTRA
            size = self._take(2, "header")
            crc = _zlib.crc32(size, crc)
            crc = _zlib.crc32(self._take(int.from_bytes(size, "little"), "header"), crc)
        if flags & 8:  # FNAME
            crc = _zlib.crc32(self._string("file name"), crc)
        if flags & 16:  # FCOMMENT
            crc = _zlib.crc32(self._string("comment"), crc)
        if flags & 2 and int.from_bytes(self._take(2, "header"), "little") != crc & 0xFFFF:
            raise StreamError("gzip header checksum mismatch")
        return True

    def _pump(self) -> None:
        """One step: a member header, at most INPUT compressed bytes inflated to at most OUTPUT
        bytes (a gzip bomb never inflates all at once), or a member's trailer."""
        if self._state == "header":
            if not self._header():
                if not self.members:
                    raise EOFError("empty gzip stream")
                self._done = True
                return
            self._d = _zlib.decompressobj(wbits=-15)
            self._crc = self._size = 0
            self._step = 512
            self._state = "body"
            return
        if self._state == "trailer":
            trailer = self._take(8, "member trailer")
            self.members += 1
            if (int.from_bytes(trailer[:4], "little") != self._crc
                    or int.from_bytes(trailer[4:], "little") != self._size & 0xFFFFFFFF):
                raise StreamError(f"gzip member {self.members}: checksum or size does not match its content")
            self._state = "header"
            return
        if self._start == self._end:
            self._start, self._end = 0, self._raw.readinto(self._in)
            if not self._end:
                raise EOFError("compressed layer ends before the end of its gzip stream")
        # a member's first pieces are small and grow to INPUT: the decompressor copies what it
        # leaves of a piece, so a stream of thousands of tiny members would copy INPUT bytes each
        piece = self._in[self._start:min(self._end, self._start + self._step)]
        self._step = min(INPUT, self._step * 2)
        out = self._d.decompress(piece, OUTPUT)
        self._start += len(piece) - len(self._d.unconsumed_tail) - len(self._d.unused_data)
        self._crc = _zlib.crc32(out, self._crc)
        self._size += len(out)
        self._pending = memoryview(out)
        if self._d.eof:
            self._state = "trailer"


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


class StreamsReader(PumpedReader):
    """xz or bzip2, several streams back to back, read as Docker reads them: bzip2 by Go's
    compress/bzip2 (after a stream only another `BZh` stream or the end), xz by the `xz` command
    (stream padding of NUL bytes in multiples of four between and after streams, then another
    stream or the end). Anything else after a stream is an error, not ignored as Python's
    LZMAFile/BZ2File do. Output is bounded per read, as for gzip."""

    def __init__(self, raw: BinaryIO, kind: str):
        super().__init__()
        self._raw = raw
        self._kind = kind
        self._d = self._new()
        self._input = b""

    def _new(self):
        return lzma.LZMADecompressor(lzma.FORMAT_XZ) if self._kind == "xz" else bz2.BZ2Decompressor()


    def _more(self) -> bytes:
        data = self._raw.read(INPUT)
        return data or b""

    def _pump(self) -> None:
        d = self._d
        if d.eof:
            self._next_stream(d.unused_data)
            return
        if d.needs_input and not self._input:
            self._input = self._more()
            if not self._input:
                raise EOFError(f"compressed layer ends before the end of its {self._kind} stream")
        data, self._input = self._input, b""
        self._pending = memoryview(d.decompress(data, OUTPUT))

    def _next_stream(self, rest: bytes) -> None:
        """After a stream: the end, padding (xz), or the next stream."""
        padding = 0
        while True:
            if self._kind == "xz":
                stripped = rest.lstrip(b"\0")
                padding += len(rest) - len(stripped)
                rest = stripped
            if rest and (self._kind == "xz" or len(rest) >= 3):
                break
            more = self._more()
            if not more:
                if rest:
                    raise StreamError(f"{len(rest)} bytes after the last {self._kind} stream are not another stream")
                if padding % 4:
                    raise StreamError(f"{padding} NUL bytes after an xz stream (padding comes in fours)")
                self._done = True
                return
            rest += more
        if self._kind == "xz" and padding % 4:
            raise StreamError(f"{padding} NUL bytes between xz streams (padding comes in fours)")
        if self._kind == "bzip2" and rest[:3] != b"BZh":
            raise StreamError("bytes after a bzip2 stream are not another stream (Docker's reader refuses them)")
        self._d = self._new()
        self._input = rest


def decompressor(kind: str, raw: BinaryIO) -> BinaryIO:
    if kind == "gzip":
        return GzipReader(raw)
    if kind == "zstd":
        return ZstdReader(raw)
    if kind in ("xz", "bzip2"):
        return StreamsReader(raw, kind)
    return raw


class LayerStream:
    """The stored blob → (compressed hash) → decompress → (uncompressed hash) pipeline."""

    def __init__(self, blob: BinaryIO):
        self.blob = blob
        self.stored = HashingReader(blob)
        self.compression = sniff(self.stored.peek_head(8))
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
        """Close the blob and let go of the buffers now: `on_read` callbacks (resource caps) refer
        back to the readers, and with the cyclic collector off (explorer.scan.engine) such a cycle would
        keep a layer's megabyte of buffers alive to the end of the run."""
        self.blob.close()
        for reader in (self.plain, self.stored):
            reader.on_read = None
        for stage in (self.reader, self.plain, getattr(self.plain, "_raw", None)):
            try:
                stage.close()
            except Exception:  # noqa: BLE001 - a reader in an error state still lets go
                pass
