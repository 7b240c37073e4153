"""The `image` and `layers` objects shared by `layers` and `scan` JSON output."""

from __future__ import annotations

from typing import TYPE_CHECKING

from explorer.core.imagesummary import ImageSummary
from explorer.detectors.redact import redact_text

if TYPE_CHECKING:  # not imported by `scan`, which may have no stacked image (explorer.scan.engine)
    from explorer.layerfs import ImageAnalysis
    from explorer.sources import ImageSource


def image_json(source: ImageSource) -> dict:
    cfg = source.config
    return {
        "reference": source.reference,
        "id": cfg.id,
        "os": cfg.os,
        "architecture": cfg.architecture,
        "created": cfg.created,
        "user": cfg.user,
        "entrypoint": list(cfg.entrypoint),
        "cmd": list(cfg.cmd),
        "env_names": cfg.env_names,
    }


def layer_json(summary: ImageSummary, *, with_entries: bool = False, with_compressed: bool = False) -> list[dict]:
    out = []
    for layer in summary.layers:
        ref, stats = layer.ref, layer.stats
        item = {
            "index": ref.index,
            "digest": stats.digest or ref.digest or "",
            "diff_id": stats.diff_id or ref.diff_id or "",
        }
        if with_compressed:
            item["media_type"] = ref.media_type
            item["compressed_size"] = stats.compressed_size or ref.compressed_size
        item["size"] = stats.size
        if with_entries:
            item["entries"] = stats.entries
        item.update({
            "created_by": redact_text(ref.created_by),
            "added": layer.added,
            "modified": layer.modified,
            "deleted": layer.deleted,
        })
        out.append(item)
    return out


def layers_document(analysis: ImageAnalysis) -> dict:
    return {
        "image": image_json(analysis.source),
        "layers": layer_json(analysis.summary(), with_entries=True),
        "total_size": analysis.total_size,
        "final_size": analysis.final_size,
        "wasted_bytes": analysis.wasted_bytes,
        "efficiency": round(analysis.efficiency, 9),
    }
