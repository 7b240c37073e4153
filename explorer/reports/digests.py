"""digest vs diff_id, explained with an image's own values (for the config view's concepts tab).

A layer's digest is the sha256 of its blob as stored; its diff_id the sha256 of the tar inside. When the
blob is the tar itself (stored uncompressed, as `docker save` has written since Docker 25, or a
docker-root layer rebuilt from its tar-split) both hash the same bytes and are equal; when it is
compressed (gzip or zstd, as registries and OCI layouts usually hold layers) they differ. No Textual import.
"""

from __future__ import annotations

from explorer.layerfs.analysis import ImageAnalysis, LayerReport

WHERE = {
    "docker-archive": "a docker-archive (docker save): layers are stored as written, often uncompressed tars",
    "docker-daemon": "the Docker daemon, exported as a docker-archive: layers are uncompressed tars",
    "oci": "an OCI layout: layers are stored as the manifest says, usually gzip- or zstd-compressed",
    "oci-archive": "an oci-archive: layers are stored as the manifest says, usually gzip- or zstd-compressed",
    "registry": "a registry: layers are pulled as stored there, almost always compressed",
}


def source_note(analysis: ImageAnalysis) -> str:
    kind = analysis.source.kind
    return f"This image comes from {WHERE.get(kind, kind)}."


def layer_note(report: LayerReport) -> str:
    """Whether this layer's digest equals its diff_id, and why."""
    stats = report.stats
    if not stats.digest:
        return "not read to its end: its hashes are not known"
    if stats.digest == stats.diff_id:
        return "digest = diff_id: stored uncompressed, the blob is the tar, so both hash the same bytes"
    return (f"digest ≠ diff_id: the digest hashes the {stats.compression}-compressed blob, the diff_id the tar "
            "inside it")


def summary_note(analysis: ImageAnalysis) -> str:
    read = [r.stats for r in analysis.layers if r.stats.digest]
    equal = sum(1 for s in read if s.digest == s.diff_id)
    differ = len(read) - equal
    if equal and differ:
        return f"{equal} layer(s) stored uncompressed (digest = diff_id), {differ} compressed (they differ)."
    if equal:
        return ("Every layer is stored uncompressed: each digest equals its diff_id. Pushed to a registry, the "
                "layers would be compressed and get new digests; their diff_ids would stay.")
    if differ:
        return ("Every layer is stored compressed: digests and diff_ids differ. `docker save` of this image "
                "(Docker 25 and later) stores the tars uncompressed, and each digest would equal its diff_id.")
    return ""
