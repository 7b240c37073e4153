"""The layer-result cache and worker processes: same results as a plain read, fewer layers read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import explorer.layerfs.analysis as analysis_module
from explorer.scan.cache import LayerCache
from explorer.main import main
from explorer.detectors.registry import build_detectors
from explorer.scan.engine import analyze_image, scan
from explorer.demo.imagewriter import Entry, ImageSpec, Layer
from explorer.reports.findings_json import scan_document
from explorer.reports.image import layers_document
from explorer.sources import open_image

REPO = Path(__file__).resolve().parents[2]
AWS = b"aws_access_key_id = AKIAZ7VQ3LMN4PQRST2X\naws_secret_access_key = kq3Vb8Rt1yZp0Lm4Nc7Xw2Ds9Fh6Jg5Ae3Ui0OoP\n"
"""A made-up AWS key pair (not AWS's documented example, so that it is reported high)."""


def base_layers() -> list[Layer]:
    return [
        Layer([Entry.dir("/etc"), Entry.file("/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"),
               Entry.file("/etc/app.env", AWS), Entry.file("/bin/sh", b"\x7fELF" + bytes(64), mode=0o755),
               Entry.hardlink("/bin/ash", "/bin/sh")], created_by="ADD rootfs.tar /"),
        Layer([Entry.file("/root/.aws/credentials", b"[default]\n" + AWS, mode=0o600),
               Entry.symlink("/bin/bash", "sh")], created_by="COPY credentials /root/.aws/", compression="zstd"),
    ]


def image_with(make_image, *extra: Layer, format: str = "docker-archive") -> str:
    return make_image(ImageSpec(layers=base_layers() + list(extra)), format)


TOP = Layer([Entry.whiteout("/etc/app.env"), Entry.file("/srv/run.sh", b"#!/bin/sh\nexec /bin/ash\n", mode=0o755)],
            created_by="RUN rm /etc/app.env")


@pytest.fixture
def detectors():
    return build_detectors()


@pytest.fixture
def cache(tmp_path):
    c = LayerCache(tmp_path / "cache")
    yield c
    c.close()


@pytest.fixture
def walks(monkeypatch):
    """The layers this process really read (walk_layer calls), by index: the counting hook."""
    seen: list[int] = []
    real = analysis_module.walk_layer

    def counting(blob, ref, *args, **kw):
        seen.append(ref.index)
        return real(blob, ref, *args, **kw)

    monkeypatch.setattr(analysis_module, "walk_layer", counting)
    return seen


def scan_json(image: str, detectors, **kw) -> tuple[str, object]:
    with open_image(image) as source:
        result = scan(source, detectors, **kw)
        return json.dumps(scan_document(result), indent=1), result


def test_warm_scan_is_byte_identical_and_reads_nothing(make_image, detectors, cache, walks):
    image = image_with(make_image, TOP)
    cold, cold_result = scan_json(image, detectors, cache=cache)
    assert walks == [0, 1, 2] and cold_result.cached_layers == []
    assert any(f["rule_id"].startswith("secret.aws") for f in json.loads(cold)["findings"])
    walks.clear()
    warm, warm_result = scan_json(image, detectors, cache=cache)
    assert walks == [] and warm_result.cached_layers == [0, 1, 2]
    assert warm == cold
    # the stacked image is the same too: hard link digests across layers, fates, in_final_image
    assert warm_result.analysis.fates == cold_result.analysis.fates
    assert [f.in_final_image for f in warm_result.findings] == [f.in_final_image for f in cold_result.findings]


def test_an_image_sharing_base_layers_reads_only_its_new_layers(make_image, detectors, cache, walks):
    scan_json(image_with(make_image, TOP), detectors, cache=cache)
    walks.clear()
    other = Layer([Entry.file("/srv/other.txt", b"hello\n")], created_by="COPY other.txt /srv/")
    second = image_with(make_image, other)
    fresh, result = scan_json(second, detectors, cache=cache)
    assert walks == [2] and result.cached_layers == [0, 1]
    uncached, _ = scan_json(second, detectors)
    assert fresh == uncached


def test_a_cached_layer_at_another_index_reports_its_new_index(make_image, detectors, cache, walks):
    creds = base_layers()[1]
    scan_json(image_with(make_image), detectors, cache=cache)
    walks.clear()
    moved = make_image(ImageSpec(layers=[creds]))
    warm, result = scan_json(moved, detectors, cache=cache)
    assert walks == [] and result.cached_layers == [0]
    assert warm == scan_json(moved, detectors)[0]
    assert {f.layer for f in result.findings if f.source == "file"} == {0}


def test_a_tampered_blob_claiming_a_cached_digest_is_read_again(make_image, detectors, cache, walks):
    spec = ImageSpec(layers=[Layer([Entry.file("/etc/motd", b"hello " * 20)], compression="none")])
    layout = make_image(spec, "oci")
    scan_json(layout, detectors, cache=cache)
    walks.clear()
    blobs = Path(layout) / "blobs" / "sha256"
    (blob,) = [p for p in blobs.iterdir() if b"hello hello" in p.read_bytes()]
    data = blob.read_bytes()
    blob.write_bytes(data.replace(b"hello hello hello", b"hello AKIAZ7VQ3LMN4PQ"))  # same size, other bytes
    tampered, result = scan_json(layout, detectors, cache=cache)
    assert walks == [0] and result.cached_layers == []
    rules = {f.rule_id for f in result.findings}
    assert "integrity.digest-mismatch" in rules


def test_no_cache_bypasses_the_cache(make_image, tmp_path, monkeypatch, capsys, walks):
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "c"))
    image = image_with(make_image, TOP)
    assert main(["scan", image, "--format", "json", "--no-cache", "--no-progress"]) == 0
    assert not (tmp_path / "c").exists() and walks == [0, 1, 2]
    assert main(["layers", image, "--format", "json"]) == 0
    assert main(["scan", image, "--format", "json", "--no-progress"]) == 0
    walks.clear()
    assert main(["scan", image, "--format", "json", "--no-progress"]) == 0
    assert walks == []
    assert main(["scan", image, "--format", "json", "--no-cache", "--no-progress"]) == 0
    assert walks == [0, 1, 2]
    capsys.readouterr()


def test_layers_command_uses_the_cache_with_the_same_numbers(make_image, cache, walks):
    image = image_with(make_image, TOP)
    with open_image(image) as source:
        cold = layers_document(analyze_image(source, cache=cache))
    walks.clear()
    with open_image(image) as source:
        warm = layers_document(analyze_image(source, cache=cache))
    assert walks == [] and warm == cold


def test_a_corrupt_cache_file_is_a_warning_and_the_scan_goes_on(make_image, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "layers.sqlite").write_bytes(b"this is not a database" * 100)
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(folder))
    image = image_with(make_image, TOP)
    assert main(["scan", image, "--format", "json", "--no-progress"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["findings"] and "layer cache" in err and "Traceback" not in err
    assert main(["scan", image, "--format", "json", "--no-progress", "--no-cache"]) == 0
    assert capsys.readouterr().out == out


def test_a_row_whose_payload_was_damaged_is_a_miss(make_image, detectors, cache, walks):
    image = image_with(make_image, TOP)
    cold, _ = scan_json(image, detectors, cache=cache)
    cache._connect().execute("UPDATE layers SET payload = substr(payload, 1, 10) || x'00' || substr(payload, 12)")
    walks.clear()
    warm, result = scan_json(image, detectors, cache=cache)
    assert walks == [0, 1, 2] and warm == cold


def test_two_concurrent_scans_share_one_cache(make_image, tmp_path):
    image = image_with(make_image, TOP)
    env = dict(os.environ, EXPLORER_CACHE_DIR=str(tmp_path / "shared"), PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "explorer", "scan", image, "--format", "json", "--no-progress"]
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], [err for _, err in outputs]
    assert all(err == b"" for _, err in outputs)
    assert outputs[0][0] == outputs[1][0] == outputs[2][0]
    again = subprocess.run(command, env=env, capture_output=True, timeout=300)
    assert again.returncode == 0 and again.stdout == outputs[0][0]


def test_worker_processes_give_the_same_report_and_progress(make_image, detectors, cache):
    image = image_with(make_image, TOP)
    seen = []
    one, _ = scan_json(image, detectors)
    two, result = scan_json(image, detectors, jobs=2, cache=cache,
                            progress=lambda layer, done, total: seen.append((layer, done)))
    assert two == one and result.cached_layers == []
    assert {layer for layer, _ in seen} == {0, 1, 2}
    warm, result = scan_json(image, detectors, jobs=2, cache=cache)
    assert warm == one and result.cached_layers == [0, 1, 2]


def test_detectors_without_a_factory_run_in_this_process(make_image, walks):
    from explorer.scan.engine import DetectorSet

    from tests.scan.test_engine import DETECTORS, spec

    assert DETECTORS.factory is None
    with open_image(make_image(spec())) as source:
        result = scan(source, DETECTORS, jobs=2)
    assert walks == [0, 1, 2] and any(f.rule_id == "test.needle" for f in result.findings)
    assert isinstance(DETECTORS, DetectorSet)


def test_the_rows_used_longest_ago_go_first_past_the_size_cap(cache):
    for name in ("a", "b", "c"):
        cache.store(name, "sha256:" + name, 1, name.encode() * 100, max_bytes=250)
    assert cache.lookup("a") is None and cache.lookup("b") and cache.lookup("c")
    assert cache.payload("b") == b"b" * 100  # b is now the row used last
    cache.store("d", "sha256:d", 1, b"d" * 100, max_bytes=250)
    assert cache.lookup("c") is None and cache.lookup("b") and cache.lookup("d")


def test_the_cache_never_holds_an_unmasked_secret(make_image, cache):
    from explorer.scan.cache import unpack

    from explorer.detectors.base import FileDetector
    from explorer.scan.engine import DetectorSet
    from explorer.core.findings import Match

    token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"

    class Quoting(FileDetector):
        """A non-secret rule whose evidence quotes the line (as a miner rule quoting a pool URL does)."""
        name = "quoting"

        def wants(self, entry):
            return entry.size > 0

        def scan(self, entry, data):
            if b"TOKEN" in data:
                yield Match("test.quote", "suspicious", "low", "quotes", evidence=data.decode().strip())

    detectors = DetectorSet(file=[Quoting()], rules_sha256="1" * 64)
    image = make_image([Layer([Entry.file("/app/run.sh", f"GITHUB_TOKEN={token}\n".encode())])])
    cold, _ = scan_json(image, detectors, cache=cache)
    for table in ("layers", "images"):  # layer rows, and the whole result
        rows = cache._connect().execute(f"SELECT payload FROM {table}").fetchall()
        assert rows and all(token not in repr(unpack(p)) for (p,) in rows)
    assert token not in cold and "GITHUB_TOKEN=" in cold
    assert scan_json(image, detectors, cache=cache)[0] == cold
