"""One streaming pass over a layer: decompress, walk the tar, hash every file, feed a visitor.

Nothing is extracted and the blob is read once. Files a visitor asks for are handed over in
memory one at a time (capped), everything else is hashed in chunks and dropped.
"""

from __future__ import annotations

import hashlib
import posixpath
import stat
from typing import Callable, Protocol

from explorer.core import memtune
from explorer.core.problems import ProblemKind
from explorer.core.limits import RATIO_GRACE, LimitExceeded, ReadBudget
from explorer.core.model import EntryKind, FileEntry, LayerRef, LayerStats, Problem
from explorer.layerfs.stream import STREAM_ERRORS, LayerStream
from explorer.layerfs.tarheaders import MAX_REFUSALS, Member, TarHeaderError, TarHeaders

MAX_NAME = 65536
"""Characters in a member's name or link target (a real path is at most 4096 bytes; pax allows
megabytes, each kept in memory)."""
MAX_DEPTH = 256
"""Folders a member may lie below. A real path (at most PATH_MAX, 4096 bytes) is rarely 40 deep; a
crafted one thousands deep would exhaust the recursion of every tree walk."""

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"

READ_ERRORS = (*STREAM_ERRORS, UnicodeDecodeError, OverflowError, MemoryError)
"""STREAM_ERRORS include isa-l's own error (a corrupt gzip blob raised IsalError out of the pass)."""


class LayerVisitor(Protocol):
    def wants(self, entry: FileEntry) -> bool:
        """Cheap check, before content is read: should `visit` get this file's bytes? (The entry is
        the one `visit` gets, its digest not yet filled in: look at path, size and mode, keep nothing.)"""

    def visit(self, entry: FileEntry, data: bytes) -> None:
        """Called with the entry and up to `Limits.max_file_scan` bytes of content: once the whole file
        is hashed (digest filled in), or, for a longer file, once that prefix is read (the digest is
        filled in later, on the same entry object)."""


class PartVisitor(LayerVisitor, Protocol):
    """A visitor that also takes the rest of a file longer than the prefix `visit` got, in parts."""

    def wants_parts(self, entry: FileEntry) -> bool:
        """Called right after `visit` of a file with more content than its prefix."""

    def visit_part(self, entry: FileEntry, data: bytes, newlines_before: int) -> None:
        """The next part (PART_BYTES of new content after the last PART_OVERLAP bytes of the one
        before); `newlines_before` newlines precede it in the file."""


TRIM_BEFORE = 8 << 20
"""A wanted file whose prefix is larger than this is read once the heap's free pages are given back
(after `wants`, which waits until the detectors have room for it)."""
PART_BYTES = 4 << 20
"""New content in each part of a file past its prefix (the walker holds one part at a time)."""
PART_OVERLAP = 64 << 10
"""Bytes each part repeats of the one before, so that a match across the border is whole in one."""


def clean_text(text: str) -> str:
    """`text` with undecodable bytes (tarfile's surrogates) turned into `\\xNN` escapes."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def normalise(name: str) -> tuple[str, bool]:
    """Absolute normalised path, and whether the stored name tried to climb out or was absolute.

    Bytes that are not UTF-8 (kept by tarfile as surrogates) become `\\xNN` escapes, so that every
    path is a valid string for JSON and the terminal, the same way in every layer.
    """
    name = clean_text(name)
    if name and "//" not in name and "/." not in name and name[0] not in "./" and name[-1] != "/":
        return "/" + name, False  # the common case: no empty, "." or ".." part, nothing for normpath to do
    unsafe = name.startswith("/") or ".." in name.split("/")
    path = posixpath.normpath("/" + name)
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    return path, unsafe


_KINDS = {53: EntryKind.DIR, 50: EntryKind.SYMLINK, 49: EntryKind.HARDLINK, 51: EntryKind.CHAR,
          52: EntryKind.BLOCK, 54: EntryKind.FIFO}
"""Member types by their type byte; `0` is a regular file (Go makes `\\0` a `0` or a `5`)."""


def _kind(member: Member) -> EntryKind:
    kind = _KINDS.get(member.type)
    if kind is not None:
        return kind
    if member.type == 48:
        return EntryKind.FILE
    # Docker's createTarFile: "unhandled tar header type" (`7`, `S`, `V`, letters...): the load fails
    raise TarHeaderError(f"member {clean_text(member.name)[:200]!r} has type {member.type!r} "
                         f"({chr(member.type)!r}), which Docker refuses")


class WalkResult:
    __slots__ = ("entries", "stats", "problems")

    def __init__(self, stats: LayerStats):
        self.entries: list[FileEntry] = []
        self.stats = stats
        self.problems: list[Problem] = []


def walk_layer(blob, ref: LayerRef, visitor: LayerVisitor | None = None,
               progress: Callable[[int], None] | None = None, budget: ReadBudget | None = None) -> WalkResult:
    """Read one layer blob to its end (or to a resource cap) and return its entries, stats and problems."""
    index = ref.index
    result = WalkResult(LayerStats(index=index))
    stats = result.stats
    budget = budget or ReadBudget()
    stream = LayerStream(blob)
    stream.plain.on_read = budget.guard(index, stream.stored, stream.plain, stream.plain is not stream.stored)
    stats.compression = stream.compression
    digests: dict[str, str | None] = {}
    whiteouts: dict[str, int] = {}
    named: set[str] = set()
    tar = None
    try:
        tar = TarHeaders(stream.reader)
        tar.on_holes = _hole_guard(index, stream, budget)
        position = 0
        max_entries = budget.limits.max_entries
        names = 0
        for member in tar:
            if stats.entries >= max_entries:
                budget.check_entries(index, stats.entries + 1)
            names += len(member.name) + len(member.linkname or "")
            budget.check_names(index, names)
            stats.entries += 1
            if not _note_name(member.name, named) and len(tar.refusals) < MAX_REFUSALS:
                tar.refusals.append(f"member {clean_text(member.name)[:200]!r} names a path an earlier member "
                                    "of the layer names")
            entry = _entry(member, index, position, result, digests, tar, visitor, budget.limits.max_file_scan)
            position += 1
            if entry is not None:
                result.entries.append(entry)
                if entry.kind == EntryKind.WHITEOUT:
                    whiteouts[entry.path] = entry.member
            if progress is not None and position % 256 == 0:
                progress(stream.stored.count)
        stream.finish()
    except LimitExceeded as exc:
        stats.complete = False
        result.problems.append(Problem(index, exc.kind, f"{exc}; {len(result.entries)} entries read"))
    except READ_ERRORS as exc:
        stats.complete = False
        cause = stream.error or exc
        reason = str(cause) or type(cause).__name__
        # a damaged tar header in a sound stream hides what follows it; a cut stream is truncated
        kind = ProblemKind.CORRUPT if isinstance(exc, TarHeaderError) and stream.error is None else ProblemKind.TRUNCATED
        result.problems.append(Problem(index, kind, f"layer {index}: cannot be read to its end ({reason}); "
                                                    f"{len(result.entries)} entries read"))
    finally:
        stream.close()
    for why in tar.refusals if tar is not None else ():
        result.problems.append(Problem(index, ProblemKind.CORRUPT, f"layer {index}: corrupt: {why}, which Docker refuses"))
    if whiteouts:
        _remove_whited_out(result, whiteouts)
    stats.compressed_size = stream.stored.count
    stats.uncompressed = stream.plain.count
    stats.digest = stream.stored.hexdigest()
    stats.diff_id = stream.plain.hexdigest() if stream.plain is not stream.stored else stats.digest
    if stats.complete:
        if ref.digest and ref.digest != stats.digest:
            result.problems.append(Problem(index, ProblemKind.DIGEST_MISMATCH,
                                           f"layer {index}: blob hashes to {stats.digest}, manifest says {ref.digest}"))
        same_hash = stats.diff_id == stats.digest and ref.digest and ref.digest != stats.digest
        if ref.diff_id and ref.diff_id != stats.diff_id and not same_hash:
            result.problems.append(Problem(index, ProblemKind.DIFF_ID_MISMATCH,
                                           f"layer {index}: uncompressed stream hashes to {stats.diff_id}, "
                                           f"config says {ref.diff_id}"))
    if progress is not None:
        progress(stream.stored.count)
    return result


def _note_name(name: str, named: set[str]) -> bool:
    """Adds a member's name, cleaned as Go's `filepath.Clean` cleans it, to `named`; False if it
    was there already. Docker's layer store (tar-split) refuses a layer naming one path twice, whatever
    the members' types (a folder named twice too; a whiteout `.wh.x` is another name than `x`)."""
    before = len(named)
    if not name or "//" in name or "/." in name or name[0] == "." or name[-1] == "/":
        name = posixpath.normpath(name) if name else "."
        if name.startswith("//"):
            name = "/" + name.lstrip("/")
    named.add(name)
    return len(named) > before


def _hole_guard(index: int, stream: LayerStream, budget: ReadBudget) -> Callable[[int], None]:
    """The caps on decompressed bytes, for the zeros the holes of sparse files add."""
    holes = 0
    limits = budget.limits

    def check(n: int) -> None:
        nonlocal holes
        holes += n
        budget.total += n
        if budget.total > limits.max_total:
            raise LimitExceeded(ProblemKind.TOO_LARGE, f"layer {index}: its files (sparse ones expanded) hold more than "
                                             f"{limits.max_total} bytes; reading stopped (raise --max-total to read it)")
        out = stream.plain.count + holes
        if out > RATIO_GRACE and out > limits.max_ratio * max(stream.stored.count, 1):
            raise LimitExceeded(ProblemKind.DECOMPRESSION_BOMB, (
                f"layer {index}: its sparse files expand to more than {limits.max_ratio:g} times its stored size "
                f"({out} bytes from {stream.stored.count}); reading stopped (raise --max-ratio to read it)"))

    return check


def _entry(member: Member, index: int, position: int, result: WalkResult,
           digests: dict[str, str | None], tar: TarHeaders,
           visitor: LayerVisitor | None, max_content: int) -> FileEntry | None:
    if len(member.name) > MAX_NAME or len(member.linkname or "") > MAX_NAME:
        result.problems.append(Problem(index, ProblemKind.TOO_DEEP, f"layer {index}: member {member.name[:120]!r}… has a name "
                                                          f"or link target over {MAX_NAME} characters; left out"))
        return None
    path, unsafe = normalise(member.name)
    if member.type == 103:
        # a pax global header: Go returns it as a member of its own, named by its header or its
        # `path` record; Docker's UnpackLayer removes whatever is at that path (then ignores the
        # member): a whiteout, parent folders included
        if path == "/":  # Docker removes the root's content, then fails to remove the root
            raise TarHeaderError(f"pax global header {clean_text(member.name)[:200]!r} names the root folder, "
                                 "which Docker refuses")
        return FileEntry(path=path, kind=EntryKind.WHITEOUT, layer=index, member=position,
                         linkname=clean_text(member.name))
    if unsafe:
        result.problems.append(Problem(index, ProblemKind.UNSAFE_PATH,
                                       f"layer {index}: member {member.name!r} is absolute or climbs out of the root"))
    if path.count("/") > MAX_DEPTH:
        result.problems.append(Problem(index, ProblemKind.TOO_DEEP, f"layer {index}: member {path[:120]!r}… lies "
                                                          f"{path.count('/')} folders deep (more than {MAX_DEPTH}); left out"))
        return None
    base = posixpath.basename(path)
    common = dict(layer=index, mode=_shared(stat.S_IMODE(member.mode)), uid=_shared(member.uid),
                  gid=_shared(member.gid), mtime=_shared(int(member.mtime or 0)), member=position,
                  uname=_shared(clean_text(member.uname or "")), gname=_shared(clean_text(member.gname or "")))
    if base.startswith(WHITEOUT):
        parent = posixpath.dirname(path)
        if base == OPAQUE:
            return FileEntry(path=parent, kind=EntryKind.OPAQUE, **common)
        if base.startswith(".wh..wh."):
            return None  # aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs): not a change
        name = base[len(WHITEOUT):]
        if name in ("", ".", ".."):
            return _refuse_root(member, index, result, f"is a whiteout of {name or 'nothing'!r}, never a real name")
        target = posixpath.join(parent, name)
        return FileEntry(path=target, kind=EntryKind.WHITEOUT, **common)
    kind = _kind(member)
    if path == "/":
        if kind != EntryKind.DIR:  # Docker removes the root's content, then fails to remove the root
            raise TarHeaderError(f"member {clean_text(member.name)[:200]!r} would replace the root folder, "
                                 "which Docker refuses")
        return FileEntry(path="/", kind=kind, **common)
    if kind == EntryKind.FILE:
        return _file(member, path, common, result, digests, tar, visitor, max_content)
    linkname = None
    digest = None
    if kind == EntryKind.SYMLINK:
        if not member.linkname:  # symlink(2) refuses it: Docker's load fails
            raise TarHeaderError(f"symlink {clean_text(member.name)[:200]!r} has an empty target, which Docker refuses")
        linkname = clean_text(member.linkname)
        digests[path] = _Symlink(linkname)
    elif kind == EntryKind.HARDLINK:
        linkname, link_unsafe = normalise(member.linkname)
        if link_unsafe:
            result.problems.append(Problem(index, ProblemKind.UNSAFE_PATH,
                                           f"layer {index}: hard link {path!r} points at {member.linkname!r}, "
                                           "absolute or out of the root"))
        digest = digests.get(linkname)
        digests[path] = digest
        if isinstance(digest, _Symlink):  # link(2) links the symlink itself: Docker writes a symlink
            kind, linkname, digest = EntryKind.SYMLINK, digest.target, None
    return FileEntry(path=path, kind=kind, linkname=linkname, digest=digest,
                     devmajor=member.devmajor if kind in (EntryKind.CHAR, EntryKind.BLOCK) else 0,
                     devminor=member.devminor if kind in (EntryKind.CHAR, EntryKind.BLOCK) else 0,
                     **common)


def _remove_whited_out(result: WalkResult, whiteouts: dict[str, int]) -> None:
    """Docker applies a layer in member order: a whiteout also removes what the same layer wrote at
    its path (and below) before it. (Overlay rules apply whiteouts to the layers below only.)"""
    last = max(whiteouts.values())
    kept = []
    for entry in result.entries:
        if entry.member < last and entry.kind not in (EntryKind.WHITEOUT, EntryKind.OPAQUE):
            path = entry.path
            covered = False
            while path:
                at = whiteouts.get(path)
                if at is not None and at > entry.member:
                    covered = True
                    break
                path = path.rpartition("/")[0]
            if covered:
                if entry.kind == EntryKind.FILE:
                    result.stats.size -= entry.size
                continue
        kept.append(entry)
    result.entries = kept


class _Symlink(str):
    """In the walker's path -> digest map: that path is a symlink (a hard link to it is a symlink too)."""

    @property
    def target(self) -> str:
        return str(self)


_SHARED: dict = {}
SHARED_MAX = 1 << 16


def _shared(value):
    """One object for equal owner names, modes, ids and times: a layer's 50k entries hold a few
    hundred of each (each its own object, ~160 bytes an entry; the table is emptied at SHARED_MAX)."""
    got = _SHARED.get(value)
    if got is None:
        if len(_SHARED) >= SHARED_MAX:
            _SHARED.clear()
        _SHARED[value] = got = value
    return got


def _refuse_root(member: Member, index: int, result: WalkResult,
                 why: str = "would replace or delete the root folder") -> None:
    """A member that would replace or delete the root folder, or a folder above its own: reported, left out."""
    result.problems.append(Problem(index, ProblemKind.UNSAFE_PATH, f"layer {index}: member {member.name!r} {why}"))
    return None


def _file(member: Member, path: str, common: dict, result: WalkResult,
          digests: dict[str, str | None], tar: TarHeaders, visitor: LayerVisitor | None,
          max_content: int) -> FileEntry:
    size = member.size
    # one entry: what `wants` sees is the file's entry, its digest filled in once the content is hashed
    entry = FileEntry(path=path, kind=EntryKind.FILE, size=size, data_offset=member.offset_data, **common)
    sha = hashlib.sha256()
    keep = visitor is not None and visitor.wants(entry)
    fh = tar  # the content, straight from the stream (the next header is found past it)
    kept = b""
    left = size
    if keep:
        if min(size, max_content) > TRIM_BEFORE:
            memtune.trim()  # what the small files before it left in the heap's holes
        # the prefix the detectors get, read in one piece: held once, never copied
        kept = fh.read(min(size, max_content))
        if len(kept) < min(size, max_content):
            raise EOFError(f"{path}: content ends early")
        sha.update(kept)
        left -= len(kept)
        if left > 0:  # a longer file: the prefix goes now, so it is not held while the rest is read
            keep = False
            visitor.visit(entry, kept)
            parts = getattr(visitor, "wants_parts", None)
            if parts is not None and parts(entry):
                tail, newlines = kept[-PART_OVERLAP:], kept.count(b"\n")
                kept = b""  # only the detectors hold the prefix now, until they are done with it
                left = _parts(fh, sha, visitor, entry, tail, newlines, left)
            kept = b""
    if left > 0:
        try:
            fh.hash_into(sha, left)
        except EOFError:
            raise EOFError(f"{path}: content ends early") from None
    result.stats.size += size  # only once the content was really there
    digest = sha.hexdigest()
    digests[path] = digest
    _FILL_DIGEST(entry, "digest", digest)
    if keep:
        visitor.visit(entry, kept)
    return entry


def _parts(fh: TarHeaders, sha, visitor: PartVisitor, entry: FileEntry, tail: bytes, newlines: int,
           left: int) -> int:
    """Read the rest of a file after its prefix, hashing it and handing it over part by part (`tail`:
    the prefix's last PART_OVERLAP bytes; `newlines`: those in the prefix)."""
    while left > 0:
        chunk = fh.read(min(PART_BYTES, left))
        if len(chunk) < min(PART_BYTES, left):
            raise EOFError(f"{entry.path}: content ends early")
        sha.update(chunk)
        left -= len(chunk)
        part = tail + chunk
        visitor.visit_part(entry, part, newlines - tail.count(b"\n"))
        newlines += chunk.count(b"\n")
        tail = part[-PART_OVERLAP:]
        del chunk, part
    return left


_FILL_DIGEST = object.__setattr__
"""Sets the digest of an entry `_file` is building (FileEntry is frozen; no one looks at it yet but
the visitor's `wants`, which looks at path, size and mode only, and, for a file longer than its
prefix, the detectors, whose findings do not depend on it: YARA only keys its memo of repeated
contents on it)."""


def read_member(blob, member: int, limit: int | None = None, offset: int = 0) -> bytes:
    """Content of the `member`-th tar member of a layer blob (a second, on-demand pass through the
    same parser the scan used, so the bytes are the ones that were hashed and scanned), from
    `offset` on (the bytes before it are decompressed and skipped, never kept)."""
    stream = LayerStream(blob)
    try:
        tar = TarHeaders(stream.reader)
        for position, info in enumerate(tar):
            if position == member:
                if not info.has_content():
                    return b""
                size = info.size
                if offset:
                    offset = max(0, min(offset, size))
                    tar.hash_into(None, offset)
                want = size - offset if limit is None else min(limit, size - offset)
                data = tar.read(want)
                if len(data) < want:
                    raise EOFError(f"member {member} ends early")
                return data
        raise EOFError(f"member {member} not found")
    finally:
        stream.close()
