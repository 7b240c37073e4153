"""Third-party YARA rules (`--rules`): their `meta:` attribution (author, reference, license, score) reaches
the rule catalog and SARIF's tool.driver.rules, and a `score` stands for a missing severity. Real parts:
real libyara compiling a rule folder, the full engine on an image written in-process."""

from __future__ import annotations

from explorer.detectors.base import ScanOptions
from explorer.detectors.registry import build_detectors
from explorer.detectors.yara_scan import rule_info
from explorer.scan.engine import scan
from explorer.demo.imagewriter import Entry, Layer
from explorer.reports.sarif import sarif_document
from explorer.sources import open_image

RULES = """
rule Vendor_Webshell_Marker {
    meta:
        description = "Vendor webshell marker"
        author = "Example Vendor Labs"
        reference = "https://example.org/research/webshell"
        license = "Detection Rule License 1.1"
        score = 80
    strings:
        $a = "VENDOR-WEBSHELL-MARKER-7731"
    condition:
        $a
}
"""


def test_score_stands_for_a_missing_severity_and_attribution_is_kept():
    info = rule_info("r", {"score": 80, "author": "A", "license": "L", "reference": "https://x"})
    assert info.severity == "high"
    assert dict(info.attribution) == {"author": "A", "license": "L", "reference": "https://x", "score": "80"}
    assert rule_info("r", {"score": 95}).severity == "critical"
    assert rule_info("r", {"score": 40}).severity == "low"
    assert rule_info("r", {"score": 95, "severity": "low"}).severity == "low"  # its own severity wins
    assert rule_info("r", {"score": 400}).severity == "medium"  # out of range: the default


def test_sarif_rules_carry_the_attribution(tmp_path, make_image, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "vendor.yar").write_text(RULES)
    options = ScanOptions(extra_rule_dirs=(str(folder),))
    detectors = build_detectors(options)
    image = make_image([Layer([Entry.dir("/srv"), Entry.file("/srv/x.php", b"<?php // VENDOR-WEBSHELL-MARKER-7731\n")])])
    source = open_image(image)
    try:
        result = scan(source, detectors, options)
    finally:
        source.close()
    [found] = [f for f in result.findings if f.rule_id == "custom.Vendor_Webshell_Marker"]
    assert found.severity == "high" and found.path == "/srv/x.php"
    run = sarif_document(result)["runs"][0]
    [rule] = [r for r in run["tool"]["driver"]["rules"] if r["id"] == "custom.Vendor_Webshell_Marker"]
    assert rule["helpUri"] == "https://example.org/research/webshell"
    assert rule["properties"]["author"] == "Example Vendor Labs"
    assert rule["properties"]["license"] == "Detection Rule License 1.1" and rule["properties"]["score"] == "80"
    assert rule["defaultConfiguration"]["level"] == "error"
