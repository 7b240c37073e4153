"""Tar members read straight off a forward-only stream, exactly as Go's `archive/tar` reads them.

Docker (and containerd) read every layer with Go's `archive/tar` (`Reader.Next`) and write what it
returns; a tool that reads the same bytes differently shows, scans and extracts other files than
the container gets. So this reader follows Go's reader.go, format.go and strconv.go rule for rule:

- a header block is recognised by its checksum (an octal field, unsigned or signed sum) and its
  format by its magic: V7 (no magic), ustar/pax (`ustar\\0`), star (ustar plus a `tar\\0`
  trailer) or GNU (`ustar  \\0`). The ustar prefix is joined only for ustar/pax and star headers;
  for GNU ones only when their atime/ctime fields do not read as numbers (Go's fallback for
  pre-1.8 Go writers). Numbers are octal with NULs and spaces trimmed at both ends, or base-256
  when the first byte's high bit is set; anything else is a header error;
- a pax `x` header replaces (does not merge with) the one before it; records are checked as Go
  checks them (a NUL in a path/linkpath/uname/gname value is an error); an empty value keeps the
  header's own field; a bad number in size/uid/gid/mtime/atime/ctime is an error. A GNU `L`/`K`
  long name (to its first NUL) overrides pax `path`/`linkpath`, unless empty. Extended headers
  over 1 MiB are an error for Go: read on here (up to 16 MiB) but noted in `refusals`;
- a pax global header `g` is its own member (type `g`, its name possibly set by its own `path`
  record) and changes nothing after it;
- an old-style (type `\\0`) member whose final name ends in `/` is a folder, else a regular file;
- GNU pax sparse files (formats 0.0, 0.1 and 1.0) are read as Go reads them, holes as zeros;
- the archive ends at the end of the stream before a header, at two zero blocks, at one zero
  block followed by the end, or at the end of the stream inside the last member's padding; a zero
  block followed by anything else, or a cut header, is an error.

Where Go returns an error Docker refuses the layer (`docker load` fails): this reader raises
`TarHeaderError` (or EOFError for a cut stream), so the layer is reported as damaged.

Member content is read with `read`/`hash_into` before asking for the next member: the walker
(scan), the preview and extract all read it through this one parser, by member position.
"""

from __future__ import annotations

import re
from typing import BinaryIO, Callable, Iterator
from zlib import adler32

BLOCK = 512
ZERO_BLOCK = bytes(BLOCK)
MAX_SPECIAL = 1 << 24
"""Bytes of a pax or GNU long-name header read; more is an error. (Go's limit is 1 MiB, and Docker
refuses a layer with a larger one; explorer reads up to 16 MiB and leaves out the names too long
to keep, and reports the layer as damaged.)"""
GO_SPECIAL = 1 << 20
"""Go's own limit on an extended header: a larger one is read (up to MAX_SPECIAL) and noted in
`TarHeaders.refusals`, so the layer is reported as damaged while what it holds is still shown."""
MAX_REFUSALS = 20
"""Refusals noted per layer (each one alone makes the layer damaged)."""

REGULAR = frozenset(b"0")
"""Regular files (`\\0` becomes `0` or `5` as Go decides; `7` and other types are not files)."""
NO_CONTENT = frozenset(b"123456")
"""Go's header-only types: their size field is ignored, no content follows them."""
REMEMBERED = 4096
"""Header fields read once per distinct bytes and remembered, per stream and per group (mode, uid
and gid; uname and gname; devmajor and devminor: a layer repeats a few of them thousands of times,
while a hostile one may make every one new)."""

MAX_SPARSE = 1 << 16
"""Fragments in one sparse file's map; a larger map is reported as damage (Go has no cap; real
sparse files hold a few, and each fragment costs memory here)."""

V7, USTAR, STAR, GNU = 1, 2, 16, 8


class TarHeaderError(ValueError):
    """A header that Go's archive/tar refuses; the layer stops there."""


class Member:
    """One member as Go's Reader.Next returns it (the fields the walker uses)."""

    __slots__ = ("name", "linkname", "size", "mode", "uid", "gid", "mtime", "uname", "gname", "type",
                 "devmajor", "devminor", "offset_data", "sparse")

    def isreg(self) -> bool:
        return self.type in REGULAR

    def isdir(self) -> bool:
        return self.type == 53  # b"5"

    def issym(self) -> bool:
        return self.type == 50  # b"2"

    def islnk(self) -> bool:
        return self.type == 49  # b"1"

    def ischr(self) -> bool:
        return self.type == 51

    def isblk(self) -> bool:
        return self.type == 52

    def isfifo(self) -> bool:
        return self.type == 54

    def isglobal(self) -> bool:
        return self.type == 103  # b"g"

    def has_content(self) -> bool:
        return self.type not in NO_CONTENT and self.type != 103


def _text(raw: bytes) -> str:
    end = raw.find(0)
    return (raw if end < 0 else raw[:end]).decode("utf-8", "surrogateescape")


def _octal(raw: bytes, what: str, at: int) -> int:
    """Go's parseOctal: NULs and spaces trimmed at both ends, up to the first NUL, octal digits only."""
    text = raw.strip(b" \x00")
    if not text:
        return 0
    end = text.find(0)
    if end >= 0:
        text = text[:end]
    if text.strip(b"01234567"):
        raise TarHeaderError(f"tar header at byte {at}: {what} is not a number")
    return int(text, 8)


def _number(raw: bytes, what: str, at: int) -> int:
    """Go's parseNumeric: base-256 (two's complement) when the first byte's high bit is set, else octal."""
    first = raw[0]
    if not first & 0x80:
        return _octal(raw, what, at)
    inv = 0xFF if first & 0x40 else 0
    value = (first ^ inv) & 0x7F
    for c in raw[1:]:
        if value >> 56:
            raise TarHeaderError(f"tar header at byte {at}: {what} overflows")
        value = value << 8 | (c ^ inv)
    if value >> 63:
        raise TarHeaderError(f"tar header at byte {at}: {what} overflows")
    return ~value if inv else value


def _format(block: bytes, at: int) -> int:
    """Go's getFormat: 0 (not a header: a bad checksum) or the format its magic says; TarHeaderError
    when the checksum field is not a number."""
    field = block[148:156]
    try:
        stored = _octal(field, "checksum", at)
    except TarHeaderError:
        end = field.find(0)
        legacy = (field if end < 0 else field[:end]).strip()
        if field[0] & 0x80 or not legacy.strip(b"01234567"):
            return 0  # a bad checksum
        raise
    # the sum of the block's bytes with the field itself counted as eight spaces (256); adler32's low
    # half is 1 + the sum of the bytes modulo 65521, which is the exact sum + 1 for up to 256 bytes
    unsigned = (adler32(block[:256]) & 0xFFFF) + (adler32(block[256:]) & 0xFFFF) - (adler32(field) & 0xFFFF) + 255
    if stored != unsigned:
        high = sum(1 for b in block[:148] + block[156:] if b >= 128)
        if stored != unsigned - 256 * high:  # Go also accepts the sum of signed bytes
            return 0
    magic = block[257:263]
    if magic == b"ustar\x00":
        return STAR if block[508:512] == b"tar\x00" else USTAR
    if magic == b"ustar " and block[263:265] == b" \x00":
        return GNU
    return V7


def _ids(block: bytes, at: int) -> tuple[int, int, int]:
    return _number(block[100:108], "mode", at), _number(block[108:116], "uid", at), _number(block[116:124], "gid", at)


def _owner_names(block: bytes, _at: int) -> tuple[str, str]:
    return _text(block[265:297]), _text(block[297:329])


def _devices(block: bytes, at: int) -> tuple[int, int]:
    return _number(block[329:337], "devmajor", at), _number(block[337:345], "devminor", at)


def _remembered(seen: dict, key: bytes, read: Callable[[bytes, int], tuple], block: bytes, at: int) -> tuple:
    """`read(block, at)`, remembered by the bytes `key` it is read from (REMEMBERED at most)."""
    value = seen.get(key)
    if value is None:
        value = read(block, at)
        if len(seen) < REMEMBERED:
            seen[key] = value
    return value


_GO_INT = re.compile(rb"[+-]?[0-9]+")
INT64 = 1 << 63


def go_int(raw: bytes) -> int | None:
    """Go's strconv.ParseInt(s, 10, 64), or None where it fails (no spaces, no underscores)."""
    if not _GO_INT.fullmatch(raw):
        return None
    value = int(raw)
    return value if -INT64 <= value < INT64 else None


def _pax_time(raw: bytes) -> int | None:
    """Go's parsePAXTime, to whole seconds; None where it fails."""
    secs, dot, frac = raw.partition(b".")
    value = go_int(secs)
    if value is None or (dot and frac.strip(b"0123456789")):
        return None
    return value


_NO_NUL = (b"linkpath", b"uname", b"gname")
"""Records whose value may not hold a NUL. Go refuses one in `path` too: explorer reads such a name,
shows it escaped and never extracts it, and notes it in `refusals` (the layer is reported damaged)."""


def _pax(data: bytes, at: int) -> dict[bytes, bytes]:
    """Go's parsePAX: every record well formed, or a header error."""
    records: dict[bytes, bytes] = {}
    sparse: list[bytes] = []
    pos, end = 0, len(data)
    while pos < end:
        space = data.find(b" ", pos)
        length = go_int(data[pos:space]) if space >= 0 else None
        if length is None or length < 5 or length > end - pos or space + 1 >= pos + length - 1:
            raise TarHeaderError(f"tar header at byte {at}: malformed pax record")
        record_end = pos + length - 1
        if data[record_end] != 10:
            raise TarHeaderError(f"tar header at byte {at}: malformed pax record")
        key, eq, value = data[space + 1:record_end].partition(b"=")
        if not eq or not key or (0 in value if key in _NO_NUL else key != b"path" and 0 in key):
            raise TarHeaderError(f"tar header at byte {at}: malformed pax record")
        pos += length
        if key in (b"GNU.sparse.offset", b"GNU.sparse.numbytes"):
            if key != (b"GNU.sparse.offset", b"GNU.sparse.numbytes")[len(sparse) % 2] or b"," in value:
                raise TarHeaderError(f"tar header at byte {at}: malformed pax sparse record")
            sparse.append(value)
        elif key in _KEPT or key.startswith(b"GNU.sparse."):
            records[key] = value  # the others change nothing Docker writes: checked, not kept
    if sparse:
        records[b"GNU.sparse.map"] = b",".join(sparse)
    return records


class _Sparse:
    """The logical content of a pax sparse member: data fragments from the stream, holes as zeros."""

    __slots__ = ("segments", "at")

    def __init__(self, data: list[tuple[int, int]], size: int):
        # Go's invertSparseEntries, as (is_data, length) runs in logical order
        segments: list[list] = []
        pos = 0
        for offset, length in data:
            if length == 0:
                continue
            if offset > pos:
                segments.append([False, offset - pos])
            segments.append([True, length])
            pos = offset + length
        if size > pos:
            segments.append([False, size - pos])
        self.segments = segments
        self.at = 0


def _valid_sparse(data: list[tuple[int, int]], size: int) -> bool:
    """Go's validateSparseEntries."""
    if size < 0:
        return False
    end = 0
    for offset, length in data:
        if offset < 0 or length < 0 or offset > INT64 - 1 - length or offset + length > size or end > offset:
            return False
        end = offset + length
    return True


class TarHeaders:
    """Iterate the members of a tar stream; read a member's content with `read` before the next.

    `fh` is any binary stream with `read(n)`; nothing seeks. `offset` is the position in it.
    """

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self.offset = 0
        self._end = 0
        """Where the current member's stored content ends."""
        self._next = 0
        """Where the next header starts (after the current member's padding)."""
        self._sparse: _Sparse | None = None
        self.on_holes: Callable[[int], None] | None = None
        """Told how many zero bytes each hole of a sparse file adds (a sparse file is a way to make
        a small layer expand to terabytes: the caller caps them as decompressed bytes)."""
        self._scratch = memoryview(bytearray(1 << 20))
        self._ids: dict[bytes, tuple] = {}
        self._owner_names: dict[bytes, tuple] = {}
        self._devices: dict[bytes, tuple] = {}
        self.refusals: list[str] = []
        """What Docker refuses in this stream although it reads on (the caller reports the layer as damaged)."""

    # -- stream ---------------------------------------------------------------------------------

    def _raw(self, n: int) -> bytes:
        data = self._fh.read(n)
        self.offset += len(data)
        return data

    def read(self, n: int) -> bytes:
        """Up to n bytes of the current member's content (its logical content for a sparse file)."""
        if self._sparse is not None:
            return self._sparse_read(n)
        return self._raw(min(n, self._end - self.offset))

    def hash_into(self, sha, n: int) -> None:
        """Pass the next n bytes of the member's content through one buffer, never kept, to `sha`
        unless it is None; EOFError if the stream ends first."""
        if self._sparse is not None:
            while n > 0:
                data = self._sparse_read(min(n, len(self._scratch)))
                if not data:
                    raise EOFError("layer ends inside a tar member's content")
                if sha is not None:
                    sha.update(data)
                n -= len(data)
            return
        if n > self._end - self.offset:
            raise EOFError("a tar member's content is shorter than asked")
        self._skip(sha, n)

    def _skip(self, sha, n: int) -> None:
        view = self._scratch
        while n > 0:
            got = self._fh.readinto(view[:n] if n < len(view) else view)
            if not got:
                raise EOFError("layer ends inside a tar member's content")
            self.offset += got
            if sha is not None:
                sha.update(view[:got])
            n -= got

    def _sparse_read(self, n: int) -> bytes:
        sp = self._sparse
        out = []
        while n > 0 and sp.at < len(sp.segments):
            segment = sp.segments[sp.at]
            take = min(n, segment[1])
            if segment[0]:
                if take > self._end - self.offset:
                    raise TarHeaderError("sparse member: less data stored than its map says")
                data = self._raw(take)
                if len(data) < take:
                    raise EOFError("layer ends inside a tar member's content")
                out.append(data)
            else:
                if self.on_holes is not None:
                    self.on_holes(take)
                out.append(bytes(take))
            segment[1] -= take
            n -= take
            if not segment[1]:
                sp.at += 1
        if sp.at == len(sp.segments) and self.offset < self._end:
            raise TarHeaderError("sparse member: more data stored than its map says")
        return b"".join(out)

    def _block(self) -> bytes | None:
        """The next header block, or None at a clean end of the stream."""
        at = self.offset
        block = self._raw(BLOCK)
        if len(block) == BLOCK:
            return block
        if not block:
            return None
        raise TarHeaderError(f"layer ends inside the tar header at byte {at}")

    def _special(self, size: int, at: int) -> bytes:
        """An extended header's content (Go's readSpecialFile), and its padding."""
        if size > MAX_SPECIAL:
            raise TarHeaderError(f"tar header at byte {at}: extended header of {size} bytes")
        if size > GO_SPECIAL and len(self.refusals) < MAX_REFUSALS:
            self.refusals.append(f"tar header at byte {at}: extended header of {size} bytes, over the 1 MiB "
                                 "Docker reads")
        data = self._raw(size)
        if len(data) < size:
            raise EOFError("layer ends inside an extended tar header")
        self._end = self.offset
        self._next = self.offset + (-size % BLOCK)
        return data

    # -- members --------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Member]:
        while True:
            member = self.next()
            if member is None:
                return
            yield member

    def _finish_member(self) -> bool:
        """Skip what is left of the current member and its padding; False at the end of the stream
        inside the padding (Go's reader ends there cleanly)."""
        self._sparse = None
        if self.offset < self._end:
            self._skip(None, self._end - self.offset)
        pad = self._next - self.offset
        if pad > 0:
            return len(self._raw(pad)) == pad
        return True

    def next(self) -> Member | None:
        pax: dict[bytes, bytes] | None = None
        longname = longlink = ""
        while True:
            if (self.offset != self._next or self._sparse is not None) and not self._finish_member():
                return None
            at = self.offset
            block = self._block()
            if block is None:
                return None
            if block == ZERO_BLOCK:
                second = self._raw(BLOCK)
                if not second or second == ZERO_BLOCK:
                    return None  # the end of the archive; what follows is never read by Docker
                if len(second) < BLOCK:
                    raise EOFError(f"layer ends inside the tar block at byte {at + BLOCK}")
                raise TarHeaderError(f"a zero block at byte {at} is followed by more data "
                                     "(a false end of archive)")
            fmt = _format(block, at)
            if not fmt:
                raise TarHeaderError(f"tar header at byte {at}: bad checksum (a damaged or not a tar stream)")
            kind = block[156]
            size = _number(block[124:136], "size", at)
            m = self._header(block, fmt, kind, size, at)
            if size < 0 and kind not in NO_CONTENT:
                raise TarHeaderError(f"tar header at byte {at}: negative size")
            if kind in (120, 103):  # x, g: pax extended header, global header
                pax = _pax(self._special(size, at), at)
                if 0 in pax.get(b"path", b"") and len(self.refusals) < MAX_REFUSALS:
                    self.refusals.append(f"tar header at byte {at}: a NUL in a pax path")
                if kind == 103:
                    path = pax.get(b"path")
                    if path:
                        m.name = path.decode("utf-8", "surrogateescape")
                    m.size = 0
                    m.offset_data = self.offset
                    return m  # its own member, changing nothing after it
            elif kind in (76, 75):  # L, K: GNU long name / link name for the next member
                text = _text(self._special(size, at))
                if kind == 76:
                    longname = text
                else:
                    longlink = text
            else:
                return self._member(m, pax, longname, longlink, block, at)

    def _header(self, block: bytes, fmt: int, kind: int, size: int, at: int) -> Member:
        """Go's readHeader: every numeric field checked, the prefix joined as Go joins it."""
        m = Member()
        m.type = kind
        m.name = _text(block[:100])
        m.linkname = _text(block[157:257]) if block[157] else ""
        m.size = size
        m.mode, m.uid, m.gid = _remembered(self._ids, block[100:124], _ids, block, at)
        m.mtime = _number(block[136:148], "mtime", at)
        m.sparse = None
        if fmt == V7:
            m.uname = m.gname = ""
            m.devmajor = m.devminor = 0
            return m
        m.uname, m.gname = _remembered(self._owner_names, block[265:329], _owner_names, block, at)
        m.devmajor, m.devminor = _remembered(self._devices, block[329:345], _devices, block, at)
        prefix = b""
        if fmt == USTAR:
            if not block[345]:
                return m  # the common case: no prefix
            prefix = block[345:500]
        elif fmt == STAR:
            prefix = block[345:476]
            _number(block[476:488], "atime", at)
            _number(block[488:500], "ctime", at)
        elif block[345] or block[357]:  # GNU: atime and ctime, or a pre-Go-1.8 prefix
            try:
                if block[345]:
                    _number(block[345:357], "atime", at)
                if block[357]:
                    _number(block[357:369], "ctime", at)
            except TarHeaderError:
                raw = block[345:500]
                end = raw.find(0)
                raw = raw if end < 0 else raw[:end]
                if raw.isascii():
                    prefix = raw
        if prefix and prefix[0]:
            m.name = _text(prefix) + "/" + m.name
        return m

    def _member(self, m: Member, pax: dict[bytes, bytes] | None, longname: str, longlink: str,
                block: bytes, at: int) -> Member:
        if pax:
            self._apply(m, pax, at)
        if longname:
            m.name = longname
        if longlink:
            m.linkname = longlink
        kind = m.type
        if kind == 0:
            m.type = kind = 53 if m.name.endswith("/") else 48  # old tars: a folder is a file named '.../'
        if kind == 53:
            m.name = m.name.rstrip("/")  # as Docker cleans it
        if kind == 83:  # S: an old GNU sparse file, which Docker refuses ("unhandled tar header type")
            raise TarHeaderError(f"tar header at byte {at}: old GNU sparse member {m.name!r} (Docker refuses it)")
        content = 0 if kind in NO_CONTENT else m.size
        if content < 0:
            raise TarHeaderError(f"tar header at byte {at}: negative size")
        m.offset_data = self.offset
        self._end = self.offset + content
        self._next = self._end + (-content % BLOCK)
        if pax:
            self._sparse_map(m, pax, at)
        return m

    @staticmethod
    def _apply(m: Member, pax: dict[bytes, bytes], at: int) -> None:
        """Go's mergePAX."""
        for key, raw in pax.items():
            if not raw:
                continue  # an empty value keeps the header's own
            field = _PAX_TEXT.get(key)
            if field is not None:
                setattr(m, field, raw.decode("utf-8", "surrogateescape"))
            elif key in _PAX_NUMBERS:
                value = _pax_time(raw) if key in _PAX_TIMES else go_int(raw)
                if value is None:
                    raise TarHeaderError(f"tar header at byte {at}: pax {key.decode('ascii', 'replace')} "
                                         "is not a number")
                if key != b"atime" and key != b"ctime":
                    setattr(m, key.decode(), value)

    def _sparse_map(self, m: Member, pax: dict[bytes, bytes], at: int) -> None:
        """Go's readGNUSparsePAXHeaders and handleSparseFile."""
        major, minor = pax.get(b"GNU.sparse.major", b""), pax.get(b"GNU.sparse.minor", b"")
        if major == b"0" and minor in (b"0", b"1"):
            v1 = False
        elif major == b"1" and minor == b"0":
            v1 = True
        elif major or minor or not pax.get(b"GNU.sparse.map"):
            return
        else:
            v1 = False
        name = pax.get(b"GNU.sparse.name")
        if name:
            m.name = name.decode("utf-8", "surrogateescape")
        size = pax.get(b"GNU.sparse.size") or pax.get(b"GNU.sparse.realsize")
        if size:
            m.size = go_int(size)
            if m.size is None:
                raise TarHeaderError(f"tar header at byte {at}: bad sparse size")
        data = self._sparse_map_v1(at) if v1 else self._sparse_map_v0(pax, at)
        if m.type in NO_CONTENT or not _valid_sparse(data, m.size):
            raise TarHeaderError(f"tar header at byte {at}: bad sparse map for {m.name!r}")
        self._sparse = _Sparse(data, m.size)
        m.sparse = data
        m.offset_data = -1

    @staticmethod
    def _sparse_map_v0(pax: dict[bytes, bytes], at: int) -> list[tuple[int, int]]:
        count = go_int(pax.get(b"GNU.sparse.numblocks", b""))
        raw = pax.get(b"GNU.sparse.map", b"")
        if count is None or count < 0 or (raw.count(b",") + 1 if raw else 0) != 2 * count:
            raise TarHeaderError(f"tar header at byte {at}: bad sparse map")
        if count > MAX_SPARSE:
            raise TarHeaderError(f"tar header at byte {at}: sparse map of {count} fragments (over {MAX_SPARSE})")
        numbers = raw.split(b",") if raw else []
        values = [go_int(n) for n in numbers]
        if None in values:
            raise TarHeaderError(f"tar header at byte {at}: bad sparse map")
        return list(zip(values[0::2], values[1::2]))

    def _sparse_map_v1(self, at: int) -> list[tuple[int, int]]:
        """The map at the start of the content: newline-separated decimals, in whole blocks."""
        buf = bytearray()
        newlines = 0

        def feed(want: int) -> None:
            nonlocal buf, newlines
            while newlines < want:
                if self._end - self.offset < BLOCK:
                    raise TarHeaderError(f"tar header at byte {at}: sparse map runs past the member")
                block = self._raw(BLOCK)
                if len(block) < BLOCK:
                    raise EOFError("layer ends inside a sparse map")
                buf += block
                newlines += block.count(b"\n")

        tokens: list[bytes] = []
        pos = 0

        def token() -> bytes:
            nonlocal pos, newlines
            newline = buf.index(b"\n", pos)
            newlines -= 1
            value, pos = bytes(buf[pos:newline]), newline + 1
            return value

        feed(1)
        count = go_int(token())
        if count is None or count < 0 or count >= INT64 // 2:
            raise TarHeaderError(f"tar header at byte {at}: bad sparse map")
        if count > MAX_SPARSE:
            raise TarHeaderError(f"tar header at byte {at}: sparse map of {count} fragments (over {MAX_SPARSE})")
        feed(2 * count)
        for _ in range(2 * count):
            tokens.append(token())
        values = [go_int(t) for t in tokens]
        if None in values:
            raise TarHeaderError(f"tar header at byte {at}: bad sparse map")
        return list(zip(values[0::2], values[1::2]))


_KEPT = frozenset((b"path", b"linkpath", b"uname", b"gname", b"uid", b"gid", b"mtime", b"atime", b"ctime", b"size"))
_PAX_TEXT = {b"path": "name", b"linkpath": "linkname", b"uname": "uname", b"gname": "gname"}
_PAX_NUMBERS = frozenset((b"size", b"uid", b"gid", b"mtime", b"atime", b"ctime"))
_PAX_TIMES = frozenset((b"mtime", b"atime", b"ctime"))
