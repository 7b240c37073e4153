"""The image model: frozen records that every later stage reads.

Nothing here touches a file or a tar; sources build these records and the layer walker fills
in file entries. No UI state lives here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from explorer.core.problems import ProblemKind


class EntryKind(str, enum.Enum):
    """What a tar member is, after whiteouts have been recognised."""

    FILE = "file"
    DIR = "dir"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    CHAR = "char"
    BLOCK = "block"
    FIFO = "fifo"
    WHITEOUT = "whiteout"
    """`.wh.NAME`: NAME (and everything below it) is deleted from the layers below."""
    OPAQUE = "opaque"
    """`DIR/.wh..wh..opq`: everything the layers below put in DIR is hidden."""


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One tar member of one layer, with its path made absolute and normalised."""

    path: str
    """Absolute path inside the image (`/etc/passwd`). For whiteouts: the path deleted;
    for opaque markers: the directory made opaque."""
    kind: EntryKind
    layer: int
    """Index of the layer whose tar holds this member."""
    mode: int = 0
    """Permission bits including setuid/setgid/sticky (no file-type bits)."""
    uid: int = 0
    gid: int = 0
    size: int = 0
    """Bytes of content in the tar (0 for everything but regular files)."""
    digest: str | None = None
    """sha256 hex of the content, for regular files and hard links (the target's content)."""
    linkname: str | None = None
    """Symlink target as stored, or the absolute path of a hard link's target; for a whiteout made by
    a pax global header (Docker removes what is at its name), that header's name."""
    mtime: int = 0
    member: int = 0
    """Position of the member in the layer tar (0-based), to find its content again."""
    data_offset: int = -1
    """Offset of the content in the uncompressed layer stream."""
    uname: str = ""
    gname: str = ""
    devmajor: int = 0
    devminor: int = 0

    @property
    def is_whiteout(self) -> bool:
        return self.kind in (EntryKind.WHITEOUT, EntryKind.OPAQUE)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1] or "/"

    def same_as(self, other: "FileEntry") -> bool:
        """True when the two copies are the same file for a diff (mtime is ignored)."""
        return (
            self.kind == other.kind
            and self.mode == other.mode
            and self.uid == other.uid
            and self.gid == other.gid
            and self.digest == other.digest
            and self.linkname == other.linkname
            and self.size == other.size
            and (self.devmajor, self.devminor) == (other.devmajor, other.devminor)
        )


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    created_by: str
    created: str = ""
    empty_layer: bool = False
    comment: str = ""
    layer: int | None = None
    """Index of the layer this entry made, None for empty-layer entries."""


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """The parts of the image config that reports and detectors use."""

    id: str
    """`sha256:` digest of the config blob."""
    os: str = ""
    architecture: str = ""
    variant: str = ""
    created: str = ""
    user: str = ""
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    """`NAME=value` strings, as in the config."""
    labels: tuple[tuple[str, str], ...] = ()
    volumes: tuple[str, ...] = ()
    exposed_ports: tuple[str, ...] = ()
    working_dir: str = ""
    diff_ids: tuple[str, ...] = ()
    history: tuple[HistoryEntry, ...] = ()
    raw: dict = field(default_factory=dict, compare=False, hash=False, repr=False)
    runtime: dict | None = field(default=None, compare=False, hash=False, repr=False)
    """For a container: how it runs (`HostConfig`, `Mounts`, `State`, `Name`, `Id` as the daemon or the
    data root reports them); None for an image."""

    @property
    def env_names(self) -> list[str]:
        return [item.split("=", 1)[0] for item in self.env]


@dataclass(frozen=True, slots=True)
class LayerRef:
    """A layer as the manifest names it, before it is read."""

    index: int
    blob: str
    """Name of the blob inside its source (archive member path or OCI digest)."""
    digest: str | None
    """Expected `sha256:` digest of the stored blob, when the source states one."""
    media_type: str
    compressed_size: int
    diff_id: str | None
    created_by: str = ""


@dataclass(frozen=True, slots=True)
class Problem:
    """Something wrong with the input that did not stop the read (becomes an `integrity` finding)."""

    layer: int | None
    kind: ProblemKind
    """What went wrong (a plain string of a kind's name is turned into its kind)."""
    message: str

    def __post_init__(self) -> None:
        if type(self.kind) is not ProblemKind:
            object.__setattr__(self, "kind", ProblemKind(self.kind))


@dataclass(slots=True)
class LayerStats:
    """What one streaming pass over a layer learnt, besides its entries."""

    index: int
    digest: str = ""
    """`sha256:` digest of the blob as stored (computed)."""
    diff_id: str = ""
    """`sha256:` digest of the uncompressed stream (computed)."""
    compression: str = "none"
    compressed_size: int = 0
    size: int = 0
    """Sum of regular-file sizes in the layer tar."""
    entries: int = 0
    """Tar members, whiteouts included."""
    complete: bool = True
    """False when the blob could not be read to its end."""
    uncompressed: int = 0
    """Bytes of the uncompressed stream read (what the `--max-total` cap counts)."""
