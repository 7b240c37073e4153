"""`docker-root:DIR[:REF]`: a Docker data root (`/var/lib/docker`, overlay2 or vfs) read offline, read-only.

For a disk seized from a node: its images (`image/DRIVER/repositories.json`, `imagedb`, `layerdb`) and its
containers (`containers/ID/config.v2.json`, `hostconfig.json`), no daemon needed.

- An image layer is streamed as the very tar Docker once unpacked: the layer's `tar-split.json.gz` (the
  tar's headers and padding, kept by Docker for `docker save`) with each file's bytes read from the
  layer's folder (`overlay2/CACHE-ID/diff`, `vfs/dir/CACHE-ID`), so its digest is the diff_id and any file
  changed on disk since shows as a mismatch. Without a tar-split, an overlay2 layer folder is walked.
- A container's writable layer is its overlay2 upper folder (`overlay2/MOUNT-ID/diff`), walked: overlay
  whiteouts (character devices 0/0) become `.wh.` whiteouts and a folder with `trusted.overlay.opaque=y`
  an opaque one; under vfs, its full root folder compared with its init layer's as Docker's naive diff
  does. Either way it becomes the same "runtime changes" top layer as `container:`.

Nothing below DIR is written. Every file and folder is opened read-only, without following a symlink,
with O_NOATIME where the kernel permits (the owner or CAP_FOWNER), so access times stay as they were;
every file read is listed in the audit log when one is asked for (`--audit-log FILE`, JSON lines).
"""

from __future__ import annotations

import base64
import dataclasses
import errno
import gzip
import hashlib
import io
import json
import os
import posixpath
import stat
import tarfile
from typing import BinaryIO, Iterator

from explorer.core.problems import ProblemKind
from explorer.core.errors import SourceError
from explorer.core.model import Problem
from explorer.sources.blobstore import open_regular
from explorer.sources.base import DOCKER_LAYER_TAR, ImageSource, listing, make_layer_refs, parse_config
from explorer.sources.container import ChunkReader, add_runtime_layer

DRIVERS = ("overlay2", "vfs")
MAX_DOC = 64 * 1024 * 1024
CHUNK = 1 << 20
NOATIME = getattr(os, "O_NOATIME", 0)
OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")


class Evidence:
    """Read-only access below a data root: no symlink followed, O_NOATIME where permitted, every
    file opened for its content listed in the audit log. Holds no open file (picklable for workers)."""

    def __init__(self, root: str, audit_log: str | None = None):
        self.root = os.path.abspath(root)
        self.audit_log = os.path.abspath(audit_log) if audit_log else None

    def _open(self, rel: str, flags: int) -> int:
        """An fd of `rel` below the root, walking each component with O_NOFOLLOW."""
        parts = [p for p in rel.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise SourceError(f"{self.root}: path {rel!r} climbs out of the data root")
        fd = _open_noatime(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for i, part in enumerate(parts):
                last = i == len(parts) - 1
                mode = flags if last else os.O_RDONLY | os.O_DIRECTORY
                nxt = _open_noatime(part, mode | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
                os.close(fd)
                fd = nxt
        except OSError:
            os.close(fd)
            raise
        return fd

    def open(self, rel: str) -> BinaryIO:
        """A regular file's content (a fifo or device would block or never end: refused)."""
        fh = open_regular(lambda: self._open(rel, os.O_RDONLY | os.O_NONBLOCK), f"{self.root}: {rel}")
        self._audit(rel)
        return fh

    def read_small(self, rel: str) -> bytes:
        with self.open(rel) as fh:
            data = fh.read(MAX_DOC + 1)
        if len(data) > MAX_DOC:
            raise SourceError(f"{self.root}: {rel} is too large ({MAX_DOC} bytes at most)")
        return data

    def exists(self, rel: str) -> bool:
        try:
            os.close(self._open(rel, os.O_RDONLY | os.O_PATH if hasattr(os, "O_PATH") else os.O_RDONLY))
            return True
        except (OSError, SourceError):
            return False

    def listdir(self, rel: str) -> list[tuple[str, os.stat_result]]:
        """A folder's (name, lstat) pairs, sorted by name (read through an fd: the folder's atime stays)."""
        try:
            fd = self._open(rel, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            raise SourceError(f"{self.root}: cannot list {rel}: {exc.strerror}") from None
        try:
            with os.scandir(fd) as it:
                return sorted((e.name, e.stat(follow_symlinks=False)) for e in it)
        finally:
            os.close(fd)

    def lstat(self, rel: str) -> os.stat_result:
        parent, name = posixpath.split(rel)
        fd = self._open(parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            return os.stat(name, dir_fd=fd, follow_symlinks=False)
        finally:
            os.close(fd)

    def readlink(self, rel: str) -> str:
        parent, name = posixpath.split(rel)
        fd = self._open(parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            return os.readlink(name, dir_fd=fd)
        finally:
            os.close(fd)

    def opaque(self, rel: str) -> bool:
        try:
            fd = self._open(rel, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return False
        try:
            for name in OPAQUE_XATTRS:
                try:
                    if os.getxattr(fd, name) == b"y":
                        return True
                except OSError:
                    continue
            return False
        finally:
            os.close(fd)

    def _audit(self, rel: str) -> None:
        if self.audit_log is None:
            return
        line = json.dumps({"read": os.path.join(self.root, rel)}, ensure_ascii=True) + "\n"
        fd = os.open(self.audit_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


def _open_noatime(path: str, flags: int, dir_fd: int | None = None) -> int:
    if NOATIME:
        try:
            return os.open(path, flags | NOATIME, dir_fd=dir_fd)
        except PermissionError:
            pass  # not the owner and no CAP_FOWNER: the kernel refuses O_NOATIME
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EINVAL):
                raise
    return os.open(path, flags, dir_fd=dir_fd)


# -- layer streams ---------------------------------------------------------------------------------

def tar_split_stream(evidence: Evidence, tar_split: str, folder: str) -> Iterator[bytes]:
    """The layer tar as Docker unpacked it: tar-split's raw segments, and each file's bytes from `folder`."""
    with evidence.open(tar_split) as raw, gzip.open(raw) as lines:
        for line in lines:
            entry = json.loads(line)
            kind = entry.get("type")
            if kind == 2:  # a segment: headers and padding, as they were
                yield base64.b64decode(entry.get("payload") or "")
            elif kind == 1 and entry.get("size"):
                name = entry.get("name") or ""
                if entry.get("name_raw"):
                    name = os.fsdecode(base64.b64decode(entry["name_raw"]))
                yield from _content(evidence, posixpath.join(folder, name.lstrip("/")), int(entry["size"]))


def _content(evidence: Evidence, rel: str, size: int) -> Iterator[bytes]:
    """Exactly `size` bytes of a file, in chunks (a file shorter than its layer says is an error)."""
    with evidence.open(rel) as fh:
        while size > 0:
            data = fh.read(min(CHUNK, size))
            if not data:
                raise SourceError(f"{evidence.root}: {rel} is shorter than its layer says")
            size -= len(data)
            yield data


def _header(info: tarfile.TarInfo) -> bytes:
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def _whiteout(path: str) -> bytes:
    parent, name = posixpath.split(path)
    return _header(tarfile.TarInfo(posixpath.join(parent, ".wh." + name)))


def _entry(evidence: Evidence, full: str, path: str, st: os.stat_result,
           links: dict[tuple[int, int], str] | None = None) -> Iterator[bytes]:
    """One file system object as tar bytes (a folder: its header only; a socket: nothing, a tar cannot
    hold one and Docker leaves them out too). `links`: (device, inode) → the path first written of each
    multiply linked file; a later name of it becomes a hard link to that path, as Docker's tar writer does."""
    info = tarfile.TarInfo(path)
    info.mode, info.uid, info.gid, info.mtime = stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, int(st.st_mtime)
    if links is not None and st.st_nlink > 1 and not stat.S_ISDIR(st.st_mode):
        first = links.setdefault((st.st_dev, st.st_ino), path)
        if first != path:
            info.type, info.linkname = tarfile.LNKTYPE, first
            yield _header(info)
            return
    if stat.S_ISDIR(st.st_mode):
        info.type = tarfile.DIRTYPE
        yield _header(info)
    elif stat.S_ISLNK(st.st_mode):
        info.type, info.linkname = tarfile.SYMTYPE, evidence.readlink(full)
        yield _header(info)
    elif stat.S_ISREG(st.st_mode):
        info.size = st.st_size
        yield _header(info)
        yield from _content(evidence, full, st.st_size)
        if st.st_size % 512:
            yield b"\0" * (512 - st.st_size % 512)
    elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) or stat.S_ISFIFO(st.st_mode):
        info.type = (tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else
                     tarfile.BLKTYPE if stat.S_ISBLK(st.st_mode) else tarfile.FIFOTYPE)
        info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        yield _header(info)


def folder_stream(evidence: Evidence, folder: str) -> Iterator[bytes]:
    """An overlay2 layer folder (an image layer's `diff`, a container's upper folder) as a layer tar:
    character devices 0/0 are whiteouts, a folder marked opaque gets `.wh..wh..opq`. The names of one
    inode after the first (in this walk's order, Docker's: by path) are hard links to it."""
    links: dict[tuple[int, int], str] = {}
    stack = [("", iter(evidence.listdir(folder)))]  # depth first, by name: Go's filepath.Walk order
    while stack:
        rel, names = stack[-1]
        item = next(names, None)
        if item is None:
            stack.pop()
            continue
        name, st = item
        path = posixpath.join(rel, name) if rel else name
        full = posixpath.join(folder, path)
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            yield _whiteout(path)
            continue
        yield from _entry(evidence, full, path, st, links)
        if stat.S_ISDIR(st.st_mode):
            if evidence.opaque(full):
                yield _header(tarfile.TarInfo(posixpath.join(path, ".wh..wh..opq")))
            stack.append((path, iter(evidence.listdir(full))))
    yield b"\0" * 1024


def _differs(new: os.stat_result, old: os.stat_result) -> bool:
    """Docker's naive diff (`archive.ChangesDirs`): mode, owner, device, and for all but folders size and mtime."""
    if (new.st_mode, new.st_uid, new.st_gid, new.st_rdev) != (old.st_mode, old.st_uid, old.st_gid, old.st_rdev):
        return True
    return not stat.S_ISDIR(new.st_mode) and (new.st_size, new.st_mtime_ns) != (old.st_size, old.st_mtime_ns)


def naive_changes(evidence: Evidence, upper: str, lower: str,
                  links: dict[tuple[int, int], str] | None = None) -> list[tuple[str, bool]]:
    """(path, deleted) of a vfs container's changes: its full root folder against the one below it
    (the init layer), compared as Docker's naive diff does (`archive.ChangesDirs`), each folder that
    holds a change listed too, as `docker diff` lists it. Metadata only: no file is opened. `links`, when
    given, gets the first path (in Go's walk order) of each multiply linked inode of the whole folder."""
    changed: set[str] = set()
    deleted: set[str] = set()
    stack: list[tuple[str, bool]] = [("", True)]
    while stack:
        rel, below = stack.pop()
        now = evidence.listdir(posixpath.join(upper, rel) if rel else upper)
        before = dict(evidence.listdir(posixpath.join(lower, rel) if rel else lower)) if below else {}
        names = {name for name, _ in now}
        deleted.update(posixpath.join(rel, name) if rel else name for name in before.keys() - names)
        for name, st in now:
            path = posixpath.join(rel, name) if rel else name
            old = before.get(name)
            if old is None or _differs(st, old):
                changed.add(path)
            if links is not None and st.st_nlink > 1 and not stat.S_ISDIR(st.st_mode):
                first = links.setdefault((st.st_dev, st.st_ino), path)
                if path.split("/") < first.split("/"):
                    links[(st.st_dev, st.st_ino)] = path
            if stat.S_ISDIR(st.st_mode):
                stack.append((path, old is not None and stat.S_ISDIR(old.st_mode)))
    for path in list(changed | deleted):
        parent = posixpath.dirname(path)
        while parent:
            changed.add(parent)
            parent = posixpath.dirname(parent)
    return sorted([(p, False) for p in changed] + [(p, True) for p in deleted], key=lambda r: r[0].split("/"))


def naive_stream(evidence: Evidence, upper: str, lower: str) -> Iterator[bytes]:
    """A vfs container's changes (`naive_changes`) as a layer tar; what is gone becomes a `.wh.` whiteout,
    a name of a file that is not its first name (in the whole root folder, as `docker export` walks it)
    a hard link to that first name."""
    links: dict[tuple[int, int], str] = {}  # a name of a file the container did not change may come first
    for path, gone in naive_changes(evidence, upper, lower, links):
        if gone:
            yield _whiteout(path)
        else:
            full = posixpath.join(upper, path)
            yield from _entry(evidence, full, path, evidence.lstat(full), links)
    yield b"\0" * 1024


class DockerRootStore:
    """Blobs of a data root: `layer/CHAIN-ID` (an image layer) and `upper/MOUNT-ID` (a container's
    writable layer), each streamed, never copied nor held whole."""

    def __init__(self, evidence: Evidence, driver: str):
        self.evidence = evidence
        self.driver = driver
        self.description = f"docker-root:{evidence.root}"

    def exists(self, name: str) -> bool:
        return True

    def size(self, name: str) -> int:
        return 0

    def open(self, name: str) -> BinaryIO:
        kind, _, ident = name.partition("/")
        if kind == "upper" and self.driver == "vfs":
            chunks = naive_stream(self.evidence, f"vfs/dir/{ident}", f"vfs/dir/{ident}-init")
        elif kind == "upper":
            chunks = folder_stream(self.evidence, f"overlay2/{ident}/diff")
        else:
            base = f"image/{self.driver}/layerdb/sha256/{ident}"
            cache_id = self.evidence.read_small(f"{base}/cache-id").decode().strip()
            folder = f"overlay2/{cache_id}/diff" if self.driver == "overlay2" else f"vfs/dir/{cache_id}"
            if self.evidence.exists(f"{base}/tar-split.json.gz"):
                chunks = tar_split_stream(self.evidence, f"{base}/tar-split.json.gz", folder)
            elif self.driver == "overlay2":
                chunks = folder_stream(self.evidence, folder)
            else:
                raise SourceError(f"{self.description}: layer {ident[:12]} has no tar-split.json.gz")
        return io.BufferedReader(ChunkReader(chunks), CHUNK)

    def close(self) -> None:
        pass


# -- the data root's catalogue ---------------------------------------------------------------------

def chain_ids(diff_ids) -> list[str]:
    out: list[str] = []
    for diff_id in diff_ids:
        out.append(diff_id if not out else "sha256:" + hashlib.sha256(f"{out[-1]} {diff_id}".encode()).hexdigest())
    return out


class DataRoot:
    def __init__(self, evidence: Evidence):
        self.evidence = evidence
        drivers = [d for d in DRIVERS if evidence.exists(f"image/{d}/imagedb")]
        if not drivers:
            raise SourceError(f"{evidence.root}: not a Docker data root (no image/overlay2 or image/vfs "
                              "image database)")
        self.driver = drivers[0]
        self.base = f"image/{self.driver}"

    def tags(self) -> dict[str, str]:
        """repo:tag → image id."""
        rel = f"{self.base}/repositories.json"
        if not self.evidence.exists(rel):
            return {}
        try:
            doc = json.loads(self.evidence.read_small(rel))
        except ValueError:
            return {}
        out = {}
        for repo in (doc.get("Repositories") or {}).values() if isinstance(doc, dict) else ():
            if isinstance(repo, dict):
                out.update({str(k): str(v) for k, v in repo.items() if "@" not in str(k)})
        return out

    def images(self) -> list[str]:
        return [f"sha256:{name}" for name, _ in self.evidence.listdir(f"{self.base}/imagedb/content/sha256")]

    def containers(self) -> list[dict]:
        out = []
        if not self.evidence.exists("containers"):
            return out
        for name, _ in self.evidence.listdir("containers"):
            try:
                doc = json.loads(self.evidence.read_small(f"containers/{name}/config.v2.json"))
            except (SourceError, ValueError):
                continue
            if isinstance(doc, dict):
                out.append(doc)
        return out

    def choices(self) -> str:
        tags = self.tags()
        names = {v: k for k, v in sorted(tags.items(), reverse=True)}
        images = listing(f"{names.get(i, '<none>')} ({i[7:19]})" for i in self.images())
        containers = listing(f"container:{str(c.get('Name', '')).lstrip('/')} ({str(c.get('ID', ''))[:12]})"
                             for c in self.containers())
        return f"images: {images}; containers: {containers}"

    def catalogue(self) -> dict:
        """What the data root holds, for `explorer layers docker-root:DIR`: its images (id, tags, layers,
        created) and containers (id, name, image, state), read from their small JSON documents only."""
        names: dict[str, list[str]] = {}
        for tag, image in sorted(self.tags().items()):
            names.setdefault(image, []).append(tag)
        images = []
        for image in self.images():
            try:
                doc = json.loads(self.evidence.read_small(f"{self.base}/imagedb/content/sha256/{image[7:]}"))
            except (SourceError, ValueError):
                doc = None
            doc = doc if isinstance(doc, dict) else {}
            rootfs = doc.get("rootfs") if isinstance(doc.get("rootfs"), dict) else {}
            diff_ids = rootfs.get("diff_ids") if isinstance(rootfs.get("diff_ids"), list) else []
            images.append({"id": image, "tags": names.get(image, []), "layers": len(diff_ids),
                           "created": str(doc.get("created") or "")})
        containers = []
        for doc in self.containers():
            state = doc.get("State") if isinstance(doc.get("State"), dict) else {}
            image = str(doc.get("Image") or "")
            containers.append({
                "id": str(doc.get("ID") or ""), "name": str(doc.get("Name") or "").lstrip("/"), "image": image,
                "image_tags": names.get(image, []), "created": str(doc.get("Created") or ""),
                "state": "paused" if state.get("Paused") else "running" if state.get("Running") else "stopped",
                "exit_code": state.get("ExitCode") if isinstance(state.get("ExitCode"), int) else None})
        return {"root": self.evidence.root, "driver": self.driver, "images": images,
                "containers": sorted(containers, key=lambda c: (c["name"], c["id"]))}

    def image_id(self, ref: str) -> str | None:
        tags = self.tags()
        if ref in tags:
            return tags[ref]
        if ":" not in ref.rsplit("/", 1)[-1] and f"{ref}:latest" in tags:
            return tags[f"{ref}:latest"]
        hexpart = ref.removeprefix("sha256:")
        found = [i for i in self.images() if i[7:].startswith(hexpart)] if len(hexpart) >= 4 else []
        return found[0] if len(found) == 1 else None

    def container(self, ref: str) -> dict | None:
        ref = ref.lstrip("/")
        found = [c for c in self.containers()
                 if str(c.get("Name", "")).lstrip("/") == ref or (len(ref) >= 4 and str(c.get("ID", "")).startswith(ref))]
        return found[0] if len(found) == 1 else None

    def open_image(self, image_id: str, reference: str) -> ImageSource:
        raw = self.evidence.read_small(f"{self.base}/imagedb/content/sha256/{image_id[7:]}")
        config = parse_config(raw, f"docker-root:{self.evidence.root}")
        store = DockerRootStore(self.evidence, self.driver)
        blobs = []
        for chain in chain_ids(config.diff_ids):
            if not self.evidence.exists(f"{self.base}/layerdb/sha256/{chain[7:]}"):
                raise SourceError(f"{reference}: layer {chain[7:19]} of image {image_id[7:19]} is not in the "
                                  "layer database")
            blobs.append((f"layer/{chain[7:]}", None, DOCKER_LAYER_TAR, self._layer_size(chain)))
        layers, problems = [], []
        for ref, chain in zip(make_layer_refs(config, blobs), chain_ids(config.diff_ids)):
            if self.evidence.exists(f"{self.base}/layerdb/sha256/{chain[7:]}/tar-split.json.gz"):
                # the stream is the layer tar as it was unpacked: its digest must be the diff_id
                layers.append(dataclasses.replace(ref, digest=ref.diff_id))
            else:
                layers.append(dataclasses.replace(ref, digest=None, diff_id=None))
                problems.append(Problem(ref.index, ProblemKind.NO_TAR_SPLIT, (
                    f"layer {ref.index}: no tar-split.json.gz in the layer database; rebuilt from its folder, "
                    "so its bytes cannot be checked against the diff_id")))
        return ImageSource(reference=reference, kind="docker-root", store=store, config=config, layers=layers,
                           problems=problems, documents={"config": raw})

    def _layer_size(self, chain: str) -> int:
        try:
            return int(self.evidence.read_small(f"{self.base}/layerdb/sha256/{chain[7:]}/size").strip() or 0)
        except (SourceError, ValueError):
            return 0

    def open_container(self, doc: dict, reference: str) -> ImageSource:
        cid = str(doc.get("ID") or "")
        name = str(doc.get("Name") or cid[:12]).lstrip("/")
        image = self.open_image(str(doc.get("Image") or ""), reference)
        host = {}
        try:
            host = json.loads(self.evidence.read_small(f"containers/{cid}/hostconfig.json"))
        except (SourceError, ValueError):
            pass
        mounts = [{"Type": str(m.get("Type") or "bind"), "Source": str(m.get("Source") or ""),
                   "Destination": str(m.get("Destination") or ""), "RW": bool(m.get("RW", True)),
                   "Name": str(m.get("Name") or "")}
                  for m in (doc.get("MountPoints") or {}).values() if isinstance(m, dict)]
        attrs = {"Id": cid, "Name": "/" + name, "Created": doc.get("Created"), "Image": doc.get("Image"),
                 "Config": doc.get("Config") or {}, "State": doc.get("State") or {},
                 "HostConfig": host if isinstance(host, dict) else {}, "Mounts": sorted(mounts, key=str)}
        problems: list[Problem] = []
        mount_rel = f"{self.base}/layerdb/mounts/{cid}/mount-id"
        mount_id = self.evidence.read_small(mount_rel).decode().strip()
        if not mount_id or "/" in mount_id or mount_id.startswith("."):
            raise SourceError(f"{reference}: bad mount-id {mount_id!r}")
        return add_runtime_layer(image, image.store, f"upper/{mount_id}", None, 0, attrs, name, "docker-root",
                                 reference, problems)


def bare_root(arg: str, transport: str, audit_log: str | None = None) -> Evidence | None:
    """The evidence of `DIR` with no REF after it (a listing is asked for); None when `arg` names one."""
    from explorer.sources.base import split_existing
    path, ref = split_existing(arg)
    if ref is not None:
        return None
    if not os.path.isdir(path):
        raise SourceError(f"{transport}:{path}: no such folder")
    return Evidence(path, audit_log)


def docker_root_catalogue(arg: str, audit_log: str | None = None) -> dict | None:
    """`DIR` (no REF): what the data root holds (`DataRoot.catalogue`); None when `arg` names an image or container."""
    evidence = bare_root(arg, "docker-root", audit_log)
    return None if evidence is None else DataRoot(evidence).catalogue()


def open_docker_root(arg: str, platform: str | None = None, audit_log: str | None = None) -> ImageSource:
    """`DIR`, `DIR:REPO:TAG`, `DIR:IMAGE-ID`, `DIR:container:NAME|ID`."""
    from explorer.sources.base import split_existing
    path, ref = split_existing(arg)
    if not os.path.isdir(path):
        raise SourceError(f"docker-root:{path}: no such folder")
    root = DataRoot(Evidence(path, audit_log))
    reference = f"docker-root:{arg}"
    if ref is None:
        raise SourceError(f"{reference}: choose an image or container with docker-root:DIR:REF ({root.choices()}; "
                          f"`explorer layers docker-root:DIR` lists them)")
    if ref.startswith("container:"):
        doc = root.container(ref[len("container:"):])
        if doc is None:
            raise SourceError(f"{reference}: no such container ({root.choices()})")
        return root.open_container(doc, reference)
    image_id = root.image_id(ref)
    if image_id is not None:
        return root.open_image(image_id, reference)
    doc = root.container(ref)
    if doc is not None:
        return root.open_container(doc, reference)
    raise SourceError(f"{reference}: no such image or container ({root.choices()})")
