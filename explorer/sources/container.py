"""`container:NAME|ID`: a container of the Docker daemon as its image plus one top layer of runtime changes.

The image layers are read as `docker-daemon:` reads them. The top layer holds what `docker diff`
lists, with `docker diff`'s meaning: added and changed paths with their contents (each fetched with
`GET /containers/ID/archive?path=…`, or, when the change set is large, picked from one `docker export`
stream, see `use_export`), deleted paths as whiteouts. The layer is written once, as a tar, into the source's private
temporary folder beside the image export, so that every later read sees the same snapshot even while
the container keeps running. Running, paused and stopped containers all work: the daemon reads the
container's writable layer for us; nothing in the container is executed or changed.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import posixpath
import tarfile
from typing import BinaryIO, Callable, Iterable, Iterator

from explorer.core.problems import ProblemKind
from explorer.core.errors import SourceError
from explorer.core.model import HistoryEntry, ImageConfig, LayerRef, Problem
from explorer.sources.base import DOCKER_LAYER_TAR, ImageSource, _strs
from explorer.sources.blobstore import BlobIdentity, BlobStore, tar_members

RUNTIME_BLOB = "explorer-runtime/layer.tar"
EXPORT_MIN_PATHS = 16
EXPORT_BYTES_PER_PATH = 16 * 1024 * 1024
"""One archive request costs the daemon about what exporting this much of the filesystem does (it
starts a helper in the container's mount namespace each time, ~0.15 s here)."""


def use_export(fetches: int, image_bytes: int) -> bool:
    """One `docker export` stream instead of `fetches` archive requests: only when the change set is
    large, both in paths and against the size of the filesystem the export would stream."""
    return fetches > max(EXPORT_MIN_PATHS, image_bytes // EXPORT_BYTES_PER_PATH)
CHUNK = 1 << 20

ADDED, CHANGED, DELETED = 1, 0, 2
"""`docker diff` kinds (`Kind` in the API)."""


def runtime_created_by(name: str) -> str:
    """The `created_by` of a container's runtime layer: findings there say `runtime`, not a build step."""
    return f"runtime changes (container {name})"


class LayeredStore:
    """An image's blob store plus extra blobs held as files (the synthesized runtime layer)."""

    def __init__(self, base: BlobStore, extra: dict[str, str], description: str):
        self.base = base
        self.extra = dict(extra)
        self.description = description

    def exists(self, name: str) -> bool:
        return name in self.extra or self.base.exists(name)

    def size(self, name: str) -> int:
        return os.path.getsize(self.extra[name]) if name in self.extra else self.base.size(name)

    def open(self, name: str) -> BinaryIO:
        if name in self.extra:
            return open(self.extra[name], "rb", buffering=CHUNK)
        return self.base.open(name)

    def identity(self, name: str) -> BlobIdentity | None:
        if name in self.extra:
            return None
        identity = getattr(self.base, "identity", None)
        return identity(name) if identity is not None else None

    def close(self) -> None:
        self.base.close()


class ChunkReader(io.RawIOBase):
    """A readable file over an iterator of byte chunks (an HTTP response body)."""

    def __init__(self, chunks: Iterable[bytes]):
        super().__init__()
        self._chunks: Iterator[bytes] = iter(chunks)
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._left:
            try:
                self._left = next(self._chunks)
            except StopIteration:
                return 0
            except SourceError as exc:  # a read error of the stream: the layer pass reports it, goes on
                raise OSError(errno.EIO, str(exc)) from None
        n = min(len(buffer), len(self._left))
        buffer[:n] = self._left[:n]
        self._left = self._left[n:]
        return n

    def close(self) -> None:
        closer = getattr(self._chunks, "close", None)
        if closer is not None:
            closer()
        super().close()


class HashingWriter:
    """A write-only file that hashes what passes through it."""

    def __init__(self, fh: BinaryIO):
        self.fh = fh
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.fh.write(data)


class HashingReader:
    """A readable file that hashes what is read from it."""

    def __init__(self, fh: BinaryIO):
        self.fh = fh
        self.sha = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.sha.update(data)
        return data


def might_share_inodes(files: dict[str, tuple], mtimes: dict[str, str]) -> bool:
    """Whether two regular files of the runtime layer could be one inode (hard links: same size, mode,
    owner, content and mtime to the nanosecond): the per-path archive API cannot tell, only the
    export's link table can."""
    seen = set()
    for rel, key in files.items():
        mtime = mtimes.get("/" + rel)
        if mtime is None:
            continue
        if (key, mtime) in seen:
            return True
        seen.add((key, mtime))
    return False


def _rel(path: str) -> str:
    return posixpath.normpath("/" + path).lstrip("/")


def _under(path: str, folders: set[str]) -> bool:
    parent = posixpath.dirname(path)
    while parent not in ("/", ""):
        if parent in folders:
            return True
        parent = posixpath.dirname(parent)
    return False


def normalise_changes(changes) -> list[tuple[str, int]]:
    """`docker diff` rows as (absolute path, kind), sorted so a folder comes before what it holds;
    what lies below a deleted folder is dropped (the folder's whiteout hides it)."""
    rows = sorted({("/" + _rel(str(c.get("Path") or "")), int(c.get("Kind", -1))) for c in changes or ()
                   if isinstance(c, dict) and c.get("Path")}, key=lambda r: (r[0].split("/"), r[1]))
    deleted = {p for p, k in rows if k == DELETED}
    recreated = {p for p, k in rows if k != DELETED and p in deleted}
    out = []
    for path, kind in rows:
        if path == "/" or kind not in (ADDED, CHANGED, DELETED):
            continue
        if _under(path, deleted - recreated) or (kind == DELETED and path in recreated):
            continue
        out.append((path, kind))
    return out


class RuntimeLayerWriter:
    """Writes the runtime layer tar: member headers and contents as the daemon gave them, renamed to
    their place in the image; deletions as `.wh.` whiteouts; a folder both deleted and listed again
    (removed and recreated) as an opaque folder."""

    def __init__(self, out: BinaryIO):
        self.hasher = HashingWriter(out)
        self.tar = tarfile.open(fileobj=self.hasher, mode="w|", format=tarfile.PAX_FORMAT)
        self.written: set[str] = set()
        self.files: dict[str, tuple] = {}
        """Each regular file written: rel path → (size, mode, uid, gid, sha256 of its content)."""

    def whiteout(self, path: str) -> None:
        rel = _rel(path)
        parent, name = posixpath.split(rel)
        info = tarfile.TarInfo(posixpath.join(parent, ".wh." + name))
        info.mode = 0o644
        self.tar.addfile(info)

    def opaque(self, path: str) -> None:
        info = tarfile.TarInfo(posixpath.join(_rel(path), ".wh..wh..opq"))
        info.mode = 0o644
        self.tar.addfile(info)

    def member(self, path: str, member: tarfile.TarInfo, content: BinaryIO | None, below: bool = False) -> None:
        """`below`: a hard link may point at a file of the image (one the container did not change)."""
        rel = _rel(path)
        member = member.replace(name=rel, deep=False)
        member.pax_headers = {k: v for k, v in member.pax_headers.items() if k not in ("path", "linkpath")}
        if member.islnk():
            target = _rel(member.linkname)
            if target not in self.written and not below:
                raise SourceError(f"hard link to {'/' + target} whose content is not in the change set")
            member = member.replace(linkname=target, deep=False)
        if member.isreg() and content is not None:
            hashed = HashingReader(content)
            self.tar.addfile(member, hashed)
            self.files[rel] = (member.size, member.mode, member.uid, member.gid, hashed.sha.hexdigest())
        else:
            self.tar.addfile(member, None)
        self.written.add(rel)

    def close(self) -> tuple[str, int]:
        self.tar.close()
        return "sha256:" + self.hasher.sha.hexdigest(), self.hasher.size


def mount_points(attrs: dict) -> set[str]:
    """Where the container has volumes and bind mounts: the daemon's archive of such a path is the
    mounted (host) content, not the container's layer."""
    return {"/" + _rel(str(m.get("Destination"))) for m in attrs.get("Mounts") or ()
            if isinstance(m, dict) and m.get("Destination")}


def mount_point(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """What the writable layer holds at a mount destination: the empty file or folder, owned by
    root, mode 0755, that Docker made to mount on (the mounted content is not the container's)."""
    info = tarfile.TarInfo(member.name)
    info.type = tarfile.DIRTYPE if member.isdir() else tarfile.REGTYPE
    info.mode, info.mtime = 0o755, member.mtime
    return info


def write_per_path(writer: RuntimeLayerWriter, changes: list[tuple[str, int]],
                   fetch: Callable[[str], Iterable[bytes]], problems: list[Problem], layer: int,
                   mounts: set[str] = frozenset()) -> None:
    """One archive request per added or changed path; only the first member of each (a folder's
    request is closed after its own header, its contents are listed paths of their own)."""
    recreated = {p for p, k in changes if k == DELETED}
    for path, kind in changes:
        if kind == DELETED:
            writer.whiteout(path)
            continue
        if _under(path, mounts):
            continue
        write_fetched(writer, path, fetch, problems, layer, path in mounts, path in recreated)


def write_fetched(writer: RuntimeLayerWriter, path: str, fetch: Callable[[str], Iterable[bytes]],
                  problems: list[Problem], layer: int, mount: bool = False, recreated: bool = False) -> None:
    """One path from its own archive request (its first member only)."""
    try:
        reader = ChunkReader(fetch(path))
    except SourceError as exc:
        problems.append(Problem(layer, ProblemKind.RUNTIME_UNREADABLE, f"layer {layer}: {path}: {exc}"))
        return
    try:
        with tarfile.open(fileobj=reader, mode="r|") as tar:
            first = tar.next()
            if first is None:
                raise SourceError("the daemon's archive is empty (a socket?)")
            if mount:
                writer.member(path, mount_point(first), None)
                return
            writer.member(path, first, tar.extractfile(first) if first.isreg() else None)
            if first.isdir() and recreated:
                writer.opaque(path)
    except (SourceError, tarfile.TarError, OSError) as exc:
        problems.append(Problem(layer, ProblemKind.RUNTIME_UNREADABLE, f"layer {layer}: {path}: {exc}"))
    finally:
        reader.close()


def write_from_export(writer: RuntimeLayerWriter, changes: list[tuple[str, int]], export: BinaryIO,
                      problems: list[Problem], layer: int) -> None:
    """The added and changed paths picked from one `docker export` stream, then the whiteouts. A hard
    link stays one, to its first name in the export (a path of this layer, or an image file no change
    touched: the same inode, so the same content below)."""
    wanted = {_rel(p): p for p, k in changes if k != DELETED}
    wanted_all = set(wanted)
    recreated = {p for p, k in changes if k == DELETED}
    with tarfile.open(fileobj=export, mode="r|") as tar:
        for member in tar_members(tar):
            rel = _rel(member.name)
            path = wanted.pop(rel, None)
            if path is None:
                continue
            try:
                writer.member(path, member, tar.extractfile(member) if member.isreg() else None,
                              below=_rel(member.linkname) not in wanted_all)
            except SourceError as exc:
                problems.append(Problem(layer, ProblemKind.RUNTIME_UNREADABLE, f"layer {layer}: {path}: {exc}"))
                continue
            if member.isdir() and path in recreated:
                writer.opaque(path)
    for path in sorted(wanted.values()):
        problems.append(Problem(layer, ProblemKind.RUNTIME_UNREADABLE, f"layer {layer}: {path}: not in the container's export"))
    for path, kind in changes:
        if kind == DELETED:
            writer.whiteout(path)


def container_config(image: ImageConfig, attrs: dict, runtime_line: str, runtime_diff_id: str | None) -> ImageConfig:
    """The container's own config (command, env, user, labels… as `docker inspect` shows them) over
    its image's history, plus one history line for the runtime layer; HostConfig and Mounts in `runtime`."""
    cfg = attrs.get("Config") if isinstance(attrs.get("Config"), dict) else {}

    labels = cfg.get("Labels") if isinstance(cfg.get("Labels"), dict) else {}
    runtime = {"Name": str(attrs.get("Name") or "").lstrip("/"), "Id": str(attrs.get("Id") or ""),
               "State": attrs.get("State") if isinstance(attrs.get("State"), dict) else {},
               "HostConfig": attrs.get("HostConfig") if isinstance(attrs.get("HostConfig"), dict) else {},
               "Mounts": attrs.get("Mounts") if isinstance(attrs.get("Mounts"), list) else []}
    raw = dict(image.raw)
    raw["config"] = cfg
    layer = len(image.diff_ids)
    doc = json.dumps({"image": image.id, "config": cfg, "runtime": runtime, "layer": runtime_diff_id or ""},
                     sort_keys=True, default=str).encode()
    return ImageConfig(
        id="sha256:" + hashlib.sha256(doc).hexdigest(),
        os=image.os, architecture=image.architecture, variant=image.variant,
        created=str(attrs.get("Created") or image.created),
        user=str(cfg.get("User") or ""),
        entrypoint=_strs(cfg.get("Entrypoint")), cmd=_strs(cfg.get("Cmd")), env=_strs(cfg.get("Env")),
        labels=tuple(sorted((str(k), str(v)) for k, v in labels.items())),
        volumes=tuple(sorted(str(v) for v in (cfg.get("Volumes") or {}) if isinstance(cfg.get("Volumes"), dict))),
        exposed_ports=tuple(sorted(str(v) for v in (cfg.get("ExposedPorts") or {})
                                   if isinstance(cfg.get("ExposedPorts"), dict))),
        working_dir=str(cfg.get("WorkingDir") or ""),
        diff_ids=image.diff_ids + ((runtime_diff_id,) if runtime_diff_id else ()),
        history=image.history + (HistoryEntry(created_by=runtime_line, created=str(attrs.get("Created") or ""),
                                              layer=layer),),
        raw=raw,
        runtime=runtime,
    )


def add_runtime_layer(image: ImageSource, store: BlobStore, blob: str, digest: str | None, size: int, attrs: dict,
                      name: str, kind: str, reference: str, problems: list[Problem]) -> ImageSource:
    """`image` plus the runtime layer (blob `blob` of `store`, which also holds the image's blobs) on top,
    with the container's config. `digest`: of the layer tar when known before it is read."""
    line = runtime_created_by(name)
    ref = LayerRef(index=len(image.layers), blob=blob, digest=digest, media_type=DOCKER_LAYER_TAR,
                   compressed_size=size, diff_id=digest, created_by=line)
    documents = dict(image.documents)
    documents["container"] = json.dumps(attrs, indent=2, sort_keys=True, default=str).encode()
    return ImageSource(reference=reference, kind=kind, store=store,
                       config=container_config(image.config, attrs, line, digest),
                       layers=list(image.layers) + [ref], problems=list(image.problems) + problems,
                       documents=documents, cleanup=list(image.cleanup))


def open_container(reference: str, platform: str | None = None) -> ImageSource:
    """`container:NAME|ID` through the Docker daemon (DOCKER_HOST honoured)."""
    from docker.errors import DockerException, NotFound

    from explorer.sources.daemon import _client, open_daemon

    client = _client()
    try:
        container = client.containers.get(reference)
        changes = normalise_changes(container.diff())
    except NotFound:
        raise SourceError(f"container:{reference}: no such container in the Docker daemon") from None
    except DockerException as exc:
        raise SourceError(f"container:{reference}: the Docker daemon refused: {str(exc).splitlines()[0]}") from None
    attrs = container.attrs
    name = str(attrs.get("Name") or reference).lstrip("/")
    image = open_daemon(str(attrs.get("Image") or ""), platform)
    try:
        folder = os.path.dirname(image.store.path)
        path = os.path.join(folder, "runtime-layer.tar")
        problems: list[Problem] = []
        layer = len(image.layers)

        mtimes: dict[str, str] = {}

        def fetch(member: str) -> Iterable[bytes]:
            try:
                chunks, found = container.get_archive(member, chunk_size=CHUNK)
                if isinstance(found, dict) and not found.get("linkTarget"):
                    mtimes[member] = str(found.get("mtime") or "")
            except NotFound:
                raise SourceError("gone from the container since `docker diff` listed it") from None
            except DockerException as exc:
                raise SourceError(f"the Docker daemon refused: {str(exc).splitlines()[0]}") from None
            return chunks

        fetches = sum(1 for p, k in changes if k != DELETED)
        from_export = use_export(fetches, sum(max(r.compressed_size, 0) for r in image.layers))
        if not from_export:
            with open(path, "wb") as out:
                writer = RuntimeLayerWriter(out)
                write_per_path(writer, changes, fetch, problems, layer, mount_points(attrs))
                digest, size = writer.close()
            # hard links: only the export knows them (archive requests give each name as a file)
            from_export = might_share_inodes(writer.files, mtimes)
            if from_export:
                problems.clear()
        if from_export:
            with open(path, "wb") as out:
                writer = RuntimeLayerWriter(out)
                export = ChunkReader(container.export(chunk_size=CHUNK))
                try:
                    write_from_export(writer, changes, io.BufferedReader(export, CHUNK), problems, layer)
                finally:
                    export.close()
                digest, size = writer.close()
    except BaseException as exc:
        image.close()
        if isinstance(exc, DockerException):
            raise SourceError(f"container:{reference}: reading its changes failed: {exc}") from None
        if isinstance(exc, tarfile.TarError):
            raise SourceError(f"container:{reference}: the daemon's export is not a readable tar ({exc})") from None
        raise
    store = LayeredStore(image.store, {RUNTIME_BLOB: path}, f"container:{reference}")
    return add_runtime_layer(image, store, RUNTIME_BLOB, digest, size, attrs, name, "docker-container",
                             f"container:{reference}", problems)
