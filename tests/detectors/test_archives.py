"""Inside archives (explorer.detectors.archives) through the whole engine and the command line: zip-family
and tar members scanned by YARA and the secret rules, findings named `ARCHIVE!/MEMBER`, and every cap
(depth, members, bytes, ratio) reported. Real parts: the full detector registry, real zips and tars
written by the stdlib, images written in-process, `python -m explorer scan` as a user runs it."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile

import pytest

from explorer.detectors import archives
from explorer.core.findings import Match
from explorer.demo.imagewriter import Entry, Layer
from explorer.scan.layerpass import LayerOutcome, decode, encode
from explorer.layerfs.walker import WalkResult
from explorer.core.model import EntryKind, FileEntry, LayerStats
from explorer.detectors.token_checksums import with_checksum

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GITHUB = with_checksum("ghp_", "R7mK2pX9vQ4tL8wN3jB6cH1fD5gS0a")
PROPERTIES = f"spring.datasource.url=jdbc:postgresql://db/billing\ngithub.token={GITHUB}\n".encode()


def zip_of(members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data, compress_type=method)
    return out.getvalue()


def tar_of(members: dict[str, bytes], mode: str = "w:gz") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def image_with(files: dict[str, bytes]) -> list[Layer]:
    dirs = sorted({p.rsplit("/", i)[0] for p in files for i in range(1, p.count("/")) if p.rsplit("/", i)[0]})
    return [Layer([Entry.dir(d) for d in dirs] + [Entry.file(p, c) for p, c in files.items()],
                  created_by="COPY app/ /app/")]


@pytest.fixture
def scan_of(scan_layers):
    return lambda files: scan_layers(image_with(files))


def paths(result, rule_id):
    return sorted(f.path for f in result.findings if f.rule_id == rule_id)


def test_secret_in_a_jar_inside_a_war_names_both_members(scan_of):
    jar = zip_of({"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\n", "config/application.properties": PROPERTIES})
    war = zip_of({"WEB-INF/web.xml": b"<web-app/>", "WEB-INF/lib/billing.jar": jar})
    result = scan_of({"/app/lib/billing.jar": jar, "/srv/shop.war": war})
    assert paths(result, "secret.github-pat") == [
        "/app/lib/billing.jar!/config/application.properties",
        "/srv/shop.war!/WEB-INF/lib/billing.jar!/config/application.properties"]
    finding = next(f for f in result.findings if f.rule_id == "secret.github-pat")
    assert finding.severity == "high" and finding.layer == 0 and finding.in_final_image
    assert finding.line == 2 and finding.created_by == "COPY app/ /app/"
    assert GITHUB not in finding.evidence and finding.evidence.startswith("github.token=ghp_")


def test_tar_gz_and_plain_tar_members_are_scanned(scan_of):
    key = (b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
           b"QyNTUxOQAAACB" + b"Q" * 60 + b"\n-----END OPENSSH PRIVATE KEY-----\n")
    result = scan_of({"/backup/home.tar.gz": tar_of({"root/.ssh/id_ed25519": key}),
                      "/backup/plain.tar": tar_of({"etc/app.env": b"GITHUB_TOKEN=" + GITHUB.encode() + b"\n"}, "w")})
    assert "/backup/home.tar.gz!/root/.ssh/id_ed25519" in paths(result, "secret.private-key-openssh")
    # a plain tar holds its members' bytes as they are: the tar itself matches too
    assert paths(result, "secret.github-pat") == ["/backup/plain.tar", "/backup/plain.tar!/etc/app.env"]


def test_yara_rules_run_on_members(scan_of):
    miner = b'#!/bin/sh\n./xmrig -o stratum+tcp://pool.minexmr.com:4444 -u 44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A\n'
    result = scan_of({"/opt/tools.zip": zip_of({"bin/start.sh": miner})})
    inside = [f for f in result.findings if f.path == "/opt/tools.zip!/bin/start.sh"]
    assert any(f.category == "miner" and f.severity in ("high", "critical") for f in inside), inside


def test_a_zip_bomb_stops_at_the_ratio_cap_and_says_so(scan_of):
    bomb = zip_of({"data.bin": b"\0" * (64 << 20), "after.properties": PROPERTIES})
    assert len(bomb) < 300_000
    result = scan_of({"/app/bomb.zip": bomb})
    [found] = [f for f in result.findings if f.rule_id == "suspicious.archive-bomb"]
    assert found.path == "/app/bomb.zip!/data.bin" and found.severity == "high"
    read = int(found.evidence.split("inflates past ")[1].split(" ")[0])
    assert archives.RATIO_GRACE < read <= archives.MAX_RATIO * len(bomb) + (1 << 20)  # stopped near the cap
    assert paths(result, "secret.github-pat") == ["/app/bomb.zip!/after.properties"]  # the rest still scanned


def test_a_gzip_tar_bomb_stops_at_the_ratio_cap(scan_of):
    raw = tar_of({"zeros": b"\0" * (100 << 20)}, "w")
    bomb = gzip.compress(raw, 1)
    result = scan_of({"/app/b.tar.gz": bomb})
    [found] = [f for f in result.findings if f.rule_id == "suspicious.archive-bomb"]
    assert found.path == "/app/b.tar.gz" and "passes 200x" in found.evidence


def test_nesting_deeper_than_the_cap_is_reported(scan_of):
    data = zip_of({"deep.properties": PROPERTIES})
    for level in range(5):
        data = zip_of({f"level{level}.zip": data})
    result = scan_of({"/app/nest.zip": data})
    assert paths(result, "secret.github-pat") == []  # five levels down: past MAX_DEPTH
    [capped] = [f for f in result.findings if f.rule_id == "integrity.archive-not-fully-scanned"]
    assert capped.path == "/app/nest.zip!/level4.zip!/level3.zip!/level2.zip" and "depth cap 3" in capped.evidence


def test_member_and_byte_caps_are_reported(scan_of, monkeypatch):
    monkeypatch.setattr(archives, "MAX_MEMBERS", 5)
    many = zip_of({f"f{i}.txt": b"x" for i in range(4)} | {"z.properties": PROPERTIES, "zz.properties": PROPERTIES})
    result = scan_of({"/app/many.zip": many})
    [capped] = [f for f in result.findings if f.rule_id == "integrity.archive-not-fully-scanned"]
    assert "lists 6 members, more than the cap of 5" in capped.evidence and capped.path == "/app/many.zip"
    monkeypatch.setattr(archives, "MAX_MEMBERS", 20_000)
    monkeypatch.setattr(archives, "MAX_TOTAL", 1 << 20)
    big = zip_of({"a.bin": os.urandom(700_000), "b.bin": os.urandom(700_000), "c.properties": PROPERTIES},
                 zipfile.ZIP_STORED)
    result = scan_of({"/app/big.zip": big})
    [capped] = [f for f in result.findings if f.rule_id == "integrity.archive-not-fully-scanned"]
    assert "more than 1 MiB uncompressed" in capped.evidence
    assert paths(result, "secret.github-pat") == ["/app/big.zip"]  # stored: the zip itself shows it, no member


def test_climbing_and_absolute_member_names_stay_under_the_archive(scan_of):
    evil = zip_of({"../../../etc/cron.d/x": b"GITHUB_TOKEN=" + GITHUB.encode() + b"\n", "/etc/passwd": b"root::0:0::/:/bin/sh\n"})
    result = scan_of({"/app/slip.zip": evil})
    assert paths(result, "suspicious.archive-unsafe-path") == ["/app/slip.zip!/etc/cron.d/x", "/app/slip.zip!/etc/passwd"]
    assert paths(result, "secret.github-pat") == ["/app/slip.zip!/etc/cron.d/x"]
    assert all(f.path.startswith("/app/slip.zip!/") for f in result.findings if f.path and "slip" in f.path)


def test_a_damaged_archive_is_reported_and_what_came_before_is_scanned(scan_of):
    good = tar_of({"a/app.env": b"GITHUB_TOKEN=" + GITHUB.encode() + b"\n", "b/big.bin": os.urandom(400_000)})
    result = scan_of({"/app/cut.tgz": good[: len(good) // 2], "/app/notzip.jar": b"PK\x03\x04" + b"\x00" * 100})
    assert paths(result, "secret.github-pat") == ["/app/cut.tgz!/a/app.env"]
    assert paths(result, "integrity.archive-damaged") == ["/app/cut.tgz", "/app/notzip.jar"]


def test_files_named_like_archives_but_not_archives_are_left_alone(scan_of):
    result = scan_of({"/app/readme.zip": b"this is text, GITHUB_TOKEN=" + GITHUB.encode() + b"\n"})
    assert paths(result, "secret.github-pat") == ["/app/readme.zip"]
    assert not [f for f in result.findings if f.rule_id.startswith(("integrity.archive", "suspicious.archive"))]


def test_member_survives_the_layer_encoding():
    entry = FileEntry("/a.jar", EntryKind.FILE, 0, size=10)
    walk = WalkResult(LayerStats(0))
    walk.entries = [entry]
    match = Match("secret.github-pat", "secret", "high", "t", "ev", 2, "", "!/x.properties")
    [(_, back)] = decode(encode(LayerOutcome(walk, [(entry, match)])), 0).matches
    assert back == match


def test_cli_json_names_the_member(make_image):
    jar = zip_of({"config/application.properties": PROPERTIES})
    image = make_image(image_with({"/app/lib/billing.jar": jar}))
    proc = subprocess.run([sys.executable, "-m", "explorer", "scan", image, "--format", "json", "--no-progress",
                           "--no-cache"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert GITHUB not in proc.stdout
    doc = json.loads(proc.stdout)
    [found] = [f for f in doc["findings"] if f["rule_id"] == "secret.github-pat"]
    assert found["path"] == "/app/lib/billing.jar!/config/application.properties" and found["layer"] == 0


def test_a_central_directory_larger_than_its_cap_is_not_parsed(monkeypatch):
    """zipfile reads every record of the central directory whatever count the end record states: a
    directory over MAX_DIRECTORY bytes is not handed to it (its records would each cost an object)."""
    data = zip_of({f"m{i:05d}.txt": b"x" for i in range(300)})
    end = data.rfind(b"PK\x05\x06")
    forged = data[:end + 8] + (1).to_bytes(2, "little") + (1).to_bytes(2, "little") + data[end + 12:]
    monkeypatch.setattr(archives, "MAX_DIRECTORY", 10_000)  # the directory: 300 records of 56 bytes
    entry = FileEntry("/a.zip", EntryKind.FILE, 0, size=len(forged))
    [capped] = archives.ArchiveMembers().scan(entry, forged)
    assert capped.rule_id == "integrity.archive-not-fully-scanned"
    assert "has a central directory of 16800 bytes, more than the cap" in capped.evidence
