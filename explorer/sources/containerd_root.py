"""`containerd-root:DIR[:NAME|:container:ID]`: a containerd root (`/var/lib/containerd`) read offline.

Images: their names come from the metadata database (`io.containerd.metadata.v1.bolt/meta.db`, bucket
`v1/NAMESPACE/images/NAME/target`), their manifests, configs and layer blobs from the content store
(`io.containerd.content.v1.content/blobs/sha256/…`, laid out as an OCI layout's blobs). A layer blob the
node discarded after unpacking is reported missing.

Containers (the second step, `containerd-root:DIR:container:ID`; overlayfs snapshotter only): the
container's record (`v1/NAMESPACE/containers/ID`: image, snapshotter, snapshot key, OCI spec) names its
active snapshot; the metadata database maps that key to the snapshotter's own key
(`v1/NAMESPACE/snapshots/overlayfs/KEY/name`), the snapshotter's database
(`io.containerd.snapshotter.v1.overlayfs/metadata.db`, `v1/snapshots/NAME/id`) to a folder number, and
`snapshots/N/fs` is the container's upper folder, walked as a Docker overlay2 upper folder is (whiteouts
are character devices 0/0, opaque folders carry the xattr). The container's image plus that folder as
the "runtime changes" top layer; the config view shows the spec's command, env, bind mounts, host
namespaces and capabilities beyond the default set (as HostConfig fields the detectors read).

Everything is read through `docker_root.Evidence`: read-only, no symlink followed, O_NOATIME, listed in
the audit log.
"""

from __future__ import annotations

import datetime
import io
import json
import os
from typing import BinaryIO

from explorer.core.errors import SourceError
from explorer.sources.base import ImageSource, listing
from explorer.sources.boltdb import Bolt
from explorer.sources.container import ChunkReader, add_runtime_layer
from explorer.sources.docker_root import CHUNK, Evidence, bare_root, folder_stream
from explorer.sources.oci import INDEX_TYPES, choose_manifest, open_manifest

META = "io.containerd.metadata.v1.bolt/meta.db"
CONTENT = "io.containerd.content.v1.content"
OVERLAYFS = "io.containerd.snapshotter.v1.overlayfs"
MAX_MANIFEST = 4 * 1024 * 1024
DEFAULT_CAPS = frozenset({"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
                          "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
                          "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"})
"""containerd's (and Docker's) default capability set: any other in the bounding set was added."""


class EvidenceStore:
    """A BlobStore over a folder of the evidence (the content store)."""

    def __init__(self, evidence: Evidence, folder: str, description: str):
        self.evidence, self.folder, self.description = evidence, folder, description

    def _rel(self, name: str) -> str:
        return f"{self.folder}/{name.lstrip('/')}"

    def exists(self, name: str) -> bool:
        if name.startswith("upper/"):
            return self.evidence.exists(f"{OVERLAYFS}/snapshots/{name[len('upper/'):]}/fs")
        return self.evidence.exists(self._rel(name))

    def size(self, name: str) -> int:
        if name.startswith("upper/"):
            return 0
        try:
            return self.evidence.lstat(self._rel(name)).st_size
        except OSError as exc:
            raise SourceError(f"{self.description}: blob {name!r}: {exc.strerror}") from None

    def open(self, name: str) -> BinaryIO:
        if name.startswith("upper/"):  # a container's overlayfs upper folder, as a layer tar
            chunks = folder_stream(self.evidence, f"{OVERLAYFS}/snapshots/{name[len('upper/'):]}/fs")
            return io.BufferedReader(ChunkReader(chunks), CHUNK)
        return self.evidence.open(self._rel(name))

    def close(self) -> None:
        pass


def _metadata(evidence: Evidence) -> Bolt:
    try:
        size = evidence.lstat(META).st_size
    except OSError:
        raise SourceError(f"{evidence.root}: not a containerd root (no {META})") from None
    return Bolt(evidence.open(META), size, f"{evidence.root}/{META}")


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def images(evidence: Evidence) -> dict[str, dict]:
    """`NAMESPACE/NAME` → target descriptor {digest, mediaType}, from the metadata database."""
    out = {}
    db = _metadata(evidence)
    with db.fh:
        for namespace in db.buckets(b"v1"):
            for name in db.buckets(b"v1", namespace, b"images"):
                target = db.values(b"v1", namespace, b"images", name, b"target")
                digest = _text(target.get(b"digest", b""))
                if digest:
                    out[f"{_text(namespace)}/{_text(name)}"] = {"digest": digest,
                                                                 "mediaType": _text(target.get(b"mediatype", b""))}
    return out


def containers(evidence: Evidence) -> dict[str, dict]:
    """`NAMESPACE/ID` → {image, snapshotter, snapshot (its key), spec (the OCI spec's JSON bytes, or
    b"")}, from the metadata database."""
    out = {}
    db = _metadata(evidence)
    with db.fh:
        for namespace in db.buckets(b"v1"):
            for cid in db.buckets(b"v1", namespace, b"containers"):
                doc = db.values(b"v1", namespace, b"containers", cid)
                out[f"{_text(namespace)}/{_text(cid)}"] = {
                    "image": _text(doc.get(b"image", b"")), "snapshotter": _text(doc.get(b"snapshotter", b"")),
                    "snapshot": doc.get(b"snapshotKey", b""), "spec": _any_value(doc.get(b"spec", b""))}
    return out


def snapshot_name(evidence: Evidence, namespace: str, snapshotter: str, key: bytes) -> bytes:
    """The snapshotter's own key of a snapshot (`NAMESPACE/N/KEY`), from the metadata database."""
    db = _metadata(evidence)
    with db.fh:
        return db.values(b"v1", namespace.encode(), b"snapshots", snapshotter.encode(), key).get(b"name", b"")


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while at < len(data):
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at
    raise ValueError("truncated varint")


def _any_value(data: bytes) -> bytes:
    """The `value` (field 2) of a protobuf `Any` (containerd stores the OCI spec as one, its value JSON)."""
    at = 0
    try:
        while at < len(data):
            tag, at = _varint(data, at)
            if tag & 7 != 2:  # every field of an Any is length-delimited
                return b""
            length, at = _varint(data, at)
            if tag >> 3 == 2:
                return data[at:at + length]
            at += length
    except ValueError:
        pass
    return b""


def upper_folder(evidence: Evidence, name: bytes) -> str:
    """The overlayfs snapshot folder number of a snapshotter key, from the snapshotter's database."""
    rel = f"{OVERLAYFS}/metadata.db"
    try:
        size = evidence.lstat(rel).st_size
    except OSError:
        raise SourceError(f"{evidence.root}: no {rel} (the overlayfs snapshotter's database)") from None
    with evidence.open(rel) as fh:
        raw = Bolt(fh, size, f"{evidence.root}/{rel}").values(b"v1", b"snapshots", name).get(b"id", b"")
    try:
        number, _ = _varint(raw, 0)
    except ValueError:
        raise SourceError(f"{evidence.root}/{rel}: snapshot {_text(name)!r} has no id") from None
    return str(number)


def container_attrs(cid: str, spec_raw: bytes) -> dict:
    """What `docker inspect` would show of a containerd container, from its OCI spec: command, env,
    working folder and user (Config), bind mounts (Mounts), host namespaces and added capabilities
    (HostConfig). A spec that is not JSON gives an empty config."""
    try:
        spec = json.loads(spec_raw) if spec_raw else {}
    except ValueError:
        spec = {}
    spec = spec if isinstance(spec, dict) else {}
    process = spec.get("process") if isinstance(spec.get("process"), dict) else {}
    user = process.get("user") if isinstance(process.get("user"), dict) else {}
    config = {"Cmd": process.get("args") or [], "Env": process.get("env") or [],
              "WorkingDir": str(process.get("cwd") or ""),
              "User": f"{user.get('uid', 0)}:{user.get('gid', 0)}" if user else ""}
    mounts = [{"Type": "bind", "Source": str(m.get("source") or ""), "Destination": str(m.get("destination") or ""),
               "RW": "ro" not in (m.get("options") or []), "Name": ""}
              for m in spec.get("mounts") or () if isinstance(m, dict) and m.get("type") == "bind"]
    linux = spec.get("linux") if isinstance(spec.get("linux"), dict) else {}
    own = {str(n.get("type")) for n in linux.get("namespaces") or () if isinstance(n, dict)}
    host = {key: "host" for key, ns in (("PidMode", "pid"), ("NetworkMode", "network"), ("IpcMode", "ipc"),
                                        ("UTSMode", "uts")) if linux and ns not in own}
    caps = process.get("capabilities") if isinstance(process.get("capabilities"), dict) else {}
    added = sorted({str(c) for c in caps.get("bounding") or ()} - DEFAULT_CAPS)
    if added:
        host["CapAdd"] = added
    name = cid.split("/", 1)[-1]
    return {"Id": name, "Name": "/" + name, "Config": config, "HostConfig": host,
            "Mounts": sorted(mounts, key=str), "State": {}}


def _time(raw: bytes) -> str:
    """A Go `time.Time` as containerd stores it (MarshalBinary: version 1, seconds since year 1, nanoseconds,
    zone offset) in ISO 8601 UTC; "" when it is not one."""
    if len(raw) < 15 or raw[0] != 1:
        return ""
    seconds = int.from_bytes(raw[1:9], "big", signed=True) - 62135596800
    try:
        return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return ""


def catalogue(evidence: Evidence) -> dict:
    """What the root holds, for `explorer layers containerd-root:DIR`, in the shape of a Docker data root's
    catalogue: images (the target's digest as id, the name as tag, layers of a manifest, created) and
    containers (id, name, image, snapshotter, created). A container's state (running or not) lives in
    containerd's state folder, not its root: "unknown". Small metadata only; no layer is read."""
    db = _metadata(evidence)
    found_images, found_containers = [], []
    with db.fh:
        for namespace in db.buckets(b"v1"):
            ns = _text(namespace)
            for name in db.buckets(b"v1", namespace, b"images"):
                target = db.values(b"v1", namespace, b"images", name, b"target")
                created = _time(db.values(b"v1", namespace, b"images", name).get(b"createdat", b""))
                found_images.append({"id": _text(target.get(b"digest", b"")), "tags": [f"{ns}/{_text(name)}"],
                                     "media_type": _text(target.get(b"mediatype", b"")), "created": created})
            for cid in db.buckets(b"v1", namespace, b"containers"):
                doc = db.values(b"v1", namespace, b"containers", cid)
                image = f"{ns}/{_text(doc.get(b'image', b''))}"
                found_containers.append({
                    "id": f"{ns}/{_text(cid)}", "name": _text(cid), "image": image, "image_tags": [image],
                    "snapshotter": _text(doc.get(b"snapshotter", b"")), "created": _time(doc.get(b"createdat", b"")),
                    "state": "unknown", "exit_code": None})
    store = EvidenceStore(evidence, CONTENT, f"containerd-root:{evidence.root}")
    for image in found_images:
        image["layers"] = _layer_count(store, image)
    return {"root": evidence.root, "driver": "containerd", "images": sorted(found_images, key=lambda i: i["tags"]),
            "containers": sorted(found_containers, key=lambda c: c["id"])}


def _layer_count(store: EvidenceStore, image: dict) -> int | None:
    """The layers of an image whose target is a manifest (None for an index, or a blob not there)."""
    from explorer.sources.oci import blob_name
    if image["media_type"] in INDEX_TYPES or not image["id"].startswith("sha256:"):
        return None
    try:
        with store.open(blob_name(image["id"], store.description)) as fh:
            doc = json.loads(fh.read(MAX_MANIFEST))
    except (SourceError, OSError, ValueError):
        return None
    layers = doc.get("layers") if isinstance(doc, dict) else None
    return len(layers) if isinstance(layers, list) else None


def containerd_root_catalogue(arg: str, audit_log: str | None = None) -> dict | None:
    """`DIR` (no NAME): what the root holds (`catalogue`); None when `arg` names an image or container."""
    evidence = bare_root(arg, "containerd-root", audit_log)
    return None if evidence is None else catalogue(evidence)


def normalised(ref: str) -> str:
    """A reference as containerd stores it: `busybox` → `docker.io/library/busybox:latest`."""
    name, _, digest = ref.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and not digest:
        name += ":latest"
    first = name.split("/", 1)[0]
    if "/" not in name:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    return name + (f"@{digest}" if digest else "")


def _pick(known, wanted: set[str], what: str, reference: str) -> str:
    found = [k for k in known if k in wanted or k.split("/", 1)[1] in wanted]
    if len(found) != 1:
        why = f"no such {what}" if not found else f"{len(found)} namespaces hold it ({listing(found)})"
        raise SourceError(f"{reference}: {why} ({what}s: {listing(sorted(known))})")
    return found[0]


def _open_image(evidence: Evidence, target: dict, reference: str, platform: str | None) -> ImageSource:
    store = EvidenceStore(evidence, CONTENT, reference)
    if target["mediaType"] in INDEX_TYPES:
        from explorer.sources.base import load_json
        from explorer.sources.oci import blob_name
        index, _raw = load_json(store, blob_name(target["digest"], reference), "index")
        if not isinstance(index, dict):
            raise SourceError(f"{reference}: the image index is not a JSON object")
        desc = choose_manifest(store, index, None, platform)
    else:
        desc = target
    source = open_manifest(store, desc, reference, "containerd-root")
    source.documents["target"] = json.dumps(target).encode()
    return source


def _open_container(evidence: Evidence, key: str, record: dict, reference: str,
                    platform: str | None) -> ImageSource:
    if record["snapshotter"] != "overlayfs":
        raise SourceError(f"{reference}: container {key} uses the {record['snapshotter'] or 'unknown'} "
                          "snapshotter; only overlayfs is read")
    namespace = key.split("/", 1)[0]
    name = snapshot_name(evidence, namespace, record["snapshotter"], record["snapshot"]) if record["snapshot"] else b""
    if not name:
        raise SourceError(f"{reference}: container {key}: its snapshot {_text(record['snapshot'])!r} is not in "
                          "the metadata database")
    known = images(evidence)
    image_key = f"{namespace}/{record['image']}"
    if image_key not in known:
        raise SourceError(f"{reference}: container {key}: its image {record['image']!r} is not in the root")
    image = _open_image(evidence, known[image_key], reference, platform)
    folder = upper_folder(evidence, name)
    attrs = container_attrs(key, record["spec"])
    attrs["Image"] = record["image"]
    return add_runtime_layer(image, image.store, f"upper/{folder}", None, 0, attrs, attrs["Name"][1:],
                             "containerd-root", reference, [])


def open_containerd_root(arg: str, platform: str | None = None, audit_log: str | None = None) -> ImageSource:
    """`DIR:NAME`, `DIR:container:ID` (`NAMESPACE/NAME`, `NAMESPACE/ID` when two namespaces hold it)."""
    from explorer.sources.base import split_existing
    path, ref = split_existing(arg)
    if not os.path.isdir(path):
        raise SourceError(f"containerd-root:{path}: no such folder")
    evidence = Evidence(path, audit_log)
    reference = f"containerd-root:{arg}"
    if ref is not None and ref.startswith("container:"):
        held = containers(evidence)
        key = _pick(held, {ref[len("container:"):]}, "container", reference)
        return _open_container(evidence, key, held[key], reference, platform)
    known = images(evidence)
    if ref is None:
        held = listing(f"container:{k}" for k in sorted(containers(evidence)))
        raise SourceError(f"{reference}: choose an image with containerd-root:DIR:NAME or a container with "
                          f"containerd-root:DIR:container:ID (images: {listing(sorted(known))}; containers: {held})")
    key = _pick(known, {ref, normalised(ref)}, "image", reference)
    return _open_image(evidence, known[key], reference, platform)
