"""docker-archive: `docker save` (legacy and the OCI-flavoured Docker >= 25 form), `podman save`, kaniko tars."""

from __future__ import annotations

import re

from explorer.core.errors import SourceError
from explorer.sources.base import (DOCKER_LAYER_GZIP, DOCKER_LAYER_TAR, ImageSource, listing, load_json,
                                   make_layer_refs, parse_config)
from explorer.sources.blobstore import BlobStore, read_small
from explorer.sources.oci import INDEX_TYPES, blob_name, check_layer_cap, check_layer_count

_BLOB_PATH = re.compile(r"^blobs/(sha256)/([0-9a-f]{64})$")
_HEX_NAME = re.compile(r"^(?:sha256:)?([0-9a-f]{64})(?:\.tar\.gz|\.tgz)$")


def _tag_matches(repo_tags: list[str], tag: str) -> bool:
    for t in repo_tags:
        if t == tag or t.rsplit(":", 1)[-1] == tag or t.rsplit("/", 1)[-1] == tag:
            return True
    return False


def _media_types_from_index(store: BlobStore, config_digest: str) -> dict[str, str]:
    """Docker >= 25 writes an OCI index beside manifest.json; it knows each layer's media type."""
    if not store.exists("index.json"):
        return {}
    try:
        index, _ = load_json(store, "index.json", "index")
        stack = list(index.get("manifests") or [])
        seen = 0
        while stack and seen < 64:
            seen += 1
            desc = stack.pop()
            name = blob_name(desc.get("digest", ""), store.description)
            if not store.exists(name):
                continue
            doc, _ = load_json(store, name, "manifest")
            if isinstance(desc.get("mediaType"), str) and desc["mediaType"] in INDEX_TYPES:
                stack.extend(doc.get("manifests") or [])
                continue
            if (doc.get("config") or {}).get("digest") == config_digest:
                return {str(d.get("digest")): str(d.get("mediaType", "")) for d in doc.get("layers") or []}
    except (SourceError, AttributeError, TypeError):
        return {}
    return {}


def _repo_tags(entry: dict) -> list[str]:
    tags = entry.get("RepoTags")
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def open_docker_archive(store: BlobStore, reference: str, tag: str | None, kind: str = "docker-archive") -> ImageSource:
    manifest, manifest_raw = load_json(store, "manifest.json", "manifest.json")
    if not isinstance(manifest, list) or not manifest or not all(isinstance(m, dict) for m in manifest):
        raise SourceError(f"{store.description}: manifest.json does not list any image")
    entries = manifest
    if tag:
        entries = [m for m in manifest if _tag_matches(_repo_tags(m), tag)]
        if not entries:
            tags = sorted({t for m in manifest for t in _repo_tags(m)})
            raise SourceError(f"{store.description}: no image tagged {tag!r} (tags: {listing(tags)})")
    if len(entries) > 1:
        names = listing((",".join(_repo_tags(m)) or str(m.get("Config", "?"))[:19] for m in entries), "; ")
        raise SourceError(f"{store.description}: holds {len(entries)} images ({names}); choose one with :TAG")
    entry = entries[0]
    cfg_name = str(entry.get("Config") or "")
    if not cfg_name:
        raise SourceError(f"{store.description}: manifest.json names no config")
    config_raw = read_small(store, cfg_name, "config")
    config = parse_config(config_raw, store.description)
    media_types = _media_types_from_index(store, config.id)
    layers = entry.get("Layers") or []
    if not isinstance(layers, list):
        raise SourceError(f"{store.description}: manifest.json Layers is not a list")
    check_layer_cap(len(layers), store.description)
    blobs = []
    for name in layers:
        name = str(name)
        if not store.exists(name):
            raise SourceError(f"{store.description}: layer {name!r} named in manifest.json is missing")
        digest = None
        m = _BLOB_PATH.match(name) or _HEX_NAME.match(name.rsplit("/", 1)[-1])
        if m:
            digest = "sha256:" + m.groups()[-1]
        media_type = media_types.get(digest or "", "")
        if not media_type:
            media_type = DOCKER_LAYER_GZIP if name.endswith((".gz", ".tgz")) else DOCKER_LAYER_TAR
        blobs.append((name, digest, media_type, store.size(name)))
    check_layer_count(config, len(blobs), store.description)
    documents = {"manifest": manifest_raw, "config": config_raw}
    try:
        if store.exists("index.json"):
            documents["index"] = read_small(store, "index.json", "index")
    except SourceError:
        pass  # only shown in the config view; _media_types_from_index judged it already
    return ImageSource(reference=reference, kind=kind, store=store, config=config,
                       layers=make_layer_refs(config, blobs), documents=documents)
