"""Tar archives written byte by byte, so that every header field can hold anything at all.

`tarfile` cannot write V7 or star headers, NUL- or space-padded numbers, a prefix in a GNU header,
base-256 where octal fits, a signed checksum, pax records it considers invalid or GNU sparse
records: these helpers can. Fields are given as ints (written the ordinary way: octal, zero
padded, NUL terminated) or as raw bytes (written verbatim, padded with NULs).
"""

from __future__ import annotations

BLOCK = 512
MAGIC = {"ustar": b"ustar\x0000", "gnu": b"ustar  \x00", "v7": b"", "star": b"ustar\x0000"}


def _field(value, width: int) -> bytes:
    if isinstance(value, int):
        raw = b"%0*o\x00" % (width - 1, value)
    else:
        raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(value)
    assert len(raw) <= width, (raw, width)
    return raw.ljust(width, b"\x00")


def base256(value: int, width: int) -> bytes:
    """Two's complement big-endian with the high bit set (GNU's binary numbers)."""
    raw = (value % (1 << (8 * width))).to_bytes(width, "big")
    return bytes([raw[0] | 0x80]) + raw[1:] if value >= 0 else raw


def header(name="", *, mode=0o644, uid=0, gid=0, size=0, mtime=1_700_000_000, type=b"0", linkname="",
           fmt="ustar", uname="root", gname="root", devmajor=0, devminor=0, prefix=b"", tail=b"",
           checksum="unsigned") -> bytes:
    """One header block. `prefix` goes at byte 345 (ustar prefix, GNU atime/ctime), `tail` right after
    it; `checksum` is 'unsigned', 'signed', a %-format of the unsigned sum, or raw bytes for the field."""
    block = bytearray(BLOCK)
    block[0:100] = _field(name, 100)
    block[100:108] = _field(mode, 8)
    block[108:116] = _field(uid, 8)
    block[116:124] = _field(gid, 8)
    block[124:136] = _field(size, 12)
    block[136:148] = _field(mtime, 12)
    block[156:157] = type
    block[157:257] = _field(linkname, 100)
    if fmt != "v7":
        block[257:265] = MAGIC[fmt]
        block[265:297] = _field(uname, 32)
        block[297:329] = _field(gname, 32)
        block[329:337] = _field(devmajor, 8)
        block[337:345] = _field(devminor, 8)
    if prefix or tail:
        raw = bytes(prefix) + bytes(tail)
        block[345:345 + len(raw)] = raw
    if fmt == "star":
        block[508:512] = b"tar\x00"
    block[148:156] = b" " * 8
    if isinstance(checksum, (bytes, bytearray)):
        block[148:156] = checksum
    else:
        total = sum(block) if checksum != "signed" else sum(b - 256 if b >= 128 else b for b in block)
        form = checksum if "%" in checksum else "%06o\x00 "
        field = (form % total).encode().ljust(8, b"\x00")
        assert len(field) == 8, field
        block[148:156] = field
    return bytes(block)


def pad(data: bytes) -> bytes:
    return data + bytes(-len(data) % BLOCK)


def member(name, data: bytes = b"", **fields) -> bytes:
    """A header and its content; `size` defaults to the content's length."""
    fields.setdefault("size", len(data))
    return header(name, **fields) + pad(data)


def records(*pairs) -> bytes:
    """pax records `len key=value\\n` from (key, value) pairs (str or bytes)."""
    out = b""
    for key, value in pairs:
        key = key.encode() if isinstance(key, str) else key
        value = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
        body = b" " + key + b"=" + value + b"\n"
        n = len(body) + 1
        while len(str(n).encode() + body) != n:
            n += 1
        out += str(n).encode() + body
    return out


def pax(*pairs, type=b"x", name="PaxHeaders/x", **fields) -> bytes:
    """A pax extended (`x`) or global (`g`) header with these records."""
    data = records(*pairs)
    return member(name, data, type=type, **fields)


def gnu_long(name: str | bytes, type=b"L") -> bytes:
    """A GNU long name (`L`) or long link name (`K`) header for the next member."""
    data = name.encode("utf-8", "surrogateescape") if isinstance(name, str) else name
    return member("././@LongLink", data + b"\x00", type=type, fmt="gnu", mode=0o644)


def end() -> bytes:
    return bytes(2 * BLOCK)


def archive(*parts: bytes, close: bool = True) -> bytes:
    return b"".join(parts) + (end() if close else b"")
