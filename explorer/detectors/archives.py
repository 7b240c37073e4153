"""Inside archives: the members of zip-family archives (zip, jar, war, ear, whl, egg, Android apk, aar,
nupkg) and of tar archives (plain, gzip, bzip2, xz) found in a layer, scanned by the inner detectors
(YARA and the secret rules) in the same pass over the layer, recursively.

A match inside an archive keeps its rule and names the member: its `Match.member` is
`!/config/application.properties`, so that the finding's path reads
`/app/lib/billing.jar!/config/application.properties` (a nested archive adds one `!/…` per level).

Everything is read in memory from the bytes the pass hands over, one member at a time, and nothing
is written anywhere. An archive is hostile input like a layer, so every read is capped (the caps
say so in a finding, the scan goes on):

- MAX_DEPTH archives inside archives; MAX_MEMBERS members and MAX_TOTAL uncompressed bytes per
  archive found in the layer, nested ones included; MAX_MEMBER bytes of one member are scanned (its
  prefix, as a layer's file past `--max-file-scan`);
- a member that inflates past MAX_RATIO times its stored size (after RATIO_GRACE bytes) is a
  decompression bomb: its reading stops there and it is reported (`suspicious.archive-bomb`);
- a member name that is absolute or climbs out (`../`, the "zip slip" shape) is reported and shown
  under the archive with the climbing parts removed;
- a damaged archive is reported (`integrity.archive-damaged`) with what was read before the damage
  still scanned.

An archive larger than the prefix the pass hands over (`--max-file-scan`) is not opened (a zip keeps
its directory at its end): that is reported too.
"""

from __future__ import annotations

import bz2
import dataclasses
import gzip
import io
import lzma
import posixpath
import struct
import tarfile
import zipfile
import zlib
from collections import OrderedDict
from typing import Iterable

from explorer.detectors.base import FileDetector
from explorer.core.rules import RuleInfo
from explorer.core.findings import Match
from explorer.core.model import EntryKind, FileEntry
from explorer.core.textsafe import safe

MAX_DEPTH = 3
"""Archives inside archives: the top one is depth 1; a member archive deeper than this is not opened."""
MAX_MEMBERS = 20_000
"""Members looked at per archive found in a layer, nested archives' members included (a big fat jar
holds a few thousand; a zip whose directory lists more is not opened: its directory alone would cost
hundreds of bytes of memory per member)."""
MAX_TOTAL = 256 << 20
"""Uncompressed bytes read per archive found in a layer, nested ones included."""
MAX_DIRECTORY = 4 << 20
"""Bytes of a zip's central directory (a record is 46 bytes and a name; zipfile keeps an object of a few
hundred bytes per record, so this bounds that memory near 40 MB; 20,000 members with 100-byte names
take 3 MB)."""
MAX_MEMBER = 16 << 20
"""Bytes of one member handed to the inner detectors (its prefix when longer)."""
MAX_RATIO = 200
"""Inflated over stored bytes of one member (or of a compressed tar stream): past it, once
RATIO_GRACE bytes came out, the member is a bomb. Real members compress 2-20x; deflate tops out
near 1032x, which bombs use."""
RATIO_GRACE = 1 << 20
PIECE = 16 << 10
"""Bytes asked of a member at a time: zipfile then reads about as many stored bytes per call, so the
stored bytes counted stay within PIECE of those the inflated bytes came from."""
CACHE = 64
"""Archives whose outcome is kept by content digest (the same jar or wheel copied into several layers
is opened once)."""

ZIP_SUFFIXES = (".zip", ".jar", ".war", ".ear", ".whl", ".egg", ".apk", ".aar", ".nupkg", ".xpi", ".sar",
                ".par", ".kar", ".rar.zip")
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".crate", ".gem")
SUFFIXES = ZIP_SUFFIXES + TAR_SUFFIXES

BOMB = RuleInfo(
    "suspicious.archive-bomb", "suspicious", "high", "Archive member inflates like a decompression bomb",
    f"A member of an archive in the image inflates past {MAX_RATIO} times its stored size (a zip or tar bomb, "
    "made to exhaust a scanner's or an unpacking service's memory or disk); reading it stopped at the cap.")
UNSAFE_NAME = RuleInfo(
    "suspicious.archive-unsafe-path", "suspicious", "medium", "Archive member with an absolute or climbing path",
    "A member of an archive in the image is named with an absolute path or `../` parts: unpacked by a "
    "careless tool it lands outside the target folder (the \"zip slip\" shape). Shown under the archive "
    "with the climbing parts removed.")
CAPPED = RuleInfo(
    "integrity.archive-not-fully-scanned", "integrity", "info", "Archive not fully scanned (a cap was reached)",
    f"An archive in the image passes a cap of the archive scan (depth {MAX_DEPTH}, {MAX_MEMBERS} members, "
    f"{MAX_TOTAL >> 20} MiB uncompressed, or the --max-file-scan prefix): the members past the cap were not "
    "scanned. The evidence says which cap.")
DAMAGED = RuleInfo(
    "integrity.archive-damaged", "integrity", "info", "Archive cannot be read to its end",
    "An archive in the image is damaged or truncated (or uses a compression this scan does not read): the "
    "members before the damage were scanned.")
RULES = (BOMB, UNSAFE_NAME, CAPPED, DAMAGED)


DAMAGE = (zipfile.BadZipFile, tarfile.TarError, zlib.error, lzma.LZMAError, EOFError, OSError, ValueError,
          NotImplementedError, RuntimeError, struct.error, KeyError, UnicodeError)
"""What the stdlib readers raise on a damaged, truncated or unsupported archive."""


class Stop(Exception):
    """A per-archive cap was reached: nothing more is read from the archive found in the layer."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class Bomb(Exception):
    """A member (or a compressed tar stream) inflated past MAX_RATIO."""


def kind_of(data: bytes) -> str | None:
    """`zip`, `tar` (plain or compressed) or None, from the content's first bytes."""
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if data[:2] == b"\x1f\x8b" or data[:3] == b"BZh" or data[:6] == b"\xfd7zXZ\x00":
        return "tar"
    if data[257:262] == b"ustar":
        return "tar"
    return None


def member_path(name: str) -> tuple[str, bool]:
    """The member's name as shown after `!` (`/a/b`), and whether it was absolute or climbing."""
    raw = name.replace("\\", "/")
    unsafe = raw.startswith("/") or ".." in raw.split("/")
    return "/" + safe(posixpath.normpath("/" + raw).lstrip("/")), unsafe


def _named(name: str, prefix: str, budget: Budget, found: list[Match]) -> str:
    """The `!/…` path of the next member (counted against the budget); an unsafe name is reported."""
    budget.member()
    shown, unsafe = member_path(name)
    here = f"{prefix}!{shown}"
    if unsafe:
        found.append(dataclasses.replace(UNSAFE_NAME.match(f"member named {name!r}"), member=here))
    return here


class Budget:
    """What one archive found in a layer may still cost, its nested archives included."""

    def __init__(self) -> None:
        self.members = 0
        self.bytes = 0

    def member(self) -> None:
        self.members += 1
        if self.members > MAX_MEMBERS:
            raise Stop(f"more than {MAX_MEMBERS} members")

    def take(self, count: int) -> None:
        self.bytes += count
        if self.bytes > MAX_TOTAL:
            raise Stop(f"more than {MAX_TOTAL >> 20} MiB uncompressed")


class Counted(io.RawIOBase):
    """A decompressed stream read through the budget and the ratio cap (for compressed tars)."""

    def __init__(self, raw, stored: int, budget: Budget) -> None:
        self.raw, self.stored, self.budget, self.out = raw, stored, budget, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self.raw.read(len(buffer))
        self.out += len(chunk)
        if self.out > RATIO_GRACE and self.out > MAX_RATIO * max(self.stored, 1):
            raise Bomb(f"the compressed tar stream passes {MAX_RATIO}x its {self.stored} stored bytes")
        self.budget.take(len(chunk))
        buffer[: len(chunk)] = chunk
        return len(chunk)


class Tally(io.BytesIO):
    """The archive's bytes, counting what is read of them (the stored bytes a member's reading took)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, size: int | None = -1) -> bytes:
        out = super().read(size)
        self.taken += len(out)
        return out


def zip_directory(data: bytes) -> tuple[int, int] | None:
    """(members, central directory bytes) the zip's end record states (None: no end record found); a
    zip64 count (0xFFFF) reads as more than MAX_MEMBERS."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or end + 22 > len(data):
        return None
    count, size = struct.unpack_from("<HI", data, end + 10)
    return (MAX_MEMBERS + 1 if count == 0xFFFF else count), size


def check_zip(data: bytes, budget: Budget, what: str) -> None:
    """Stop before zipfile parses a directory that passes the member cap (with the members the budget
    already counted) or MAX_DIRECTORY bytes; `what` names the archive in the reason."""
    stated = zip_directory(data)
    if stated is not None and budget.members + stated[0] > MAX_MEMBERS:
        raise Stop(f"{what} lists {stated[0]} members, more than the cap of {MAX_MEMBERS}")
    if stated is not None and stated[1] > MAX_DIRECTORY:
        # zipfile reads every record the directory holds, whatever count the end record states
        raise Stop(f"{what} has a central directory of {stated[1]} bytes, more than "
                   f"the cap of {MAX_DIRECTORY >> 20} MiB")


def tar_stream(data: bytes, budget: Budget):
    """The tar inside `data` as a stream for tarfile's stream mode: decompressed (gzip, bzip2, xz) through
    the budget and the ratio cap, or the bytes themselves."""
    raw = io.BytesIO(data)
    if data[:2] == b"\x1f\x8b":
        stream = Counted(gzip.GzipFile(fileobj=raw), len(data), budget)
    elif data[:3] == b"BZh":
        stream = Counted(bz2.BZ2File(raw), len(data), budget)
    elif data[:6] == b"\xfd7zXZ\x00":
        stream = Counted(lzma.LZMAFile(raw), len(data), budget)
    else:
        return raw
    return io.BufferedReader(stream, 1 << 16)


def read_capped(member, tally: Tally | None, budget: Budget, limit: int) -> tuple[bytes, str]:
    """Up to `limit` bytes of a member, in pieces, within the budget and (zip: the stored bytes read are
    counted by `tally`) the ratio cap; the second item says why reading stopped at the ratio cap ("" when
    it did not)."""
    parts: list[bytes] = []
    total = 0
    start = tally.taken if tally is not None else 0
    while total < limit:
        piece = member.read(min(PIECE, limit - total))
        if not piece:
            break
        total += len(piece)
        budget.take(len(piece))
        parts.append(piece)
        stored = tally.taken - start if tally is not None else 0
        if tally is not None and total > RATIO_GRACE and total > MAX_RATIO * max(stored, 1):
            return b"".join(parts), (f"inflates past {total} bytes from {stored} stored (over {MAX_RATIO}x): "
                                     "reading stopped")
    return b"".join(parts), ""


class ArchiveMembers(FileDetector):
    """Archives in layers, opened in memory; their members handed to the `inner` detectors."""

    name = "archives"
    version = "1"
    RULES = RULES

    def __init__(self, inner: list[FileDetector] = ()) -> None:
        self.inner = list(inner)
        self._cache: OrderedDict[tuple[str, int], list[Match]] = OrderedDict()

    def wants(self, entry: FileEntry) -> bool:
        return (entry.kind is EntryKind.FILE and entry.size >= 22
                and entry.path.lower().endswith(SUFFIXES))

    def scan(self, entry: FileEntry, data: bytes) -> Iterable[Match]:
        kind = kind_of(data)
        if kind is None:
            return []
        key = (entry.digest, len(data)) if entry.digest else None
        if key is not None and key in self._cache:
            self._cache.move_to_end(key)
            return list(self._cache[key])
        found: list[Match] = []
        if len(data) < entry.size:
            found.append(CAPPED.match(f"{entry.size} bytes, larger than the --max-file-scan prefix "
                                      f"({len(data)} bytes): not opened"))
        else:
            budget = Budget()
            try:
                self._open(kind, data, entry, "", 1, budget, found)
            except Stop as stop:
                found.append(CAPPED.match(f"{stop.why}: members past the cap not scanned"))
        if key is not None:
            self._cache[key] = found
            if len(self._cache) > CACHE:
                self._cache.popitem(last=False)
        return list(found)

    # -- the two formats ----------------------------------------------------------------------------

    def _open(self, kind: str, data: bytes, entry: FileEntry, prefix: str, depth: int, budget: Budget,
              found: list[Match]) -> None:
        try:
            if kind == "zip":
                self._zip(data, entry, prefix, depth, budget, found)
            else:
                self._tar(data, entry, prefix, depth, budget, found)
        except Stop:
            raise
        except Bomb as bomb:
            found.append(dataclasses.replace(BOMB.match(f"{bomb}: reading stopped"), member=prefix))
        except DAMAGE as exc:
            found.append(dataclasses.replace(DAMAGED.match(f"{type(exc).__name__}: {exc}"[:200]), member=prefix))

    def _zip(self, data: bytes, entry: FileEntry, prefix: str, depth: int, budget: Budget,
             found: list[Match]) -> None:
        check_zip(data, budget, prefix or "the archive")
        tally = Tally(data)
        with zipfile.ZipFile(tally) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                here = _named(info.filename, prefix, budget, found)
                if info.flag_bits & 0x1:
                    continue  # encrypted: nothing to read
                try:
                    with archive.open(info) as member:
                        content = self._read(member, tally, budget, here, found)
                except (zipfile.BadZipFile, NotImplementedError, RuntimeError, zlib.error, lzma.LZMAError,
                        EOFError, OSError, ValueError) as exc:
                    found.append(dataclasses.replace(DAMAGED.match(f"{type(exc).__name__}: {exc}"[:200]), member=here))
                    continue
                self._member(content, entry, here, depth, budget, found)

    def _tar(self, data: bytes, entry: FileEntry, prefix: str, depth: int, budget: Budget,
             found: list[Match]) -> None:
        with tarfile.open(fileobj=tar_stream(data, budget), mode="r|") as archive:
            # stream mode: members in order, each read once
            for info in archive:
                if not info.isfile():
                    continue
                here = _named(info.name, prefix, budget, found)
                member = archive.extractfile(info)
                if member is None:
                    continue
                content = self._read(member, None, budget, here, found)
                self._member(content, entry, here, depth, budget, found)

    def _read(self, member, tally: Tally | None, budget: Budget, here: str, found: list[Match]) -> bytes:
        """Up to MAX_MEMBER bytes of a member (`read_capped`); a bomb is reported."""
        content, bomb = read_capped(member, tally, budget, MAX_MEMBER)
        if bomb:
            found.append(dataclasses.replace(BOMB.match(bomb), member=here))
        return content

    def _member(self, content: bytes, entry: FileEntry, here: str, depth: int, budget: Budget,
                found: list[Match]) -> None:
        """The inner detectors over one member's content; a member archive opened in turn."""
        if not content:
            return
        pseudo = FileEntry(path=entry.path + here, kind=EntryKind.FILE, layer=entry.layer, size=len(content),
                           mode=0o644)
        seen: set[str] = set()
        for detector in self.inner:
            if not detector.wants(pseudo):
                continue
            for match in detector.scan(pseudo, content):
                if not match.is_fact and match.rule_id not in seen:
                    seen.add(match.rule_id)
                    found.append(dataclasses.replace(match, member=here + match.member))
        inner = kind_of(content) if here.lower().endswith(SUFFIXES) else None
        if inner is None:
            return
        if depth >= MAX_DEPTH:
            found.append(dataclasses.replace(CAPPED.match(
                f"an archive {depth + 1} levels deep, not opened (depth cap {MAX_DEPTH})"), member=here))
            return
        if len(content) >= MAX_MEMBER:
            found.append(dataclasses.replace(CAPPED.match(
                f"a member archive of {MAX_MEMBER >> 20} MiB or more, not opened"), member=here))
            return
        self._open(inner, content, entry, here, depth + 1, budget, found)

