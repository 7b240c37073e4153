"""OCI image layouts (folders and oci-archive tars), and index/platform selection."""

from __future__ import annotations

import re

from explorer.core.errors import SourceError
from explorer.core.limits import MAX_INDEX_MANIFESTS, MAX_LAYERS
from explorer.sources.base import ImageSource, listing, load_json, make_layer_refs, parse_config
from explorer.sources.blobstore import BlobStore, read_small

INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
REF_NAME = "org.opencontainers.image.ref.name"
_DIGEST = re.compile(r"^(sha256|sha512):([0-9a-f]{32,128})$")


def blob_name(digest: str, description: str) -> str:
    m = _DIGEST.match(str(digest))
    if not m:
        raise SourceError(f"{description}: invalid digest {digest!r}")
    return f"blobs/{m.group(1)}/{m.group(2)}"


def _platform_of(desc: dict) -> str:
    plat = desc.get("platform")
    if not isinstance(plat, dict) or not plat.get("os"):
        return ""
    text = f"{plat.get('os')}/{plat.get('architecture', '')}"
    if plat.get("variant"):
        text += f"/{plat['variant']}"
    return text


def _annotations(desc: dict) -> dict:
    ann = desc.get("annotations")
    if ann is None:
        return {}
    if not isinstance(ann, dict):
        raise SourceError(f"index: descriptor annotations of {str(desc.get('digest'))[:80]!r} are not an object")
    return ann


def _is_index(desc: dict) -> bool:
    media = desc.get("mediaType")
    if media is not None and not isinstance(media, str):
        raise SourceError(f"index: descriptor mediaType of {str(desc.get('digest'))[:80]!r} is not a string")
    return media in INDEX_TYPES


def _is_attestation(desc: dict) -> bool:
    ann = _annotations(desc)
    return ann.get("vnd.docker.reference.type") == "attestation-manifest" or _platform_of(desc) == "unknown/unknown"


def _platform_matches(have: str, want: str) -> bool:
    if not want:
        return True
    h, w = have.split("/"), want.split("/")
    return h[: len(w)] == w


class _Walk:
    """What a walk of an index and its nested indexes has met (each nested index is read once)."""

    def __init__(self, store: BlobStore):
        self.store = store
        self.descriptors = 0
        self.expanded: set[tuple[str, str]] = set()
        self.path: list[str] = []
        """The nested indexes being read, outermost first."""


def _collect(walk: _Walk, doc: dict, depth: int, inherited_tag: str) -> list[tuple[dict, str]]:
    """All image manifest descriptors below an index, with the tag that names them."""
    store = walk.store
    if depth > 4:
        raise SourceError(f"{store.description}: image index nested too deeply")
    out = []
    manifests = doc.get("manifests")
    if not isinstance(manifests, list):
        raise SourceError(f"{store.description}: index has no manifests list")
    for desc in manifests:
        walk.descriptors += 1
        if walk.descriptors > MAX_INDEX_MANIFESTS:
            raise SourceError(f"{store.description}: the image index and the indexes nested in it list more than "
                              f"{MAX_INDEX_MANIFESTS} manifests; not a real image index")
        if not isinstance(desc, dict):
            continue
        tag = str(_annotations(desc).get(REF_NAME) or inherited_tag)
        if _is_index(desc):
            name = blob_name(desc.get("digest", ""), store.description)
            if name in walk.path:
                raise SourceError(f"{store.description}: image index nested too deeply (it lists itself)")
            if (name, tag) in walk.expanded:
                continue  # listed again (a DAG): its manifests are collected already
            walk.expanded.add((name, tag))
            sub, _ = load_json(store, name, "nested index")
            if isinstance(sub, dict):
                walk.path.append(name)
                out.extend(_collect(walk, sub, depth + 1, tag))
                walk.path.pop()
        elif not _is_attestation(desc):
            out.append((desc, tag))
    return out


def _unique(candidates: list[tuple[dict, str]]) -> list[tuple[dict, str]]:
    """The same manifest listed twice under one tag and platform is one choice."""
    seen, out = set(), []
    for desc, tag in candidates:
        key = (str(desc.get("digest")), tag, _platform_of(desc))
        if key not in seen:
            seen.add(key)
            out.append((desc, tag))
    return out


def _describe(desc: dict, tag: str) -> str:
    parts = [p for p in (tag and f":{tag}", _platform_of(desc)) if p]
    return " ".join(parts) or str(desc.get("digest", "?"))[:19]


def choose_manifest(store: BlobStore, index: dict, tag: str | None, platform: str | None) -> dict:
    """Pick one image manifest from an index by tag and platform, or say which choices exist."""
    candidates = _unique(_collect(_Walk(store), index, 0, ""))
    if not candidates:
        raise SourceError(f"{store.description}: the index lists no image manifests")
    if tag:
        tagged = [(d, t) for d, t in candidates if t == tag or t.endswith(":" + tag) or t.split(":")[-1] == tag]
        if not tagged:
            choices = listing(sorted({t for _, t in candidates if t}))
            raise SourceError(f"{store.description}: no image tagged {tag!r} (tags: {choices})")
        candidates = tagged
    if platform:
        matching = [(d, t) for d, t in candidates if _platform_matches(_platform_of(d), platform)]
        if not matching:
            choices = listing(sorted({_platform_of(d) for d, _ in candidates if _platform_of(d)}))
            raise SourceError(f"{store.description}: no image for platform {platform} (platforms: {choices})")
        candidates = matching
    if len(candidates) > 1:
        choices = listing((_describe(d, t) for d, t in candidates), "; ")
        hint = "--platform os/arch" if len({_platform_of(d) for d, _ in candidates}) > 1 else ":TAG"
        raise SourceError(f"{store.description}: holds {len(candidates)} images ({choices}); choose one with {hint}")
    return candidates[0][0]


def open_manifest(store: BlobStore, manifest_desc: dict, reference: str, kind: str) -> ImageSource:
    """Read an OCI/Docker v2 image manifest and its config from the store."""
    manifest, manifest_raw = load_json(store, blob_name(manifest_desc.get("digest", ""), store.description),
                                       "manifest")
    if not isinstance(manifest, dict) or not isinstance(manifest.get("config"), dict):
        raise SourceError(f"{store.description}: manifest has no config")
    cfg_name = blob_name(manifest["config"].get("digest", ""), store.description)
    config_raw = read_small(store, cfg_name, "config")
    config = parse_config(config_raw, store.description)
    blobs = []
    layers = manifest.get("layers") or []
    check_layer_cap(len(layers) if isinstance(layers, list) else 0, store.description)
    for desc in layers:
        if not isinstance(desc, dict):
            continue
        digest = str(desc.get("digest", ""))
        size = desc.get("size", 0)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise SourceError(f"{store.description}: manifest layer {digest[:80]!r} has an invalid size")
        blobs.append((blob_name(digest, store.description), digest, str(desc.get("mediaType", "")), size))
    check_layer_count(config, len(blobs), store.description)
    return ImageSource(reference=reference, kind=kind, store=store, config=config,
                       layers=make_layer_refs(config, blobs),
                       documents={"manifest": manifest_raw, "config": config_raw})


def check_layer_cap(count: int, description: str) -> None:
    if count > MAX_LAYERS:
        raise SourceError(f"{description}: manifest lists {count} layers, more than explorer reads ({MAX_LAYERS}; "
                          "Docker refuses more than 125)")


def check_layer_count(config, count: int, description: str) -> None:
    check_layer_cap(count, description)
    if config.diff_ids and len(config.diff_ids) != count:
        raise SourceError(
            f"{description}: manifest lists {count} layers but the config has {len(config.diff_ids)} diff_ids")


def open_oci(store: BlobStore, reference: str, kind: str, tag: str | None, platform: str | None) -> ImageSource:
    index, index_raw = load_json(store, "index.json", "index")
    if not isinstance(index, dict):
        raise SourceError(f"{store.description}: index.json is not a JSON object")
    desc = choose_manifest(store, index, tag, platform)
    source = open_manifest(store, desc, reference, kind)
    source.documents["index"] = index_raw
    return source
