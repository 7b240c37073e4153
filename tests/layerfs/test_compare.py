"""Image against image: paths by content, layers by diff_id, new findings (the core and `explorer diff`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from explorer.detectors.base import ScanOptions
from explorer.detectors.registry import build_detectors
from explorer.scan.engine import scan
from explorer.demo.imagewriter import Entry, Layer
from explorer.layerfs.compare import compare
from explorer.sources import open_image

F = Entry.file
D = Entry.dir
BASE = Layer([D("/etc"), F("/etc/passwd", b"root:x:0:0::/root:/bin/sh\n"), F("/etc/motd", b"hello\n"),
              D("/srv"), F("/srv/app.py", b"print('v1')\n", 0o755), F("/srv/same", b"same")],
             created_by="ADD rootfs.tar /")
A_TOP = Layer([F("/srv/old.txt", b"old"), F("/srv/mode", b"m", 0o644), F("/srv/owner", b"o", uid=1)],
              created_by="COPY . /srv/")
B_TOP = Layer([F("/srv/new.txt", b"new"), F("/srv/mode", b"m", 0o755), F("/srv/owner", b"o", uid=2),
               F("/srv/app.py", b"print('v2')\n", 0o755), F("/etc/passwd", b"root:x:0:0::/root:/bin/sh\n"
                                                                           b"toor:x:0:0::/root:/bin/sh\n")],
              created_by="COPY . /srv/ # v2")


def scanned(path):
    source = open_image(path)
    return source, scan(source, build_detectors(ScanOptions()))


def test_paths_layers_and_new_findings(make_image):
    a_path, b_path = make_image([BASE, A_TOP]), make_image([BASE, B_TOP])
    (sa, ra), (sb, rb) = scanned(a_path), scanned(b_path)
    with sa, sb:
        cmp = compare(ra.analysis, rb.analysis, ra.findings, rb.findings)
        got = {(c.path, c.change, c.differs) for c in cmp.changes}
        assert got == {("/srv/old.txt", "removed", ()), ("/srv/new.txt", "added", ()),
                       ("/srv/mode", "changed", ("mode",)), ("/srv/owner", "changed", ("owner",)),
                       ("/srv/app.py", "changed", ("content",)), ("/etc/passwd", "changed", ("content",))}
        assert cmp.unchanged == 4  # /etc, /etc/motd, /srv, /srv/same
        assert [(s.a, s.b) for s in cmp.shared] == [(0, 0)]
        assert [(f.rule_id, f.path, f.layer) for f in cmp.new_findings] == [
            ("backdoor.accounts.second-uid0", "/etc/passwd", 1)]
        changed = {c.path: c for c in cmp.changes}
        assert changed["/srv/app.py"].a.layer == 0 and changed["/srv/app.py"].b.layer == 1
        # the other way round: B → A has no new findings, and added/removed swap
        back = compare(rb.analysis, ra.analysis, rb.findings, ra.findings)
        assert back.new_findings == []
        assert {(c.path, c.change) for c in back.changes if c.change != "changed"} == {
            ("/srv/old.txt", "added"), ("/srv/new.txt", "removed")}


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "explorer", *args], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ))


def test_cli_json_table_and_sarif(make_image):
    a_path, b_path = make_image([BASE, A_TOP]), make_image([BASE, B_TOP])
    done = run_cli("diff", a_path, b_path, "--format", "json", "--no-cache")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["summary"] == {"added": 1, "removed": 1, "changed": 4, "unchanged": 4, "shared_layers": 1,
                              "new_findings": {"critical": 0, "high": 1, "medium": 0, "low": 0, "info": 0}}
    app = next(p for p in doc["paths"] if p["path"] == "/srv/app.py")
    assert app["a"]["layer"] == 0 and app["b"]["layer"] == 1 and app["b"]["created_by"] == "COPY . /srv/ # v2"
    assert app["a"]["sha256"] != app["b"]["sha256"] and app["a"]["mode"] == "0755"
    assert [layer["shared"] for layer in doc["layers"]["b"]] == [True, False]
    assert doc["layers"]["b"][0]["a_index"] == 0
    assert [f["rule_id"] for f in doc["new_findings"]] == ["backdoor.accounts.second-uid0"]
    done = run_cli("diff", a_path, b_path, "--format", "sarif", "--fail-on", "high")
    assert done.returncode == 1
    sarif = json.loads(done.stdout)
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["backdoor.accounts.second-uid0"]
    done = run_cli("diff", b_path, a_path, "--fail-on", "high")
    assert done.returncode == 0, done.stderr
    assert "no new findings in B" in done.stdout and "+ │ /srv/old.txt" in done.stdout.replace("  ", " ")
    done = run_cli("diff", a_path, "/no/such/image.tar")
    assert (done.returncode, done.stderr.strip()) == (2, "explorer: /no/such/image.tar: no such file or folder")
