"""A detector that fails on a file is a finding on that file (`suspicious.detector-failure`, high),
counted by --fail-on, whether detection ran in this process, in worker processes, or in a worker
that died on the file; and the miner-config parser no longer fails on a deeply nested config."""

from __future__ import annotations

import json
import os

import pytest

import explorer.detectors.registry as detector_registry
from explorer.main import main
from explorer.detectors.base import FAILURE_RULE
from explorer.detectors.registry import build_detectors
from explorer.scan.engine import scan
from explorer.demo.imagewriter import Entry, ImageSpec, Layer
from explorer.sources import open_image
from test_detectpool import _many_files_image, detector_set

FAILURE = FAILURE_RULE[0]


def _boom_image(make_image) -> str:
    return make_image(ImageSpec(layers=[
        Layer([Entry.dir("/srv"), Entry.file("/srv/plain.txt", b"nothing to see\n")], created_by="COPY plain /srv"),
        Layer([Entry.file("/srv/crafted.json", b'{"a": "BOOM"}\n')], created_by="COPY crafted.json /srv/"),
        Layer([Entry.whiteout("/srv/crafted.json")], created_by="RUN rm /srv/crafted.json"),
    ]))


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_detector_failing_on_a_file_is_a_finding_that_fails_the_gate(make_image, monkeypatch, capsys, jobs):
    monkeypatch.setattr(detector_registry, "build_detectors", lambda options: detector_set())
    image = _boom_image(make_image)
    code = main(["scan", image, "--format", "json", "--no-progress", "--no-cache", "--jobs", jobs,
                 "--fail-on", "high"])
    out, err = capsys.readouterr()
    assert code == 1, err
    (found,) = [f for f in json.loads(out)["findings"] if f["rule_id"] == FAILURE]
    assert (found["path"], found["layer"], found["severity"], found["category"]) == \
        ("/srv/crafted.json", 1, "high", "suspicious")
    assert found["evidence"] == "boom: ValueError" and found["created_by"] == "COPY crafted.json /srv/"
    assert found["in_final_image"] is False
    assert "boom failed on layer 1 /srv/crafted.json: ValueError: boom in /srv/crafted.json" in err
    # the rule is in the catalog, so SARIF lists it
    assert main(["scan", image, "--format", "sarif", "--no-progress", "--no-cache", "--jobs", jobs]) == 0
    sarif = json.loads(capsys.readouterr().out)
    assert FAILURE in {r["id"] for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]].count(FAILURE) == 1
    # and it can be turned off like any rule
    assert main(["scan", image, "--format", "json", "--no-progress", "--no-cache", "--jobs", jobs,
                 "--fail-on", "high", "--disable", FAILURE]) == 0
    capsys.readouterr()


def test_the_failure_rule_is_in_the_real_catalog():
    catalog = {r["id"]: r for r in build_detectors().catalog}
    assert catalog[FAILURE]["severity"] == "high" and catalog[FAILURE]["category"] == "suspicious"


def test_a_worker_that_dies_on_a_file_gives_the_same_finding_for_it(make_image):
    """Detection in worker processes that die on BOOM files (as a native library might): each file a
    worker died on gets the finding a raising detector gives in one process, and is not scanned again
    in the reading process (it could take that one down too)."""
    image = _many_files_image(make_image)

    def failures(detectors, jobs):
        with open_image(image) as source:
            result = scan(source, detectors, jobs=jobs)
        return {(f.layer, f.path, f.severity): f.evidence for f in result.findings if f.rule_id == FAILURE}

    one = failures(detector_set(), 1)
    dying = failures(detector_set(crash_outside=os.getpid()), 2)
    assert len(one) == 6 and dying.keys() == one.keys()
    assert set(one.values()) == {"boom: ValueError"}
    assert sum(e.startswith("boom: its worker process died") for e in dying.values()) == 2


def _deep_miner_config(depth: int) -> bytes:
    return (b'{"pools": [{"url": "stratum+tcp://pool.example.org:3333", "user": "w", "pass": "x"}],\n'
            b' "padding": ' + b"[" * depth + b"]" * depth + b"}\n")


@pytest.mark.parametrize("depth", [900, 100_000])
def test_a_deeply_nested_miner_config_is_read_not_a_failure(make_image, depth):
    image = make_image([Layer([Entry.dir("/opt"), Entry.file("/opt/config.json", _deep_miner_config(depth))],
                              created_by="COPY config.json /opt/")])
    with open_image(image) as source:
        result = scan(source, build_detectors(), jobs=1)
    assert result.errors == []
    rules = {f.rule_id: f for f in result.findings}
    assert FAILURE not in rules
    assert rules["miner.monero.pool-config"].severity == "high"
    assert "stratum+tcp://pool.example.org:3333" in rules["miner.monero.pool-config"].evidence


def test_an_image_detector_failing_on_the_config_is_a_config_finding(make_image):
    from explorer.detectors.base import ImageDetector
    from explorer.scan.engine import DetectorSet

    class Brittle(ImageDetector):
        name = "brittle"

        def scan_config(self, config):
            raise RecursionError("nested too deeply")

        def scan_history(self, item):
            return []

    image = make_image([Layer([Entry.file("/a", b"a")], created_by="COPY a /")])
    with open_image(image) as source:
        result = scan(source, DetectorSet(image=[Brittle()]), jobs=1)
    (found,) = result.findings
    assert (found.rule_id, found.source, found.path, found.severity) == (FAILURE, "config", None, "high")
    assert found.evidence == "brittle: RecursionError"
    assert result.errors == ["brittle failed on the config: RecursionError: nested too deeply"]
