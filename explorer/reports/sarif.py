"""SARIF 2.1.0: one run, rules in tool.driver.rules, locations as `layer/<index>/<path>` URIs."""

from __future__ import annotations

from explorer import __version__
from explorer.core.findings import package_json
from explorer.core.rules import ATTRIBUTION

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SCORE = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.0"}


def _uri(finding) -> str:
    if finding.source == "dockerfile":  # explorer audit
        return finding.path
    if finding.source == "file":
        return f"layer/{finding.layer}{finding.path}"
    if finding.source == "history":
        return f"history/{finding.line}"
    return "config" if finding.layer is None else f"layer/{finding.layer}"


def sarif_document(result) -> dict:
    catalog = {rule["id"]: rule for rule in result.detectors.catalog}
    used = sorted({f.rule_id for f in result.findings} | set(catalog))
    rules = []
    for rule_id in used:
        meta = catalog.get(rule_id)
        if meta is None:
            sample = next(f for f in result.findings if f.rule_id == rule_id)
            meta = {"id": rule_id, "category": sample.category, "severity": sample.severity,
                    "title": sample.title, "description": sample.title}
        rules.append({
            "id": rule_id,
            "name": rule_id,
            "shortDescription": {"text": meta.get("title") or rule_id},
            "fullDescription": {"text": meta.get("description") or meta.get("title") or rule_id},
            "defaultConfiguration": {"level": LEVEL[meta["severity"]]},
            "properties": {"category": meta["category"], "severity": meta["severity"],
                           "security-severity": SCORE[meta["severity"]], "tags": ["security", meta["category"]],
                           **{key: meta[key] for key in ATTRIBUTION if meta.get(key)}},
            **({"helpUri": meta["reference"]} if str(meta.get("reference", "")).startswith(("https://", "http://"))
               else {}),
        })
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = []
    for f in result.findings:
        location = {"physicalLocation": {"artifactLocation": {"uri": _uri(f), "uriBaseId": "IMAGE"}}}
        if f.line and f.source in ("file", "dockerfile"):
            location["physicalLocation"]["region"] = {"startLine": f.line}
        results.append({
            "ruleId": f.rule_id,
            "ruleIndex": index[f.rule_id],
            "level": LEVEL[f.severity],
            "message": {"text": f"{f.title}: {f.evidence}" if f.evidence else f.title},
            "locations": [location],
            "partialFingerprints": {"explorerFinding/v1": f.layer_fingerprint,
                                    "explorerFinding/v2": f.fingerprint},
            "properties": {
                "severity": f.severity,
                "category": f.category,
                "source": f.source,
                "layer": f.layer,
                "layerDigest": f.layer_digest,
                "path": f.path,
                "inFinalImage": f.in_final_image,
                "createdBy": f.created_by,
                "evidence": f.evidence,
                **({"reason": f.reason} if f.reason else {}),
                **({"package": package_json(f.package)} if f.package is not None else {}),
            },
        })
    source = result.summary.source
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "explorer", "version": __version__, "semanticVersion": __version__,
                                "rules": rules,
                                "properties": {"rulesSha256": result.detectors.rules_sha256}}},
            "originalUriBaseIds": {"IMAGE": {"description": {"text": f"image {source.reference} "
                                                                     f"({source.config.id})"}}},
            "results": results,
            "properties": {"image": source.reference, "imageId": source.config.id},
        }],
    }
