"""Where a finding is, said the same way by every report: a problem of a layer's blob (an integrity finding,
source `config`) is `layer N blob`, one of the whole image `image`, never `config`, which names the image's
config items."""

from __future__ import annotations

import io
import os

from rich.console import Console

from explorer.core.findings import Finding
from explorer.demo.imagewriter import Entry, ImageSpec, Layer
from explorer.detectors.base import ScanOptions
from explorer.detectors.registry import build_detectors
from explorer.layerfs.compare import compare
from explorer.reports.diff import print_diff
from explorer.reports.markdown import markdown_report
from explorer.scan.engine import scan
from explorer.sources import open_image
from explorer.tui.compare import finding_rows


def finding(**kw) -> Finding:
    doc = dict(rule_id="integrity.truncated-layer", category="integrity", severity="high", title="t",
               source="config", layer=None, path=None, line=None, in_final_image=True, evidence="", created_by="")
    return Finding(**{**doc, **kw})


def test_where_names_the_layer_blob_the_image_the_config_item_or_the_file():
    assert finding(layer=2).where == "layer 2 blob"
    assert finding().where == "image"
    assert finding(rule_id="misconfig.user-root", category="misconfig", line=3).where == "config #3"
    assert finding(rule_id="secret.x", category="secret", source="history", layer=1, line=5).where == "history #5"
    assert finding(rule_id="secret.x", category="secret", source="file", layer=1, path="/a", line=5).where == "/a"


def test_a_truncated_layer_is_its_layer_blob_in_markdown_the_diff_table_and_the_compare_view(make_image):
    base = Layer([Entry.dir("/a"), Entry.file("/a/one", b"1" * 5000)], created_by="ADD a")
    cut = Layer([Entry.dir("/b"), Entry.file("/b/two", os.urandom(20000))], created_by="ADD b", truncate=3000)
    a, b = open_image(make_image([base])), open_image(make_image(ImageSpec(layers=[base, cut])))
    with a, b:
        ra, rb = (scan(s, build_detectors(ScanOptions())) for s in (a, b))
        cmp = compare(ra.analysis, rb.analysis, ra.findings, rb.findings)
        markdown = markdown_report(rb)
        out = io.StringIO()
        print_diff(cmp, Console(file=out, width=300, color_system=None))
        rows = finding_rows(cmp.new_findings).plain
    row = next(line for line in markdown.splitlines() if r"integrity.truncated\-layer" in line)
    assert "| layer 1 blob |" in row and "config" not in row, row
    row = next(line for line in out.getvalue().splitlines() if "integrity.truncated-layer" in line)
    assert "layer 1 blob" in row and "config" not in row, row
    row = next(line for line in rows.splitlines() if "integrity.truncated-layer" in line)
    assert "layer 1 blob" in row and "config" not in row and "L1" not in row, row
