"""Named byte ranges inside an image archive or layout folder, opened without extracting.

A tar archive is indexed once (member headers only) and blobs are then read straight from
their offsets. Names are archive-relative POSIX paths; nothing here ever writes to disk.
"""

from __future__ import annotations

import io
import os
import posixpath
import stat
import tarfile
from typing import BinaryIO, NamedTuple, Protocol

from explorer.core.errors import SourceError

MAX_SMALL = 8 * 1024 * 1024
"""Largest manifest/config/index document we read into memory. Real ones are kilobytes (a config
with a long history, or an index of a few thousand tags, a few MB); parsed, a document costs many
times its size (8 MB of `[{},{},…]` is ~200 MB of Python objects)."""
MAX_ARCHIVE_MEMBERS = 10_000
"""Members of an image archive we index: a real one holds a few per layer (Docker allows 125 layers,
explorer.core.limits.MAX_LAYERS), and every member indexed costs memory and time (~0.2 ms)."""


def tar_members(tar: tarfile.TarFile | None):
    """A tarfile's members in order, without it keeping every TarInfo (a million-member archive held
    650 MB): for image archives here, and for the layer walker's second passes."""
    if tar is None:
        return
    while True:
        member = tar.next()
        if member is None:
            return
        tar.members.clear()
        yield member


class BlobStore(Protocol):
    description: str

    def exists(self, name: str) -> bool: ...

    def size(self, name: str) -> int: ...

    def open(self, name: str) -> BinaryIO: ...

    def close(self) -> None: ...


def read_small(store: BlobStore, name: str, what: str) -> bytes:
    """Read a small JSON document from the store, refusing absurd sizes."""
    if not store.exists(name):
        raise SourceError(f"{store.description}: {what} {name!r} is missing")
    if store.size(name) > MAX_SMALL:
        raise SourceError(f"{store.description}: {what} {name!r} is too large ({store.size(name)} bytes)")
    with store.open(name) as fh:
        data = fh.read(store.size(name))
    if len(data) != store.size(name):
        raise SourceError(f"{store.description}: {what} {name!r} is truncated")
    return data


class BlobIdentity(NamedTuple):
    key: str
    """What names the bytes: see `file_identity`."""
    changed: int
    """The later of the file's mtime and ctime, in ns."""
    size: int
    """Bytes of the blob (of the range, for a blob inside an archive)."""


def file_identity(path: str, offset: int = 0, size: int | None = None) -> BlobIdentity | None:
    """What names the bytes at `offset`..`offset + size` of the regular file `path` as it is now, or
    None when it cannot be told.

    The key is the real path, device, inode, size, mtime and ctime of the file (the ctime is set by
    the kernel on every change and no user process can set it back, the trick of git's index) and
    the range: while it stays the same, so do the bytes, barring a change within one tick of the
    file system's clock (`explorer.scan.cache` waits that out) or a file system that lies about it."""
    try:
        real = os.path.realpath(path)
        st = os.stat(real)
    except (OSError, ValueError):
        return None
    if size is None:
        size = st.st_size
    if not stat.S_ISREG(st.st_mode) or offset < 0 or size < 0 or offset + size > st.st_size:
        return None
    name = "\0".join(str(v) for v in (real, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                                      offset, size))
    return BlobIdentity(name, max(st.st_mtime_ns, st.st_ctime_ns), size)


def _normalise(name: str) -> str:
    name = posixpath.normpath("/" + name.replace("\\", "/")).lstrip("/")
    return name


class RangeReader(io.RawIOBase):
    """A read-only view of `size` bytes at `offset` of a file, with its own file handle."""

    def __init__(self, path: str, offset: int, size: int):
        super().__init__()
        self._fh = open(path, "rb", buffering=0)
        self._start = offset
        self._size = size
        self._pos = 0
        self._fh.seek(offset)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 1:
            pos += self._pos
        elif whence == 2:
            pos += self._size
        self._pos = max(0, min(pos, self._size))
        self._fh.seek(self._start + self._pos)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer) -> int:
        left = self._size - self._pos
        if left <= 0:
            return 0
        view = memoryview(buffer)
        if len(view) > left:
            view = view[:left]
        n = self._fh.readinto(view)
        if not n:
            return 0
        self._pos += n
        return n

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
        super().close()


class TarBlobStore:
    """Blobs stored as members of an uncompressed tar archive (docker save, oci-archive)."""

    def __init__(self, path: str):
        self.path = path
        self.description = path
        self._members: dict[str, tuple[int, int]] = {}
        self.truncated: str | None = None
        """Why the archive's index stops early, when it is cut or damaged."""
        links: dict[str, str] = {}
        try:
            with open(path, "rb") as fh:
                head = fh.read(512)
                if head[:2] == b"\x1f\x8b" or head[:4] == b"\x28\xb5\x2f\xfd":
                    raise SourceError(f"{path}: compressed archive; decompress it first (gunzip / unzstd)")
                if len(head) < 512 or head[257:262] != b"ustar":
                    raise SourceError(f"{path}: not a tar archive, OCI layout or image reference")
                fh.seek(0)
                with tarfile.open(fileobj=fh, mode="r:") as tar:
                    for count, member in enumerate(tar_members(tar), start=1):
                        if count > MAX_ARCHIVE_MEMBERS:
                            raise SourceError(f"{path}: holds more than {MAX_ARCHIVE_MEMBERS} members; "
                                              "not a container image archive")
                        name = _normalise(member.name)
                        if member.isfile():
                            self._members[name] = (member.offset_data, member.size)
                        elif member.issym():
                            links[name] = posixpath.normpath(
                                posixpath.join(posixpath.dirname(name), member.linkname)
                            )
                        elif member.islnk():
                            links[name] = _normalise(member.linkname)
        except SourceError:
            raise
        except (tarfile.TarError, OSError, EOFError, UnicodeDecodeError) as exc:
            if not self._members:
                raise SourceError(f"{path}: not a readable tar archive ({exc})") from None
            # A truncated archive: keep what was indexed; missing blobs are reported later.
            self.truncated = str(exc) or type(exc).__name__
        for name in links:
            target = name
            for _ in range(16):
                target = links.get(target, target)
                if target in self._members:
                    self._members[name] = self._members[target]
                    break

    def exists(self, name: str) -> bool:
        return _normalise(name) in self._members

    def size(self, name: str) -> int:
        return self._members[_normalise(name)][1]

    def open(self, name: str) -> BinaryIO:
        try:
            offset, size = self._members[_normalise(name)]
        except KeyError:
            raise SourceError(f"{self.path}: blob {name!r} is missing from the archive") from None
        file_size = os.path.getsize(self.path)
        return io.BufferedReader(RangeReader(self.path, offset, min(size, max(0, file_size - offset))),
                                 buffer_size=1 << 20)

    def identity(self, name: str) -> BlobIdentity | None:
        """`file_identity` of the archive range that holds blob `name`."""
        try:
            offset, size = self._members[_normalise(name)]
        except KeyError:
            return None
        return file_identity(self.path, offset, size)

    def close(self) -> None:
        pass


class DirBlobStore:
    """Blobs stored as files below a folder (OCI image layout)."""

    def __init__(self, root: str):
        self.root = os.path.realpath(root)
        self.description = root

    def _path(self, name: str) -> str:
        rel = _normalise(name)
        full = os.path.realpath(os.path.join(self.root, rel))
        if full != self.root and not full.startswith(self.root + os.sep):
            raise SourceError(f"{self.description}: blob {name!r} points outside the layout")
        return full

    def exists(self, name: str) -> bool:
        try:
            return os.path.isfile(self._path(name))
        except SourceError:
            return False

    def size(self, name: str) -> int:
        return os.path.getsize(self._path(name))

    def open(self, name: str) -> BinaryIO:
        """Only a regular file: a fifo or device in a layout would block the read or never end
        (opened without blocking, checked on the open descriptor)."""
        return open_regular(lambda: os.open(self._path(name), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC),
                            f"{self.description}: blob {name!r}")

    def identity(self, name: str) -> BlobIdentity | None:
        """`file_identity` of the file that holds blob `name`."""
        try:
            return file_identity(self._path(name))
        except SourceError:
            return None

    def close(self) -> None:
        pass


def open_regular(opener, what: str) -> BinaryIO:
    """The file `opener()` opens (without blocking, which it must ask for), when it is a regular file:
    a fifo or device would block the read or never end (checked on the open descriptor)."""
    try:
        fd = opener()
    except OSError as exc:
        raise SourceError(f"{what}: cannot open: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise SourceError(f"{what} is not a regular file")
    os.set_blocking(fd, True)
    return open(fd, "rb", buffering=1 << 20)
