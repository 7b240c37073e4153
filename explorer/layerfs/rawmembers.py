"""A layer's tar members as they are stored: names with their `.wh.` prefixes, type, mode, size, link
target, and what each whiteout or opaque marker means to Docker. No Textual import.

This is for teaching and forensics: the file tree shows what Docker *makes* of a layer (a whiteout
becomes a deleted path); this shows the members themselves. It is a second, on-demand read of one
blob through the same parser the scan used (`tarheaders.TarHeaders`, Go's reader), headers only: file
content is skipped, never kept. The read is capped as the scan's is (`Limits`: members, names,
decompressed bytes and ratio), and a damaged layer gives the members read before the damage plus the
problem.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from explorer.core.limits import DEFAULT, LimitExceeded, Limits, ReadBudget
from explorer.layerfs.stream import LayerStream
from explorer.layerfs.tarheaders import TarHeaderError, TarHeaders
from explorer.layerfs.walker import OPAQUE, READ_ERRORS, WHITEOUT, clean_text, normalise
from explorer.core.model import LayerRef

TYPE_NAMES = {48: "file", 53: "dir", 50: "symlink", 49: "hardlink", 51: "char", 52: "block", 54: "fifo",
              103: "pax global"}
"""Tar type flags by their byte (`0` regular file, `5` folder, ...); others are shown by their letter."""


@dataclass(frozen=True, slots=True)
class RawMember:
    """One tar member as stored (names as escaped text: never markup, never control characters)."""

    position: int
    """0-based position in the layer tar (the scan's `FileEntry.member`)."""
    name: str
    """The member's name as stored, after Go's header rules (pax `path`, GNU long names, the prefix)."""
    type: str
    """The type flag as a character (`0`, `5`, `2`, `1`, `3`, `4`, `6`, `g`, ...)."""
    kind: str
    """`file`, `dir`, `symlink`, ..., or `whiteout`, `opaque`, `aufs` for the `.wh.` names."""
    mode: int
    uid: int
    gid: int
    size: int
    linkname: str
    meaning: str = ""
    """What Docker does with a whiteout, an opaque marker or a pax global header (empty for the others)."""


@dataclass
class RawListing:
    layer: int
    compression: str = "none"
    members: list[RawMember] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Why the listing stops early (a damaged blob, a cap), and what Docker refuses in what was read."""

    @property
    def whiteouts(self) -> int:
        return sum(1 for m in self.members if m.kind in ("whiteout", "opaque"))


def meaning(name: str) -> tuple[str, str]:
    """(kind, meaning) of a member name: `whiteout`/`opaque`/`aufs` with what Docker does, else ("", "")."""
    path, _ = normalise(name)
    base = posixpath.basename(path)
    if not base.startswith(WHITEOUT):
        return "", ""
    folder = posixpath.dirname(path)
    if base == OPAQUE:
        return "opaque", f"hides everything lower layers had in {folder} (only this layer's content stays)"
    if base.startswith(".wh..wh."):
        return "aufs", "aufs bookkeeping: Docker ignores it"
    return "whiteout", f"deletes {posixpath.join(folder, base[len(WHITEOUT):])} from lower layers"


def shown_path(member: RawMember) -> str:
    """Where the file tree shows what this member did: the path a whiteout deletes, the folder an opaque
    marker empties, else the member's own path."""
    path = normalise(member.name)[0]
    if member.kind == "whiteout":
        return posixpath.join(posixpath.dirname(path), posixpath.basename(path)[len(WHITEOUT):])
    if member.kind in ("opaque", "aufs"):
        return posixpath.dirname(path)
    return path


def read_raw_members(blob, ref: LayerRef, limits: Limits = DEFAULT) -> RawListing:
    """The members of one layer blob (an open binary stream; closed here), headers only, within `limits`."""
    index = ref.index
    listing = RawListing(index)
    budget = ReadBudget(limits)
    stream = LayerStream(blob)
    listing.compression = stream.compression
    stream.plain.on_read = budget.guard(index, stream.stored, stream.plain, stream.plain is not stream.stored)
    tar = None
    try:
        tar = TarHeaders(stream.reader)
        names = 0
        for position, member in enumerate(tar):
            budget.check_entries(index, position + 1)
            names += len(member.name) + len(member.linkname or "")
            budget.check_names(index, names)
            name = clean_text(member.name)
            kind, why = meaning(name) if member.type != 103 else ("", "")
            if member.type == 103:
                kind, why = "pax global", f"Docker removes what is at {normalise(name)[0]}"
            listing.members.append(RawMember(
                position, name, chr(member.type) if 32 <= member.type < 127 else f"\\x{member.type:02x}",
                kind or TYPE_NAMES.get(member.type, "other"), member.mode & 0o7777, member.uid, member.gid,
                member.size if member.has_content() else 0, clean_text(member.linkname or ""), why))
        stream.finish()  # a stream cut between two members looks like an end of archive to the tar reader
    except LimitExceeded as exc:
        listing.problems.append(f"{exc}; {len(listing.members)} members read")
    except READ_ERRORS as exc:
        cause = stream.error or exc
        reason = str(cause) or type(cause).__name__
        what = "damaged" if isinstance(exc, TarHeaderError) and stream.error is None else "cut short"
        listing.problems.append(f"layer {index} is {what}: {reason}; {len(listing.members)} members read")
    finally:
        stream.close()
    for why in tar.refusals if tar is not None else ():
        listing.problems.append(f"layer {index}: {why}, which Docker refuses")
    return listing


def raw_members(source, ref: LayerRef, limits: Limits = DEFAULT) -> RawListing:
    """`read_raw_members` on the layer's blob from its source; a blob that cannot be opened is a problem."""
    try:
        blob = source.open_layer(ref)
    except Exception as exc:  # noqa: BLE001 - a missing blob is said in the listing, as the scan reports it
        return RawListing(ref.index, problems=[f"layer {ref.index}: cannot be opened ({exc})"])
    return read_raw_members(blob, ref, limits)
