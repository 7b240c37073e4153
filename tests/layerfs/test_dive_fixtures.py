"""dive's own test images, checked against the numbers dive's tests assert (see the fixtures README)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from explorer.main import main
from explorer.core.model import EntryKind

DOCKER = "test-docker-image.tar"
KANIKO = "test-kaniko-image.tar"
OCI = {"gzip": "test-oci-gzip-image.tar", "none": "test-oci-uncompressed-image.tar",
       "zstd": "test-oci-zstd-image.tar"}

SIZES = [1154361, 6405, 0, 6405, 6405, 6405, 6405, 6405, 6405, 0, 2187, 6405, 6405, 6405]
ENTRIES = [415, 1, 4, 3, 3, 3, 3, 4, 2, 2, 4, 2, 3, 2]
TOTAL = 1220598
WASTED = 32025
EFFICIENCY = 0.9844212134184309


def _copies_by_path(analysis) -> dict[str, list]:
    """Path → its copies in every layer, lowest first (directories left out)."""
    seen = defaultdict(list)
    for report in analysis.layers:
        for entry in report.entries:
            if entry.kind != EntryKind.DIR:
                seen[entry.path].append(entry)
    return seen


def test_docker_image_per_layer_size_and_entries(dive_image, open_analysis):
    a = open_analysis(dive_image(DOCKER))
    assert [r.stats.size for r in a.layers] == SIZES
    assert [r.stats.entries for r in a.layers] == ENTRIES
    assert [r.index for r in a.layers] == list(range(14))
    assert all(r.stats.complete for r in a.layers)
    assert a.problems == []


def test_docker_image_totals_and_efficiency(dive_image, open_analysis):
    a = open_analysis(dive_image(DOCKER))
    assert a.total_size == TOTAL
    assert a.wasted_bytes == WASTED
    assert a.final_size == TOTAL - WASTED
    assert a.efficiency == pytest.approx(0.984421, abs=1e-6)
    assert a.efficiency == pytest.approx(EFFICIENCY, abs=1e-12)


def test_docker_image_whiteouts_where_dive_says(dive_image, open_analysis):
    a = open_analysis(dive_image(DOCKER))
    wh7 = [e for e in a.layers[7].entries if e.kind == EntryKind.WHITEOUT]
    wh9 = [e for e in a.layers[9].entries if e.kind == EntryKind.WHITEOUT]
    assert [e.path for e in wh7] == ["/root/example/somefile3.txt"]
    assert [e.path for e in wh9] == ["/root/example"]
    # the whole /root/example subtree went with the directory whiteout
    assert a.final.get("/root/example") is None
    assert a.final.get("/root/example/really/nested") is None
    assert a.tree_at(8).get("/root/example/really/nested") is not None


def test_docker_image_paths_found_in_two_layers(dive_image, open_analysis):
    a = open_analysis(dive_image(DOCKER))
    twice = {path: copies for path, copies in _copies_by_path(a).items() if len(copies) > 1}
    assert sorted(twice) == ["/root/example/somefile1.txt", "/root/example/somefile3.txt", "/root/saved.txt"]
    assert [(e.kind, e.size) for e in twice["/root/saved.txt"]] == [(EntryKind.FILE, 6405)] * 2
    assert [(e.kind, e.size) for e in twice["/root/example/somefile1.txt"]] == [(EntryKind.FILE, 6405)] * 2
    assert [e.kind for e in twice["/root/example/somefile3.txt"]] == [EntryKind.FILE, EntryKind.WHITEOUT]
    # layer 4 is `chmod 444`: same content, new mode, so a modification
    old, new = twice["/root/example/somefile1.txt"]
    assert old.digest == new.digest and new.mode == 0o444 and old.mode != 0o444
    assert [(o.path, n.path) for o, n in a.layers[4].changes.modified] == [(old.path, new.path)]


def test_docker_image_base_layer_regular_files(dive_image, open_analysis):
    a = open_analysis(dive_image(DOCKER))
    files = {e.path: e.size for e in a.layers[0].entries if e.kind == EntryKind.FILE and e.size > 0}
    assert files == {"/bin/[": 1075464, "/bin/getconf": 77880, "/etc/group": 307, "/etc/localtime": 127,
                     "/etc/passwd": 340, "/etc/shadow": 243}
    # the other applets are hard links to `[`: size 0, but the content digest of their target
    busybox = a.final.get("/bin/[")
    links = [e for e in a.layers[0].entries if e.kind == EntryKind.HARDLINK and e.linkname == "/bin/["]
    assert len(links) > 300
    assert {e.digest for e in links} == {busybox.digest} and all(e.size == 0 for e in links)


def test_docker_image_history_and_final_visibility(dive_image, open_analysis):
    a = open_analysis(dive_image(DOCKER))
    saved = a.history("/root/saved.txt")
    assert [(e.layer, e.kind) for e in saved] == [(7, EntryKind.FILE), (13, EntryKind.FILE)]
    assert not a.in_final(saved[0]) and a.in_final(saved[1])
    assert a.fates[(7, "/root/saved.txt")].layer == 13
    assert a.fates[(7, "/root/saved.txt")].how == "replaced"
    assert saved[1].mode & 0o111
    # somefile2 was deleted with its directory, yet its bytes are still in layer 5's blob
    copy = next(e for e in a.layers[5].entries if e.path == "/root/example/somefile2.txt")
    assert not a.in_final(copy)
    assert a.fates[(5, copy.path)].how == "deleted" and a.fates[(5, copy.path)].layer == 9
    data = a.read(copy)
    assert len(data) == 6405 and data == a.read(a.final.get("/somefile.txt"))


def test_kaniko_image(dive_image, open_analysis):
    """kaniko output: gzip `.tar.gz` layers and a `sha256:`-named config; same 14 steps as the docker image."""
    a = open_analysis(dive_image(KANIKO))
    assert a.source.kind == "docker-archive"
    assert len(a.layers) == 14 and a.problems == []
    assert {r.stats.compression for r in a.layers} == {"gzip"}
    copy = a.final.get("/somefile.txt").size
    sizes = [r.stats.size for r in a.layers]
    assert [sizes[i] for i in (1, 3, 4, 5, 6, 7, 8, 11, 12, 13)] == [copy] * 10
    assert sizes[2] == sizes[9] == 0 and sizes[10] == 2187
    # five copies are overwritten or deleted: somefile1 twice, somefile2, somefile3, the first saved.txt
    assert a.wasted_bytes == 5 * copy
    assert a.final.get("/root/example") is None and a.final.get("/root/.data/saved.again2.txt") is not None
    assert all(r.stats.digest == r.ref.digest for r in a.layers if r.ref.digest)


@pytest.mark.parametrize("compression", sorted(OCI))
def test_oci_fixtures(compression, dive_image, open_analysis):
    a = open_analysis(dive_image(OCI[compression]))
    assert a.source.kind == "oci-archive"
    assert a.source.config.architecture == "arm64"
    assert len(a.layers) == 1 and a.problems == []
    (layer,) = a.layers
    assert layer.stats.compression == compression
    assert [(e.path, e.kind, e.size) for e in layer.entries] == [("/README.md", EntryKind.FILE, 11189)]
    assert layer.stats.digest == layer.ref.digest and layer.stats.diff_id == layer.ref.diff_id
    assert a.total_size == a.final_size == 11189 and a.wasted_bytes == 0 and a.efficiency == 1.0
    assert a.read(layer.entries[0]).startswith(b"#")


def test_oci_fixtures_hold_the_same_file(dive_image, open_analysis):
    digests = {open_analysis(dive_image(name)).final.get("/README.md").digest for name in OCI.values()}
    assert len(digests) == 1


def test_cli_layers_json(dive_image, capsys):
    assert main(["layers", dive_image(DOCKER), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [layer["size"] for layer in doc["layers"]] == SIZES
    assert [layer["entries"] for layer in doc["layers"]] == ENTRIES
    assert doc["total_size"] == TOTAL and doc["wasted_bytes"] == WASTED
    assert doc["final_size"] == TOTAL - WASTED
    assert doc["efficiency"] == pytest.approx(EFFICIENCY, abs=1e-6)
    assert doc["image"]["architecture"] == "amd64"
    assert [layer["deleted"] for layer in doc["layers"]][7:10] == [1, 0, 1]
    assert all(layer["digest"].startswith("sha256:") and layer["diff_id"].startswith("sha256:")
               for layer in doc["layers"])


def test_cli_layers_json_oci_transport(dive_image, capsys):
    assert main(["layers", f"oci-archive:{dive_image(OCI['zstd'])}", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["image"]["architecture"] == "arm64"
    assert [(layer["size"], layer["entries"], layer["added"]) for layer in doc["layers"]] == [(11189, 1, 1)]


def test_python_dash_m_explorer(dive_image):
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-m", "explorer", "layers", dive_image(DOCKER), "--format", "json"],
                          capture_output=True, text=True, cwd=repo, timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["total_size"] == TOTAL and doc["wasted_bytes"] == WASTED
    assert len(doc["layers"]) == 14
    assert proc.stderr == ""
