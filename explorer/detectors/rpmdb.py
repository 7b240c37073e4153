"""RPM's package database, read without running anything: the sqlite rpmdb (`rpmdb.sqlite`, RPM >= 4.16:
Fedora 33+, RHEL/Rocky/Alma 9, openSUSE Tumbleweed), loaded from the bytes the pass holds into an
in-memory sqlite (`Connection.deserialize`: nothing written to disk), each row of its `Packages` table an
RPM header blob parsed here (rpm's header format: entry count, data size, 16-byte index entries, data).

The fact text per package: `P\\tname\\tversion-release`, and `F\\tname\\t/path\\tdigest\\talgo\\tconfig`
per regular file with a digest (algo: md5, sha1, sha256, sha384, sha512; config 1 for `%config` files).
The Berkeley DB (`Packages`, RHEL <= 8) and ndb (`Packages.db`, SUSE) formats are not read.
"""

from __future__ import annotations

import sqlite3
import struct

PATHS = ("/var/lib/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/rpmdb.sqlite")

NAME, VERSION, RELEASE, EPOCH = 1000, 1001, 1002, 1003
FILEMODES, FILEDIGESTS, FILEFLAGS = 1030, 1035, 1037
DIRINDEXES, BASENAMES, DIRNAMES = 1116, 1117, 1118
FILEDIGESTALGO = 5011
ALGOS = {1: "md5", 2: "sha1", 8: "sha256", 9: "sha384", 10: "sha512"}
CONFIG, GHOST = 1, 64
S_IFMT, S_IFREG = 0o170000, 0o100000
INT16, INT32, STRING, STRING_ARRAY, I18N = 3, 4, 6, 8, 9
MAX_ENTRIES = 1 << 16
MAX_FILES = 1 << 20
"""Files listed over all packages (a full Fedora workstation lists about 400,000)."""


class BadHeader(ValueError):
    pass


def header(blob: bytes) -> dict[int, object]:
    """The tags this module reads from one header blob: ints (lists) and strings (lists)."""
    if len(blob) < 8:
        raise BadHeader("short header")
    count, size = struct.unpack_from(">II", blob, 0)
    start = 8 + 16 * count
    if count > MAX_ENTRIES or start + size > len(blob):
        raise BadHeader("header sizes out of range")
    data = bytes(blob[start:start + size])
    wanted = {NAME, VERSION, RELEASE, EPOCH, FILEMODES, FILEDIGESTS, FILEFLAGS, DIRINDEXES, BASENAMES, DIRNAMES,
              FILEDIGESTALGO}
    out: dict[int, object] = {}
    for i in range(count):
        tag, kind, offset, n = struct.unpack_from(">iIiI", blob, 8 + 16 * i)
        if tag not in wanted:
            continue
        if offset < 0 or offset > size or n > size:
            raise BadHeader(f"tag {tag} out of range")
        if kind in (STRING, STRING_ARRAY, I18N):
            items, pos = [], offset
            for _ in range(1 if kind == STRING else n):
                end = data.find(b"\0", pos)
                if end < 0:
                    raise BadHeader(f"tag {tag}: unterminated string")
                items.append(data[pos:end].decode("utf-8", "surrogateescape"))
                pos = end + 1
            out[tag] = items[0] if kind == STRING else items
        elif kind in (INT32, INT16):
            width = 4 if kind == INT32 else 2
            if offset + width * n > size:
                raise BadHeader(f"tag {tag} out of range")
            out[tag] = list(struct.unpack_from(f">{n}{'i' if width == 4 else 'H'}", data, offset))
    return out


def _clean(text: str) -> str:
    return text.replace("\t", " ").replace("\n", " ").strip()


def package_lines(tags: dict[int, object]) -> list[str]:
    name = _clean(str(tags.get(NAME, "")))
    if not name:
        return []
    epoch = tags.get(EPOCH)
    version = f"{tags.get(VERSION, '')}-{tags.get(RELEASE, '')}"
    if isinstance(epoch, list) and epoch and epoch[0]:
        version = f"{epoch[0]}:{version}"
    out = [f"P\t{name}\t{_clean(version)}"]
    bases, dirs, index = tags.get(BASENAMES) or [], tags.get(DIRNAMES) or [], tags.get(DIRINDEXES) or []
    digests, modes, flags = tags.get(FILEDIGESTS) or [], tags.get(FILEMODES) or [], tags.get(FILEFLAGS) or []
    algo = ALGOS.get((tags.get(FILEDIGESTALGO) or [1])[0], "")
    if not (len(bases) == len(index) == len(digests) == len(modes) == len(flags)) or not algo:
        return out
    for base, d, digest, mode, flag in zip(bases, index, digests, modes, flags):
        if not 0 <= d < len(dirs) or (mode & S_IFMT) != S_IFREG or flag & GHOST or not digest:
            continue
        path = _clean(dirs[d] + base)
        out.append(f"F\t{name}\t{path}\t{digest.lower()}\t{algo}\t{1 if flag & CONFIG else 0}")
    return out


def rpmdb_sqlite(data: bytes) -> str:
    """The fact text of an sqlite rpmdb's packages; ValueError when it is no such database."""
    connection = sqlite3.connect(":memory:")
    try:
        connection.deserialize(data)
        connection.execute("PRAGMA query_only = ON")
        lines: list[str] = []
        files = 0
        for (blob,) in connection.execute("SELECT blob FROM Packages"):
            if not isinstance(blob, bytes):
                continue
            try:
                found = package_lines(header(blob))
            except (BadHeader, struct.error):
                continue  # one damaged header: the others are still read
            files += len(found) - 1
            if files > MAX_FILES:
                break
            lines += found
        return "\n".join(lines)
    except sqlite3.Error as exc:
        raise ValueError(f"not an sqlite rpmdb: {exc}") from None
    finally:
        connection.close()
