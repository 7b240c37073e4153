"""Amplification: a few kilobytes of image that would cost a naive reader minutes and gigabytes.

The bounds are structural: how often a blob or a document is opened, which objects a read leaves
for the cyclic collector, and the peak RSS of a real process (generous: the hostile check allows
600 MB); never a wall-clock time.
"""

from __future__ import annotations

import gc
import io
import json
from collections import Counter
from tarfile import SYMTYPE
from pathlib import Path

import pytest

from explorer.detectors.base import ScanOptions
from explorer.detectors.registry import build_detectors
from explorer.scan.engine import analyze_image, scan
from explorer.layerfs import stream
from explorer.core.model import EntryKind
from explorer.sources import blobstore, oci, open_image

from corpus import LAST, OK, L, gzip_member, index_dag, long_names, many_tiny_layers, same_blob_listed, sha, write
from hostile_images import TRACEBACK, config_doc, member, run_inprocess, run_measured, tar_bytes

RSS_CAP_KB = 400 * 1024


@pytest.fixture
def opens(monkeypatch) -> Counter:
    """How often each blob is opened (archive and layout stores alike)."""
    counts: Counter = Counter()
    for store in (blobstore.TarBlobStore, blobstore.DirBlobStore):
        def counted(self, name, _open=store.open):
            counts[name] += 1
            return _open(self, name)
        monkeypatch.setattr(store, "open", counted)
    return counts


def test_a_blob_listed_250_times_is_read_once_and_applied_250_times(tmp_path, opens):
    image = same_blob_listed(tmp_path, 250)
    with open_image(image) as source:
        blob = source.layers[1].blob
        assert {ref.blob for ref in source.layers[1:251]} == {blob}
        analysis = analyze_image(source)
    assert opens[blob] == 1
    assert len(analysis.layers) == 252
    for report in analysis.layers[1:251]:
        assert [e.layer for e in report.entries] == [report.index] * 20
        assert report.stats.index == report.index and report.stats.complete
    assert [len(r.changes.added) for r in analysis.layers[1:4]] == [20, 0, 0]  # /etc/f0..19
    assert [len(r.changes.modified) for r in analysis.layers[1:4]] == [0, 0, 0]  # the same files again
    top = analysis.final.get("/etc/f7")
    assert top.layer == 250 and analysis.final.get("/srv/last").layer == 251
    assert analysis.in_final(top) and not analysis.in_final(analysis.layers[1].entries[7])
    assert analysis.fates[(1, "/etc/f7")].layer == 2
    assert analysis.read(top) == b"7"


def test_scan_reads_a_repeated_blob_once_and_puts_findings_on_the_visible_copy(tmp_path, opens):
    secret = L.of([member("app/.env", data=b"AWS_SECRET_ACCESS_KEY=Zx9vQ2mN4pL7rT1sW8yB3cD6fG0hJ5kM2nP4qR7t\n")],
                  "gzip", "COPY .env /app/")
    image = write(tmp_path, [OK, secret, secret, secret, LAST])
    with open_image(image) as source:
        result = scan(source, build_detectors(ScanOptions()))
        blob = source.layers[1].blob
    assert opens[blob] == 1
    found = [f for f in result.findings if f.path == "/app/.env"]
    assert found and {f.layer for f in found if f.in_final_image} == {3}
    assert all(not f.in_final_image for f in found if f.layer != 3)


def test_a_blob_listed_under_two_names_is_read_once(tmp_path, opens):
    """An archive member reached under a second name (a symlink member) is the same bytes."""
    layer = tar_bytes([member("etc/f", data=b"f")])
    manifest = [{"Config": "config.json", "RepoTags": ["alias:latest"], "Layers": ["layer.tar", "alias.tar"]}]
    archive = tmp_path / "image.tar"
    archive.write_bytes(tar_bytes([member("config.json", data=json.dumps(config_doc([layer, layer])).encode()),
                                   member("layer.tar", data=layer), member("alias.tar", SYMTYPE, linkname="layer.tar"),
                                   member("manifest.json", data=json.dumps(manifest).encode())]))
    with open_image(str(archive)) as source:
        analysis = analyze_image(source)
    assert opens["layer.tar"] + opens["alias.tar"] == 1
    assert [[e.layer for e in r.entries] for r in analysis.layers] == [[0], [1]]
    assert analysis.final.get("/etc/f").layer == 1


def test_a_warm_scan_checks_a_repeated_blob_once(tmp_path, opens, monkeypatch):
    from explorer.scan import cache as cache_module
    from explorer.scan.cache import LayerCache

    monkeypatch.setattr(cache_module, "RACY_NS", 1 << 62)  # no blob file is vouched for: each check hashes
    image = same_blob_listed(tmp_path, 50)
    detectors = build_detectors(ScanOptions())
    cache = LayerCache(tmp_path / "cache")
    try:
        with open_image(image) as source:
            cold = scan(source, detectors, cache=cache)
        opens.clear()
        with open_image(image) as source:
            blob = source.layers[1].blob
            warm = scan(source, detectors, cache=cache, need_analysis=False)
    finally:
        cache.close()
    assert warm.remembered and warm.findings == cold.findings
    assert opens[blob] == 1


def test_a_dag_of_nested_indexes_reads_each_index_once(tmp_path, monkeypatch):
    reads: Counter = Counter()
    real = oci.load_json

    def counted(store, name, what):
        reads[name] += 1
        return real(store, name, what)

    monkeypatch.setattr(oci, "load_json", counted)
    layout = index_dag(tmp_path, fanout=16, depth=4)  # 16**4 = 65536 paths to the one image
    with open_image(layout) as source:
        assert [r.created_by for r in source.layers] == ["RUN first", "RUN last"]
    assert sorted(reads.values()) == [1] * len(reads) and len(reads) == 1 + 4 + 1  # index, 4 nested, the manifest


def test_an_index_listing_too_many_manifests_is_refused(tmp_path):
    from hostile_images import oci_layout
    index = {"manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                            "digest": f"sha256:{i:064x}"} for i in range(10_001)]}
    rc, out, err = run_inprocess("layers", oci_layout(tmp_path / "layout", index, {}))
    assert rc == 2 and out == "" and TRACEBACK not in err
    assert err.splitlines() == [f"explorer: {tmp_path / 'layout'}: the image index and the indexes nested in it "
                                "list more than 10000 manifests; not a real image index"]


def test_reading_layers_leaves_no_stream_in_a_reference_cycle(tmp_path):
    """The readers are torn down when a layer is done: with the cyclic collector off while reading
    (explorer.scan.engine), a reader caught in a cycle would keep its megabyte of buffers to the end."""
    layers = [L.of([member(f"f{i}", data=b"x" * 5000)], kind, f"RUN {i}")
              for i, kind in enumerate(["gzip", "zstd", "none", "gzip"])]
    image = write(tmp_path, [OK, *layers, LAST])
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        with open_image(image) as source:
            analyze_image(source)
        gc.collect()
        kinds = (io.IOBase, stream.LayerStream)
        stuck = [type(o).__name__ for o in gc.garbage if isinstance(o, kinds)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert stuck == []


def test_a_gzip_stream_of_thousands_of_members_reads_whole(tmp_path):
    """Go's reader takes any number of members; each costs a header, a fresh inflater and a
    trailer, so 20,000 empty ones before the tar (400 KB) must not cost more than that."""
    tar = tar_bytes([member(f"f{i}", data=b"%d" % i) for i in range(50)])
    blob = gzip_member(b"") * 20_000 + b"".join(gzip_member(tar[i:i + 512]) for i in range(0, len(tar), 512))
    reader = stream.LayerStream(io.BytesIO(blob))
    assert reader.compression == "gzip" and reader.reader.read() == tar
    reader.finish()
    assert reader.plain._raw.members == 20_000 + len(tar) // 512
    rc, doc, err = run_inprocess("layers", write(tmp_path, [OK, L(blob, sha(tar)), LAST]), "--format", "json")
    assert rc == 0 and TRACEBACK not in err, err
    assert json.loads(doc)["layers"][1]["entries"] == 50


# -- real processes ------------------------------------------------------------------------------

def test_a_blob_listed_1000_times_is_one_line_and_exit_2(tmp_path):
    rc, out, err, rss = run_measured("scan", same_blob_listed(tmp_path, 1000))
    assert rc == 2 and out == "" and TRACEBACK not in err
    assert err.splitlines() == [f"explorer: {tmp_path / 'image.tar'}: manifest lists 1002 layers, more than explorer "
                                "reads (256; Docker refuses more than 125)"]
    assert rss < RSS_CAP_KB


@pytest.mark.parametrize("command", ["layers", "scan"])
def test_250_listings_of_one_blob_stay_small(tmp_path, command):
    rc, out, err, rss = run_measured(command, same_blob_listed(tmp_path, 250), "--format", "json")
    assert rc == 0 and TRACEBACK not in err, err
    assert len(json.loads(out)["layers"]) == 252
    assert rss < RSS_CAP_KB


def test_20000_tiny_layers_are_refused_early(tmp_path):
    rc, out, err, rss = run_measured("layers", many_tiny_layers(tmp_path))
    assert rc == 2 and out == "" and TRACEBACK not in err
    assert err.splitlines() == [f"explorer: {tmp_path / 'image.tar'}: holds more than 10000 members; "
                                "not a container image archive"]
    assert rss < RSS_CAP_KB


def test_250_distinct_tiny_layers_read_in_bounded_memory(tmp_path):
    rc, out, err, rss = run_measured("scan", many_tiny_layers(tmp_path, 250), "--format", "json")
    assert rc == 0 and TRACEBACK not in err, err
    assert len(json.loads(out)["layers"]) == 252
    assert rss < RSS_CAP_KB


def test_long_names_trip_the_name_cap_in_bounded_memory(tmp_path):
    rc, out, err, rss = run_measured("tree", long_names(tmp_path))
    assert rc == 2 and TRACEBACK not in err
    assert err.splitlines() == ["explorer: warning: layer 1: member names and link targets pass 33554432 characters "
                                "in all; reading stopped; 559 entries read"]
    assert sum(1 for line in out.splitlines() if " /0-" in line) == 559
    assert rss < RSS_CAP_KB


def test_long_names_in_many_layers_trip_the_image_wide_cap(tmp_path):
    """Each layer stops at 32M characters of names; over the image, the layers above the one that
    passes 128M are not read at all (as with --max-total), so memory stays bounded however many."""
    rc, out, err, rss = run_measured("layers", long_names(tmp_path, 600, 60_000, layers=5), "--format", "json")
    assert rc == 2 and TRACEBACK not in err
    assert [layer["entries"] for layer in json.loads(out)["layers"]] == [1, 559, 559, 559, 559, 559, 0]
    warnings = err.splitlines()
    assert len(warnings) == 6 and all("reading stopped; 559 entries read" in line for line in warnings[:5])
    assert warnings[5] == ("explorer: warning: layer 6: not read, the layers below already hold member names and link "
                           "targets of more than 134217728 characters in all (a real image holds far fewer)")
    assert rss < RSS_CAP_KB
