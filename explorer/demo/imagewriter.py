"""Write container images from a declarative list of layer entries (stdlib + zstandard only).

Used by the tests (small images built in-process, including broken and hostile ones) and by the
built-in demo image. Output is deterministic: fixed mtimes, fixed timestamps, sorted archive
members, gzip without a name or time stamp. Digests are real unless a corruption hook asks
otherwise.

A layer holds exactly the members it declares, in the order declared (parent directories are not
added for you; whiteouts sit where you put them). Paths are image paths (`/etc/passwd`) and are
stored without the leading slash, unless an entry is `raw`, whose name is written verbatim.

    spec = ImageSpec(layers=[Layer([Entry.file("/etc/motd", b"hi\\n")], created_by="COPY motd /etc/")])
    write_image(spec, "/tmp/img.tar")                      # docker-archive (Docker >= 25 flavour)
    write_image([amd64, arm64], "/tmp/layout", format="oci")  # one index, two platforms
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import zstandard

__all__ = ["Entry", "Layer", "ImageSpec", "BuiltLayer", "write_image", "layer_tar", "compress",
           "FORMATS", "MTIME", "CREATED"]

FORMATS = ("docker-archive", "docker-archive-legacy", "oci", "oci-archive")
MTIME = 1_700_000_000
"""mtime of every member unless an entry sets its own (2023-11-14)."""
CREATED = "2024-01-01T00:00:00Z"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = {
    "none": "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}
REF_NAME = "org.opencontainers.image.ref.name"


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _wrong(digest: str) -> str:
    """A well-formed digest that is not `digest` (its hex flipped in the last place)."""
    last = digest[-1]
    return digest[:-1] + ("0" if last != "0" else "1")


# -- layer entries ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """One tar member of a layer."""

    name: str
    """The tar member name as written (no leading slash unless `raw`)."""
    type: bytes
    """tarfile type: REGTYPE, DIRTYPE, SYMTYPE, LNKTYPE, CHRTYPE, BLKTYPE, FIFOTYPE."""
    data: bytes = b""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    linkname: str = ""
    devmajor: int = 0
    devminor: int = 0
    mtime: int = MTIME
    uname: str = ""
    gname: str = ""

    @staticmethod
    def _name(path: str, raw: bool) -> str:
        return path if raw else path.lstrip("/")

    @classmethod
    def file(cls, path: str, data: bytes, mode: int = 0o644, uid: int = 0, gid: int = 0, *,
             mtime: int = MTIME, raw: bool = False, **kw) -> "Entry":
        return cls(cls._name(path, raw), tarfile.REGTYPE, bytes(data), mode, uid, gid, mtime=mtime, **kw)

    @classmethod
    def dir(cls, path: str, mode: int = 0o755, uid: int = 0, gid: int = 0, *,
            mtime: int = MTIME, raw: bool = False, **kw) -> "Entry":
        return cls(cls._name(path, raw), tarfile.DIRTYPE, b"", mode, uid, gid, mtime=mtime, **kw)

    @classmethod
    def symlink(cls, path: str, target: str, mode: int = 0o777, uid: int = 0, gid: int = 0, *,
                mtime: int = MTIME, raw: bool = False, **kw) -> "Entry":
        """`target` is stored verbatim (relative or absolute, as a symlink holds it)."""
        return cls(cls._name(path, raw), tarfile.SYMTYPE, b"", mode, uid, gid, linkname=target, mtime=mtime, **kw)

    @classmethod
    def hardlink(cls, path: str, target: str, mode: int = 0o644, uid: int = 0, gid: int = 0, *,
                 mtime: int = MTIME, raw: bool = False, **kw) -> "Entry":
        """`target` is an image path of a file written earlier in the same layer."""
        return cls(cls._name(path, raw), tarfile.LNKTYPE, b"", mode, uid, gid,
                   linkname=cls._name(target, raw), mtime=mtime, **kw)

    @classmethod
    def whiteout(cls, path: str, *, mtime: int = MTIME) -> "Entry":
        """`DIR/.wh.NAME`: deletes `path` (and its subtree) from the layers below."""
        parent, _, name = path.strip("/").rpartition("/")
        member = f"{parent}/.wh.{name}" if parent else f".wh.{name}"
        return cls(member, tarfile.REGTYPE, b"", 0o644, mtime=mtime)

    @classmethod
    def opaque(cls, dir: str, *, mtime: int = MTIME) -> "Entry":
        """`DIR/.wh..wh..opq`: hides what the layers below put in `dir`."""
        parent = dir.strip("/")
        return cls(f"{parent}/.wh..wh..opq" if parent else ".wh..wh..opq", tarfile.REGTYPE, b"", 0o644,
                   mtime=mtime)

    @classmethod
    def fifo(cls, path: str, mode: int = 0o644, uid: int = 0, gid: int = 0, *, mtime: int = MTIME) -> "Entry":
        return cls(path.lstrip("/"), tarfile.FIFOTYPE, b"", mode, uid, gid, mtime=mtime)

    @classmethod
    def char(cls, path: str, major: int, minor: int, mode: int = 0o666, uid: int = 0, gid: int = 0, *,
             mtime: int = MTIME) -> "Entry":
        return cls(path.lstrip("/"), tarfile.CHRTYPE, b"", mode, uid, gid, devmajor=major, devminor=minor,
                   mtime=mtime)

    @classmethod
    def block(cls, path: str, major: int, minor: int, mode: int = 0o660, uid: int = 0, gid: int = 0, *,
              mtime: int = MTIME) -> "Entry":
        return cls(path.lstrip("/"), tarfile.BLKTYPE, b"", mode, uid, gid, devmajor=major, devminor=minor,
                   mtime=mtime)

    def tarinfo(self) -> tarfile.TarInfo:
        info = tarfile.TarInfo(self.name)
        info.type = self.type
        info.size = len(self.data) if self.type == tarfile.REGTYPE else 0
        info.mode = self.mode
        info.uid, info.gid = self.uid, self.gid
        info.uname, info.gname = self.uname, self.gname
        info.mtime = self.mtime
        info.linkname = self.linkname
        info.devmajor, info.devminor = self.devmajor, self.devminor
        return info


@dataclass
class Layer:
    """One layer: its members, its history line, how it is stored, and corruption hooks."""

    entries: list[Entry] = field(default_factory=list)
    created_by: str = ""
    compression: str = "gzip"
    """`gzip`, `zstd` or `none`."""
    media_type: str | None = None
    """Override the media type written in the manifest (media types can lie)."""
    wrong_digest: bool = False
    """The manifest names (and the archive stores the blob under) a digest the blob does not hash to."""
    wrong_diff_id: bool = False
    """The config's diff_id for this layer is not the digest of the uncompressed tar."""
    truncate: int | None = None
    """Store only the first N bytes of the blob (manifest digest and size still describe the whole)."""
    blob: bytes | None = None
    """Store these bytes as the blob instead of building one from `entries` (garbage, empty, ...)."""
    comment: str = ""


@dataclass
class ImageSpec:
    layers: list[Layer] = field(default_factory=list)
    env: list[str] = field(default_factory=lambda: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
    user: str = ""
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    volumes: list[str] = field(default_factory=list)
    exposed_ports: list[str] = field(default_factory=list)
    working_dir: str = ""
    extra_history: list[tuple[int, str]] = field(default_factory=list)
    """Empty-layer history entries: (position in the final history list, created_by)."""
    architecture: str = "amd64"
    os: str = "linux"
    variant: str = ""
    tag: str = "explorer-test:latest"
    """RepoTags entry (docker-archive); the part after the last `:` names the image in an OCI index."""
    ref_name: str | None = None
    """Override the OCI `org.opencontainers.image.ref.name` annotation (default: the tag part of `tag`)."""
    created: str = CREATED
    extra_config: dict = field(default_factory=dict)
    """Merged into the config's `config` object (Healthcheck, StopSignal, OnBuild, ...)."""

    @property
    def oci_ref_name(self) -> str:
        if self.ref_name is not None:
            return self.ref_name
        tail = self.tag.rsplit("/", 1)[-1]
        return tail.rsplit(":", 1)[-1] if ":" in tail else "latest"


# -- building blobs --------------------------------------------------------------------------------

def layer_tar(entries: Iterable[Entry]) -> bytes:
    """The uncompressed layer tar, members in the order given."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            info = entry.tarinfo()
            tar.addfile(info, io.BytesIO(entry.data) if info.size else None)
    return buf.getvalue()


def compress(data: bytes, compression: str) -> bytes:
    if compression == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if compression == "zstd":
        return zstandard.ZstdCompressor(level=3).compress(data)
    if compression == "none":
        return data
    raise ValueError(f"unknown compression {compression!r}")


@dataclass(frozen=True)
class BuiltLayer:
    stored: bytes
    """The bytes written to the archive (possibly truncated)."""
    digest: str
    """The digest the manifest states."""
    size: int
    """The size the manifest states."""
    diff_id: str
    """The diff_id the config states."""
    media_type: str
    true_digest: str
    true_diff_id: str


def build_layer(layer: Layer) -> BuiltLayer:
    if layer.blob is not None:
        tar = layer.blob
        blob = layer.blob
    else:
        tar = layer_tar(layer.entries)
        blob = compress(tar, layer.compression)
    true_digest, true_diff_id = _sha(blob), _sha(tar)
    stored = blob if layer.truncate is None else blob[: layer.truncate]
    return BuiltLayer(
        stored=stored,
        digest=_wrong(true_digest) if layer.wrong_digest else true_digest,
        size=len(blob),
        diff_id=_wrong(true_diff_id) if layer.wrong_diff_id else true_diff_id,
        media_type=layer.media_type or OCI_LAYER.get(layer.compression, OCI_LAYER["none"]),
        true_digest=true_digest,
        true_diff_id=true_diff_id,
    )


def _json(doc) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def config_json(spec: ImageSpec, built: Sequence[BuiltLayer]) -> bytes:
    history = [{"created": spec.created, "created_by": layer.created_by, **({"comment": layer.comment} if layer.comment else {})}
               for layer in spec.layers]
    for position, text in sorted(spec.extra_history, key=lambda item: item[0]):
        history.insert(position, {"created": spec.created, "created_by": text, "empty_layer": True})
    cfg: dict = {"Env": list(spec.env)}
    if spec.user:
        cfg["User"] = spec.user
    if spec.entrypoint is not None:
        cfg["Entrypoint"] = list(spec.entrypoint)
    if spec.cmd is not None:
        cfg["Cmd"] = list(spec.cmd)
    if spec.labels:
        cfg["Labels"] = dict(spec.labels)
    if spec.volumes:
        cfg["Volumes"] = {v: {} for v in spec.volumes}
    if spec.exposed_ports:
        cfg["ExposedPorts"] = {p: {} for p in spec.exposed_ports}
    if spec.working_dir:
        cfg["WorkingDir"] = spec.working_dir
    cfg.update(spec.extra_config)
    doc = {
        "architecture": spec.architecture,
        "os": spec.os,
        "created": spec.created,
        "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": [b.diff_id for b in built]},
        "history": history,
    }
    if spec.variant:
        doc["variant"] = spec.variant
    return _json(doc)


def _platform(spec: ImageSpec) -> dict:
    plat = {"architecture": spec.architecture, "os": spec.os}
    if spec.variant:
        plat["variant"] = spec.variant
    return plat


@dataclass
class _Image:
    spec: ImageSpec
    layers: list[BuiltLayer]
    config: bytes
    manifest: bytes

    @property
    def config_digest(self) -> str:
        return _sha(self.config)


def _build(spec: ImageSpec) -> _Image:
    layers = [build_layer(layer) for layer in spec.layers]
    config = config_json(spec, layers)
    manifest = _json({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": _sha(config), "size": len(config)},
        "layers": [{"mediaType": b.media_type, "digest": b.digest, "size": b.size} for b in layers],
    })
    return _Image(spec, layers, config, manifest)


def _blob_path(digest: str) -> str:
    return "blobs/" + digest.replace(":", "/", 1)


def _descriptor(image: _Image, with_platform: bool) -> dict:
    desc = {"mediaType": OCI_MANIFEST, "digest": _sha(image.manifest), "size": len(image.manifest),
            "annotations": {REF_NAME: image.spec.oci_ref_name}}
    if with_platform:
        desc["platform"] = _platform(image.spec)
    return desc


# -- layouts ---------------------------------------------------------------------------------------

def _oci_files(images: list[_Image], nest_index: bool, docker: bool = False) -> dict[str, bytes]:
    files: dict[str, bytes] = {"oci-layout": _json({"imageLayoutVersion": "1.0.0"})}
    for image in images:
        files[_blob_path(image.config_digest)] = image.config
        files[_blob_path(_sha(image.manifest))] = image.manifest
        for b in image.layers:
            files[_blob_path(b.digest)] = b.stored
    multi = len(images) > 1
    descriptors = [_descriptor(image, with_platform=multi or nest_index) for image in images]
    if docker:
        for image, desc in zip(images, descriptors):
            desc["annotations"]["io.containerd.image.name"] = image.spec.tag
    if nest_index:
        for d in descriptors:
            d.pop("annotations", None)
        inner = _json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors})
        files[_blob_path(_sha(inner))] = inner
        descriptors = [{"mediaType": OCI_INDEX, "digest": _sha(inner), "size": len(inner),
                        "annotations": {REF_NAME: images[0].spec.oci_ref_name}}]
    files["index.json"] = _json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors})
    return files


def _docker_files(images: list[_Image]) -> dict[str, bytes]:
    """Docker >= 25 `docker save`: an OCI layout plus manifest.json and repositories."""
    files = _oci_files(images, nest_index=False, docker=True)
    manifest = [{
        "Config": _blob_path(image.config_digest),
        "RepoTags": [image.spec.tag] if image.spec.tag else None,
        "Layers": [_blob_path(b.digest) for b in image.layers],
    } for image in images]
    files["manifest.json"] = _json(manifest)
    files["repositories"] = _json(_repositories(images, lambda image: image.layers[-1].true_diff_id[7:]))
    return files


def _repositories(images: list[_Image], top_id) -> dict:
    repos: dict[str, dict[str, str]] = {}
    for image in images:
        if image.spec.tag and image.layers:
            repo, _, tag = image.spec.tag.rpartition(":")
            repos.setdefault(repo or image.spec.tag, {})[tag or "latest"] = top_id(image)
    return repos


def _legacy_ids(image: _Image) -> list[str]:
    ids, parent = [], ""
    for b in image.layers:
        parent = hashlib.sha256(f"{parent}\n{b.true_diff_id}".encode()).hexdigest()
        ids.append(parent)
    return ids


def _legacy_files(images: list[_Image]) -> dict[str, bytes]:
    """Pre-25 `docker save`: `<id>/layer.tar`, `<id>/json`, `<config hex>.json`, manifest.json."""
    files: dict[str, bytes] = {}
    manifest = []
    for image in images:
        cfg_name = image.config_digest[7:] + ".json"
        files[cfg_name] = image.config
        ids = _legacy_ids(image)
        for i, (layer_id, b) in enumerate(zip(ids, image.layers)):
            files[f"{layer_id}/layer.tar"] = b.stored
            files[f"{layer_id}/VERSION"] = b"1.0"
            meta = {"id": layer_id, "created": image.spec.created}
            if i:
                meta["parent"] = ids[i - 1]
            files[f"{layer_id}/json"] = _json(meta)
        manifest.append({"Config": cfg_name, "RepoTags": [image.spec.tag] if image.spec.tag else None,
                         "Layers": [f"{layer_id}/layer.tar" for layer_id in ids]})
    files["manifest.json"] = _json(manifest)
    files["repositories"] = _json(_repositories(images, lambda image: _legacy_ids(image)[-1]))
    return files


def _write_tar(files: dict[str, bytes], path: str) -> None:
    dirs = set()
    for name in files:
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]) + "/")
    with open(path, "wb") as fh, tarfile.open(fileobj=fh, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(set(files) | dirs):
            info = tarfile.TarInfo(name)
            info.mtime = MTIME
            if name in dirs:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.mode = 0o644
                info.size = len(files[name])
                tar.addfile(info, io.BytesIO(files[name]))


def _write_dir(files: dict[str, bytes], path: str) -> None:
    os.makedirs(path, exist_ok=True)
    for name in sorted(files):
        full = os.path.join(path, *name.split("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as fh:
            fh.write(files[name])


def write_image(spec: ImageSpec | Sequence[ImageSpec], path: str | os.PathLike, format: str = "docker-archive", *,
                nest_index: bool = False, extra_files: dict[str, bytes] | None = None) -> str:
    """Write one image (or several: a multi-image archive / multi-platform index) and return `path`.

    `nest_index` (OCI formats): index.json points to a nested image index that lists the manifests
    with their platforms, as `docker buildx` and `skopeo copy --all` write them.
    `extra_files`: archive members added or replaced verbatim (e.g. a broken manifest.json).
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    specs = [spec] if isinstance(spec, ImageSpec) else list(spec)
    if not specs:
        raise ValueError("no image to write")
    images = [_build(s) for s in specs]
    if format == "docker-archive":
        files = _docker_files(images)
    elif format == "docker-archive-legacy":
        files = _legacy_files(images)
    else:
        files = _oci_files(images, nest_index)
    files.update(extra_files or {})
    path = os.fspath(path)
    if format == "oci":
        _write_dir(files, path)
    else:
        _write_tar(files, path)
    return path
