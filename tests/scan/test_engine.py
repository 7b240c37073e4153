"""The engine: findings say which layer, which history line, and whether the copy is still visible."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from explorer.detectors.base import FileDetector, ImageDetector, LayerDetector, ScanOptions
from explorer.scan.engine import DetectorSet, scan
from explorer.core.findings import Match
from explorer.demo.imagewriter import Entry, ImageSpec, Layer
from explorer.reports.findings_json import scan_document
from explorer.reports.sarif import sarif_document
from explorer.sources import open_image

SCHEMA = Path(__file__).resolve().parents[1] / "data" / "sarif-2.1.0-rtm.5.json"


class Needle(FileDetector):
    """Flags every line holding NEEDLE (several per file: the engine keeps one, the first line)."""

    name = "needle"

    def wants(self, entry):
        return entry.size < 1_000_000

    def scan(self, entry, data):
        for number, line in enumerate(data.split(b"\n"), start=1):
            if b"NEEDLE" in line:
                yield Match("test.needle", "secret", "high", "needle", evidence="NEE***", line=number)


class Setuid(LayerDetector):
    name = "setuid"

    def scan_layer(self, layer):
        for entry in layer.added:
            if entry.mode & 0o4000:
                yield entry, Match("test.setuid", "backdoor", "medium", "setuid added")


class RootUser(ImageDetector):
    name = "root"

    def scan_config(self, config):
        if not config.user:
            yield Match("test.root", "misconfig", "low", "runs as root")

    def scan_history(self, item):
        if "curl" in item.created_by:
            yield Match("test.curl", "misconfig", "medium", "curl in history", line=item.position)


DETECTORS = DetectorSet(file=[Needle()], layer=[Setuid()], image=[RootUser()], rules_sha256="0" * 64)


def spec() -> ImageSpec:
    return ImageSpec(layers=[
        Layer([Entry.dir("/app"), Entry.file("/app/a.txt", b"x\nNEEDLE one\nNEEDLE two\n"),
               Entry.file("/app/keep.txt", b"NEEDLE kept\n")], created_by="COPY app /app"),
        Layer([Entry.file("/app/keep.txt", b"NEEDLE kept\n", mode=0o600),
               Entry.file("/usr/bin/sud", b"\x7fELF", mode=0o4755)], created_by="RUN chmod 600 /app/keep.txt"),
        Layer([Entry.whiteout("/app/a.txt")], created_by="RUN rm /app/a.txt && curl x"),
    ], extra_history=[(0, "/bin/sh -c #(nop) ARG X curl")])


@pytest.fixture
def result(make_image):
    source = open_image(make_image(spec()))
    yield scan(source, DETECTORS)
    source.close()


def by(result, rule, layer=None):
    return [f for f in result.findings if f.rule_id == rule and (layer is None or f.layer == layer)]


def test_file_findings_name_layer_history_line_and_final_visibility(result):
    deleted = by(result, "test.needle", 0)
    paths = {f.path: f for f in deleted}
    assert set(paths) == {"/app/a.txt", "/app/keep.txt"}
    a = paths["/app/a.txt"]
    assert a.in_final_image is False and a.created_by == "COPY app /app" and a.line == 2
    assert paths["/app/keep.txt"].in_final_image is False  # replaced by layer 1's copy (chmod)
    kept = by(result, "test.needle", 1)
    assert [(f.path, f.in_final_image, f.created_by) for f in kept] == [
        ("/app/keep.txt", True, "RUN chmod 600 /app/keep.txt")]


def test_one_finding_per_rule_layer_path_with_first_line(result):
    assert len([f for f in result.findings if f.rule_id == "test.needle" and f.path == "/app/a.txt"]) == 1


def test_layer_config_and_history_detectors(result):
    (setuid,) = by(result, "test.setuid")
    assert (setuid.layer, setuid.path, setuid.source) == (1, "/usr/bin/sud", "file")
    (root,) = by(result, "test.root")
    assert (root.source, root.layer, root.path) == ("config", None, None)
    curls = by(result, "test.curl")
    assert {(f.source, f.layer, f.line) for f in curls} == {("history", None, 1), ("history", 2, 4)}


def test_findings_sorted_by_severity_then_layer_then_path(result):
    keys = [f.sort_key() for f in result.findings]
    assert keys == sorted(keys)
    assert result.findings[0].severity == "high"


def test_disabled_rules_are_dropped(make_image):
    with open_image(make_image(spec())) as source:
        res = scan(source, DETECTORS, ScanOptions(disabled=frozenset({"test.needle"})))
    assert not by(res, "test.needle") and by(res, "test.setuid")


def test_integrity_problems_become_findings_and_the_layer_is_still_read(make_image):
    broken = spec()
    broken.layers[0].wrong_diff_id = True
    with open_image(make_image(broken)) as source:
        res = scan(source, DETECTORS)
    integrity = [f for f in res.findings if f.category == "integrity"]
    assert [(f.rule_id, f.layer) for f in integrity] == [("integrity.diff-id-mismatch", 0)]
    assert by(res, "test.needle", 0), "the damaged layer is still scanned"


def test_json_document_matches_the_contract(result):
    doc = json.loads(json.dumps(scan_document(result)))
    assert set(doc) == {"tool", "image", "layers", "findings", "summary"}
    assert doc["tool"]["name"] == "explorer" and doc["tool"]["rules"] == "0" * 64
    assert set(doc["image"]) == {"reference", "id", "os", "architecture", "created", "user", "entrypoint",
                                 "cmd", "env_names"}
    assert doc["image"]["id"].startswith("sha256:") and doc["image"]["env_names"] == ["PATH"]
    layer = doc["layers"][0]
    assert set(layer) == {"index", "digest", "diff_id", "media_type", "compressed_size", "size", "created_by",
                          "added", "modified", "deleted"}
    assert [(l["added"], l["modified"], l["deleted"]) for l in doc["layers"]] == [(3, 0, 0), (1, 1, 0), (0, 0, 1)]
    finding = doc["findings"][0]
    assert set(finding) >= {"rule_id", "category", "severity", "title", "source", "layer", "path", "line",
                            "in_final_image", "evidence", "created_by"}
    assert doc["summary"] == {"critical": 0, "high": 3, "medium": 3, "low": 1, "info": 0}


def test_sarif_is_valid_2_1_0_with_layer_uris(result):
    doc = json.loads(json.dumps(sarif_document(result)))
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    (run,) = doc["runs"]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert {"test.needle", "test.setuid", "test.root", "test.curl"} <= set(rule_ids)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert "layer/0/app/a.txt" in uris and "layer/1/usr/bin/sud" in uris
    needle = next(r for r in run["results"] if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                  == "layer/0/app/a.txt")
    assert needle["properties"]["layerDigest"].startswith("sha256:")
    assert needle["properties"]["inFinalImage"] is False
    assert needle["locations"][0]["physicalLocation"]["region"]["startLine"] == 2
    assert run["tool"]["driver"]["rules"][needle["ruleIndex"]]["id"] == "test.needle"
