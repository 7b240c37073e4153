"""One archive's members as a listing, and one member's bytes: what the UI's archive view browses
(explorer.tui.screens.archive). No Textual import.

The formats, readers and caps are those of the scan's look inside archives (explorer.detectors.archives),
so the view opens what the scan opened and stops where it stopped: MAX_DEPTH levels, MAX_MEMBERS
members and a zip directory of MAX_DIRECTORY bytes per listing, MAX_TOTAL uncompressed bytes per listing
or read, the MAX_RATIO bomb cap, a member archive of MAX_MEMBER bytes or more left closed. Each listing
or read is one bounded pass over bytes already in memory (the archive as the preview's reader gave it,
or a member of it), and nothing is written anywhere. A name is kept as stored, escaped (`safe`), and
also as the scan names it after `!` (`member_path`: absolute and climbing parts removed), so that a
finding's `ARCHIVE!/MEMBER` path leads to its row.
"""

from __future__ import annotations

import stat
import tarfile
import time
import zipfile
from dataclasses import dataclass, field

from explorer.core.textsafe import safe
from explorer.detectors import archives
from explorer.detectors.archives import (DAMAGE, SUFFIXES, Bomb, Budget, Stop, Tally, check_zip, kind_of,
                                         member_path, read_capped, tar_stream)

COMPRESSION = {b"\x1f\x8b": "gzip", b"BZ": "bzip2", b"\xfd7": "xz"}
"""A tar's compression by its first two bytes."""


class ArchiveError(Exception):
    """A member or a member archive cannot be read: a cap, a bomb or damage (the message says which)."""


@dataclass(frozen=True, slots=True)
class ArchiveMember:
    position: int
    """Its place in the archive (zip: in the central directory; tar: in the stream), to read it again."""
    name: str
    """The name as stored, escaped: never markup, never a control character."""
    shown: str
    """`/a/b`, as the scan's findings name it after `!` (climbing and absolute parts removed)."""
    unsafe: bool
    """The stored name is absolute or climbs out (`../`): unpacked carelessly it lands elsewhere."""
    kind: str
    """`file`, `dir`, `symlink`, `hardlink`, `device`, `fifo`, `encrypted` or `other`."""
    size: int
    stored: int | None
    """Compressed bytes (zip); None in a tar, whose stream is compressed as a whole."""
    mtime: str
    """`YYYY-MM-DD HH:MM` (UTC for a tar; a zip stores local time without a zone), "" when unknown."""
    link: str = ""
    """A tar symlink's or hard link's target, escaped."""

    @property
    def archive(self) -> bool:
        """Named like an archive the scan opens (jar, whl, tar.gz…): the view browses into it."""
        return self.kind == "file" and self.shown.lower().endswith(SUFFIXES)


@dataclass
class ArchiveListing:
    kind: str
    """`zip`, `tar`, `tar (gzip)`, ...; "" when the bytes are neither."""
    members: list[ArchiveMember] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Why the listing stops early (a cap, a bomb, damage): what it holds was read before that."""


@dataclass
class Level:
    """One archive open in the view: the top one (`path` "") or a member archive (`path` `!/lib/a.jar`,
    one `!/…` per level, as the scan's findings name it after the top archive's path)."""

    data: bytes = field(repr=False)
    listing: ArchiveListing
    path: str = ""
    depth: int = 1
    """1 for the archive in the layer, 2 for a member archive of it, ..."""


def list_members(data: bytes) -> ArchiveListing:
    """The members of the zip or tar in `data`, in stored order, within the caps."""
    kind = kind_of(data)
    if kind is None:
        return ArchiveListing("", problems=["not a zip or tar archive (its first bytes say otherwise)"])
    compression = COMPRESSION.get(data[:2])
    listing = ArchiveListing(kind if kind == "zip" or compression is None else f"tar ({compression})")
    budget = Budget()
    try:
        if kind == "zip":
            _list_zip(data, budget, listing.members)
        else:
            _list_tar(data, budget, listing.members)
    except Stop as stop:
        listing.problems.append(f"{stop.why}: the members past the cap are not listed")
    except Bomb as bomb:
        listing.problems.append(f"{bomb}: reading stopped (a decompression bomb)")
    except DAMAGE as exc:
        listing.problems.append(f"damaged ({type(exc).__name__}: {safe(str(exc))[:160]}): the members before "
                                "the damage are listed")
    return listing


def _list_zip(data: bytes, budget: Budget, out: list[ArchiveMember]) -> None:
    check_zip(data, budget, "the archive")
    with zipfile.ZipFile(Tally(data)) as archive:
        for position, info in enumerate(archive.infolist()):
            budget.member()
            if info.is_dir():
                kind = "dir"
            elif info.flag_bits & 0x1:
                kind = "encrypted"
            elif stat.S_ISLNK(info.external_attr >> 16):
                kind = "symlink"  # its target is its content
            else:
                kind = "file"
            year, month, day, hour, minute, _ = info.date_time
            out.append(_member(position, info.filename, kind, info.file_size, info.compress_size,
                               f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}"))


TAR_KINDS = ((tarfile.TarInfo.isfile, "file"), (tarfile.TarInfo.isdir, "dir"), (tarfile.TarInfo.issym, "symlink"),
             (tarfile.TarInfo.islnk, "hardlink"), (tarfile.TarInfo.isdev, "device"))


def _list_tar(data: bytes, budget: Budget, out: list[ArchiveMember]) -> None:
    with tarfile.open(fileobj=tar_stream(data, budget), mode="r|") as archive:
        for position, info in enumerate(archive):
            budget.member()
            kind = next((name for test, name in TAR_KINDS if test(info)), "other")
            if kind == "device" and info.isfifo():
                kind = "fifo"
            try:
                when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(info.mtime))
            except (OverflowError, OSError, ValueError, TypeError):
                when = ""
            out.append(_member(position, info.name, kind, info.size if info.isfile() else 0, None, when,
                               info.linkname if info.issym() or info.islnk() else ""))


def _member(position: int, name: str, kind: str, size: int, stored: int | None, mtime: str,
            link: str = "") -> ArchiveMember:
    shown, unsafe = member_path(name)
    return ArchiveMember(position, safe(name), shown, unsafe, kind, size, stored, mtime, safe(link))


def read_member(data: bytes, member: ArchiveMember, limit: int) -> bytes:
    """The first `limit` bytes of `member` of the archive in `data`, within MAX_TOTAL and the bomb cap;
    ArchiveError says why they cannot be read."""
    budget = Budget()
    try:
        if kind_of(data) == "zip":
            check_zip(data, budget, "the archive")
            tally = Tally(data)
            with zipfile.ZipFile(tally) as archive:
                info = archive.infolist()[member.position]
                if info.flag_bits & 0x1:
                    raise ArchiveError("encrypted: its content cannot be read")
                with archive.open(info) as stream:
                    content, bomb = read_capped(stream, tally, budget, limit)
        else:
            content, bomb = _read_tar(data, member, budget, limit)
    except Stop as stop:
        raise ArchiveError(f"{stop.why}: not read further") from None
    except Bomb as bomb:
        raise ArchiveError(f"{bomb}: reading stopped (a decompression bomb)") from None
    except DAMAGE as exc:
        raise ArchiveError(f"damaged ({type(exc).__name__}: {safe(str(exc))[:160]})") from None
    if bomb:
        raise ArchiveError(f"{bomb} (a decompression bomb)")
    return content


def _read_tar(data: bytes, member: ArchiveMember, budget: Budget, limit: int) -> tuple[bytes, str]:
    with tarfile.open(fileobj=tar_stream(data, budget), mode="r|") as archive:
        for position, info in enumerate(archive):
            if position == member.position:
                stream = archive.extractfile(info) if info.isfile() else None
                return read_capped(stream, None, budget, limit) if stream is not None else (b"", "")
    raise ArchiveError("not found in the archive again")


def open_top(data: bytes, size: int) -> Level:
    """The archive whose first bytes are `data` (the preview's reader gives at most the --max-file-scan
    prefix) and whose whole size is `size`: a larger archive is not opened, as the scan does not open it
    (a zip keeps its directory at its end)."""
    if len(data) < size:
        return Level(b"", ArchiveListing("", problems=[
            f"{size} bytes, larger than the --max-file-scan prefix ({len(data)} bytes): not opened"]))
    return Level(data, list_members(data))


def open_nested(level: Level, member: ArchiveMember) -> Level:
    """The member archive `member` of `level`, listed; ArchiveError when a cap keeps it closed (the depth,
    its size) or its bytes are not an archive."""
    if level.depth >= archives.MAX_DEPTH:
        raise ArchiveError(f"an archive {level.depth + 1} levels deep, not opened (depth cap {archives.MAX_DEPTH})")
    too_big = f"a member archive of {archives.MAX_MEMBER >> 20} MiB or more, not opened"
    if member.size >= archives.MAX_MEMBER:
        raise ArchiveError(too_big)
    content = read_member(level.data, member, archives.MAX_MEMBER)
    if len(content) >= archives.MAX_MEMBER:  # a zip's stated size may lie
        raise ArchiveError(too_big)
    if kind_of(content) is None:
        raise ArchiveError("named like an archive, but not a zip or tar (its first bytes say otherwise)")
    return Level(content, list_members(content), f"{level.path}!{member.shown}", level.depth + 1)


def find_member(listing: ArchiveListing, rest: str) -> tuple[ArchiveMember, str] | None:
    """The member `rest` (`/a/b`, or `/lib/x.jar!/a/b` through a member archive) names, and what is left of
    `rest` below it ("" for the member itself); a name holding `!/` itself is told apart by trying."""
    exact = next((m for m in listing.members if m.shown == rest and m.kind != "dir"), None)
    if exact is not None:
        return exact, ""
    for member in listing.members:
        if member.archive and rest.startswith(member.shown + "!/"):
            return member, rest[len(member.shown) + 1:]
    return None


def walk_to(top: Level, rest: str) -> tuple[list[Level], ArchiveMember | None, str]:
    """The levels from `top` down to the member `rest` names (`!/lib/x.jar!/a.yml`, a finding's path after
    its archive's), that member (None when not found) and why not ("" when found)."""
    levels = [top]
    rest = rest.removeprefix("!")
    while True:
        found = find_member(levels[-1].listing, rest)
        if found is None:
            return levels, None, f"no member {safe(rest)} in {'the archive' if len(levels) == 1 else levels[-1].path}"
        member, rest = found
        if not rest:
            return levels, member, ""
        try:
            levels.append(open_nested(levels[-1], member))
        except ArchiveError as exc:
            return levels, member, f"{levels[-1].path}!{member.shown}: {exc}"


def split_archive_path(path: str, is_file) -> tuple[str, str] | None:
    """(the archive's path, the rest from its `!/` on) for a finding's `ARCHIVE!/MEMBER` path, the archive
    being the shortest prefix before a `!/` that `is_file` says is a file of the layer (a file's own
    name may hold `!/`); None when there is none."""
    at = path.find("!/")
    while at > 0:
        if is_file(path[:at]):
            return path[:at], path[at:]
        at = path.find("!/", at + 2)
    return None
