"""`containerd-root:DIR[:NAME]`: the images of a containerd root (`/var/lib/containerd`) read offline.

A first step: images only. Their names come from the metadata database
(`io.containerd.metadata.v1.bolt/meta.db`, bucket `v1/NAMESPACE/images/NAME/target`), their manifests,
configs and layer blobs from the content store (`io.containerd.content.v1.content/blobs/sha256/…`, laid out
as an OCI layout's blobs). A layer blob the node discarded after unpacking is reported missing. Containers
(their overlayfs snapshots) are not read yet. Everything is read through `docker_root.Evidence`: read-only,
no symlink followed, O_NOATIME, listed in the audit log.
"""

from __future__ import annotations

import json
import os
from typing import BinaryIO

from explorer.core.errors import SourceError
from explorer.sources.base import ImageSource, listing
from explorer.sources.boltdb import Bolt
from explorer.sources.docker_root import Evidence
from explorer.sources.oci import INDEX_TYPES, choose_manifest, open_manifest

META = "io.containerd.metadata.v1.bolt/meta.db"
CONTENT = "io.containerd.content.v1.content"


class EvidenceStore:
    """A BlobStore over a folder of the evidence (the content store)."""

    def __init__(self, evidence: Evidence, folder: str, description: str):
        self.evidence, self.folder, self.description = evidence, folder, description

    def _rel(self, name: str) -> str:
        return f"{self.folder}/{name.lstrip('/')}"

    def exists(self, name: str) -> bool:
        return self.evidence.exists(self._rel(name))

    def size(self, name: str) -> int:
        try:
            return self.evidence.lstat(self._rel(name)).st_size
        except OSError as exc:
            raise SourceError(f"{self.description}: blob {name!r}: {exc.strerror}") from None

    def open(self, name: str) -> BinaryIO:
        return self.evidence.open(self._rel(name))

    def close(self) -> None:
        pass


def images(evidence: Evidence) -> dict[str, dict]:
    """`NAMESPACE/NAME` → target descriptor {digest, mediaType, size}, from the metadata database."""
    try:
        size = evidence.lstat(META).st_size
    except OSError:
        raise SourceError(f"{evidence.root}: not a containerd root (no {META})") from None
    out = {}
    with evidence.open(META) as fh:
        db = Bolt(fh, size, f"{evidence.root}/{META}")
        for namespace in db.buckets(b"v1"):
            for name in db.buckets(b"v1", namespace, b"images"):
                target = db.values(b"v1", namespace, b"images", name, b"target")
                digest = target.get(b"digest", b"").decode("utf-8", "replace")
                if digest:
                    key = f"{namespace.decode('utf-8', 'replace')}/{name.decode('utf-8', 'replace')}"
                    out[key] = {"digest": digest, "mediaType": target.get(b"mediatype", b"").decode("utf-8", "replace")}
    return out


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


def open_containerd_root(arg: str, platform: str | None = None, audit_log: str | None = None) -> ImageSource:
    """`DIR`, `DIR:NAME` (`NAMESPACE/NAME` when two namespaces hold it)."""
    from explorer.sources.base import split_existing
    path, ref = split_existing(arg)
    if not os.path.isdir(path):
        raise SourceError(f"containerd-root:{path}: no such folder")
    evidence = Evidence(path, audit_log)
    known = images(evidence)
    reference = f"containerd-root:{arg}"
    if ref is None:
        raise SourceError(f"{reference}: choose an image with containerd-root:DIR:NAME (images: {listing(sorted(known))})")
    wanted = {ref, normalised(ref)}
    found = [k for k in known if k in wanted or k.split("/", 1)[1] in wanted]
    if len(found) != 1:
        what = "no such image" if not found else f"{len(found)} namespaces hold it ({listing(found)})"
        raise SourceError(f"{reference}: {what} (images: {listing(sorted(known))})")
    target = known[found[0]]
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
