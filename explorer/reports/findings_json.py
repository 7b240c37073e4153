"""`explorer scan --format json`, exactly as contract.md shows it."""

from __future__ import annotations

from explorer import __version__
from explorer.core.findings import summary
from explorer.reports.image import image_json, layer_json


def scan_document(result, ignored=()) -> dict:
    image = result.summary
    doc = {
        "tool": {"name": "explorer", "version": __version__, "rules": result.detectors.rules_sha256},
        "image": image_json(image.source),
        "layers": layer_json(image, with_compressed=True),
        "findings": [f.to_json() for f in result.findings],
        "summary": summary(result.findings),
    }
    if ignored:
        doc["ignored"] = [{**f.to_json(), "ignore_reason": reason} for f, reason in ignored]
    return doc
