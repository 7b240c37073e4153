"""What every source gives the rest of the program: a config, ordered layer refs, and blobs."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import BinaryIO, Callable

from explorer.core.errors import SourceError
from explorer.core.model import HistoryEntry, ImageConfig, LayerRef
from explorer.sources.blobstore import BlobStore, read_small

MEDIA_TAR = "application/vnd.oci.image.layer.v1.tar"
DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"


@dataclass
class ImageSource:
    """An opened image: its config, its layers in the order they are applied, and blob access."""

    reference: str
    kind: str
    """`docker-archive`, `oci`, `oci-archive`, `docker-daemon` or `registry`."""
    store: BlobStore
    config: ImageConfig
    layers: list[LayerRef]
    problems: list = field(default_factory=list)
    documents: dict[str, bytes] = field(default_factory=dict)
    """The raw JSON documents read to open the image, by role: `manifest`, `config`, `index` (when
    there is one), as stored; for the config view."""
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    def open_layer(self, layer: LayerRef) -> BinaryIO:
        return self.store.open(layer.blob)

    def close(self) -> None:
        self.store.close()
        for fn in reversed(self.cleanup):
            fn()
        self.cleanup.clear()

    def __enter__(self) -> "ImageSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def listing(items, sep: str = ", ", most: int = 12) -> str:
    """The choices an error names, at most `most` of them (an index may list thousands)."""
    items = list(items)
    text = sep.join(str(i)[:200] for i in items[:most]) or "none"
    return text + (f"{sep}… {len(items) - most} more" if len(items) > most else "")


def json_text(data: bytes) -> str:
    """A document's bytes as Docker's JSON decoder (Go's encoding/json) reads them: UTF-8, with each
    invalid byte taken as U+FFFD rather than refused."""
    return data.decode("utf-8", "replace")


def load_json(store: BlobStore, name: str, what: str) -> tuple[object, bytes]:
    data = read_small(store, name, what)
    try:
        return json.loads(json_text(data)), data
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"{store.description}: {what} {name!r} is not valid JSON ({exc})") from None
    except RecursionError:
        raise SourceError(f"{store.description}: {what} {name!r} is JSON nested too deeply") from None


def _strs(value) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    if isinstance(value, str):
        return (value,)
    return ()


def _typed(doc: dict, key: str, kind: type, description: str, name: str | None = None):
    """doc[key] when it has the right JSON type, an empty one when absent or null; else bad input."""
    value = doc.get(key)
    if value is None:
        return kind()
    if not isinstance(value, kind):
        what = "an object" if kind is dict else "a list"
        raise SourceError(f"{description}: image config field {name or key} is not {what}")
    return value


def parse_config(raw: bytes, description: str) -> ImageConfig:
    """Parse an image config blob (Docker or OCI; they share these fields)."""
    try:
        doc = json.loads(json_text(raw))
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceError(f"{description}: image config is not valid JSON ({exc})") from None
    except RecursionError:
        raise SourceError(f"{description}: image config is JSON nested too deeply") from None
    if not isinstance(doc, dict):
        raise SourceError(f"{description}: image config is not a JSON object")
    cfg = doc.get("config") or doc.get("container_config") or {}
    if not isinstance(cfg, dict):
        cfg = {}
    rootfs = _typed(doc, "rootfs", dict, description)
    raw_ids = _typed(rootfs, "diff_ids", list, description, "rootfs.diff_ids")
    diff_ids = tuple(str(d) for d in raw_ids)
    history = []
    layer = 0
    for item in _typed(doc, "history", list, description):
        if not isinstance(item, dict):
            continue
        empty = bool(item.get("empty_layer"))
        history.append(HistoryEntry(
            created_by=str(item.get("created_by") or ""),
            created=str(item.get("created") or ""),
            empty_layer=empty,
            comment=str(item.get("comment") or ""),
            layer=None if empty else layer,
        ))
        if not empty:
            layer += 1
    labels = cfg.get("Labels") or {}
    volumes = _typed(cfg, "Volumes", dict, description, "config.Volumes")
    ports = _typed(cfg, "ExposedPorts", dict, description, "config.ExposedPorts")
    return ImageConfig(
        id="sha256:" + hashlib.sha256(raw).hexdigest(),
        os=str(doc.get("os") or ""),
        architecture=str(doc.get("architecture") or ""),
        variant=str(doc.get("variant") or ""),
        created=str(doc.get("created") or ""),
        user=str(cfg.get("User") or ""),
        entrypoint=_strs(cfg.get("Entrypoint")),
        cmd=_strs(cfg.get("Cmd")),
        env=_strs(cfg.get("Env")),
        labels=tuple(sorted((str(k), str(v)) for k, v in labels.items())) if isinstance(labels, dict) else (),
        volumes=tuple(sorted(str(v) for v in volumes)),
        exposed_ports=tuple(sorted(str(v) for v in ports)),
        working_dir=str(cfg.get("WorkingDir") or ""),
        diff_ids=diff_ids,
        history=tuple(history),
        raw=doc,
    )


def make_layer_refs(config: ImageConfig, blobs: list[tuple[str, str | None, str, int]]) -> list[LayerRef]:
    """Pair manifest layers (blob name, expected digest, media type, size) with config diff_ids."""
    made_by: dict[int, str] = {}
    for entry in config.history:  # once, not per layer: a config may hold a huge history
        if entry.layer is not None:
            made_by.setdefault(entry.layer, entry.created_by)
    refs = []
    for index, (blob, digest, media_type, size) in enumerate(blobs):
        refs.append(LayerRef(
            index=index,
            blob=blob,
            digest=digest,
            media_type=media_type,
            compressed_size=size,
            diff_id=config.diff_ids[index] if index < len(config.diff_ids) else None,
            created_by=made_by.get(index, ""),
        ))
    return refs


def repeated(source: ImageSource) -> dict[int, int]:
    """Layer index → index of the first layer with the same blob (by name, or by the bytes that hold
    it: an archive member or file reached under two names) and the same stated digests, for every
    layer that repeats an earlier one."""
    identity = getattr(source.store, "identity", lambda name: None)
    first: dict[tuple, int] = {}
    copies: dict[int, int] = {}
    for ref in source.layers:
        held = identity(ref.blob)
        key = (held.key if held is not None else ref.blob, ref.digest, ref.diff_id)
        if key in first:
            copies[ref.index] = first[key]
        else:
            first[key] = ref.index
    return copies


def split_existing(text: str) -> tuple[str, str | None]:
    """`PATH:REF` → (PATH, REF) for the shortest existing PATH (REF may hold `:` itself, `repo:tag`)."""
    if os.path.exists(text):
        return text, None
    for i, ch in enumerate(text):
        if ch == ":" and i and os.path.exists(text[:i]):
            return text[:i], text[i + 1:] or None
    return text, None
