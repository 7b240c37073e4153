"""A warm re-scan: blob files hashed before are not hashed again while they are unchanged (the
identity of the file: inode, size, mtime, ctime), and a whole result is taken from the cache when
the caller needs no stacked image; a changed or tampered archive is still hashed and reported."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import explorer.scan.cache as cache_module
import explorer.scan.layerjobs as layerjobs
from explorer.scan.cache import LayerCache
from explorer.main import main
from explorer.detectors.base import ScanOptions
from explorer.scan.engine import scan
from explorer.demo.imagewriter import Entry, ImageSpec, Layer
from explorer.reports.findings_json import scan_document
from explorer.sources import open_image

from tests.scan.test_engine import DETECTORS
from tests.scan.test_layer_cache import TOP, base_layers, cache, walks  # noqa: F401 - fixtures

MOTD = b"motd: welcome to the box\n"


@pytest.fixture
def settled(monkeypatch):
    """Blob files count as settled at once (the images here were written a moment ago; by default a
    file changed less than RACY_NS before it is hashed is not remembered)."""
    monkeypatch.setattr(cache_module, "RACY_NS", 0)


@pytest.fixture
def hashed(monkeypatch):
    """The blobs this process hashed to check a cache row, by layer index."""
    seen: list[int] = []
    real = cache_module._blob_matches

    def counting(source, ref, digest, size):
        seen.append(ref.index)
        return real(source, ref, digest, size)

    monkeypatch.setattr(cache_module, "_blob_matches", counting)
    return seen


@pytest.fixture
def decoded(monkeypatch):
    seen: list[int] = []
    real = layerjobs.decode

    def counting(payload, index):
        seen.append(index)
        return real(payload, index)

    monkeypatch.setattr(layerjobs, "decode", counting)
    return seen


def image_with(make_image, *layers: Layer, format: str = "docker-archive") -> str:
    return make_image(ImageSpec(layers=base_layers() + list(layers)), format)


def plain_motd(make_image, format: str) -> str:
    """An image whose one layer is stored uncompressed, so that its bytes can be changed in place."""
    spec = ImageSpec(layers=[Layer([Entry.file("/etc/motd", MOTD)], compression="none")])
    return make_image(spec, format)


def scanned(image: str, cache, **kw):
    with open_image(image) as source:
        result = scan(source, DETECTORS, cache=cache, **kw)
        return json.dumps(scan_document(result), indent=1), result


def rewrite_keeping_size_and_mtime(path: Path, old: bytes, new: bytes) -> None:
    """Change bytes in place, then set the mtime back (as `touch -d` would): only ctime tells."""
    assert len(old) == len(new)
    st = path.stat()
    data = path.read_bytes()
    assert data.count(old) == 1
    with open(path, "r+b") as fh:
        fh.seek(data.index(old))
        fh.write(new)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (st.st_size, st.st_mtime_ns)


def test_a_rescan_of_the_unchanged_archive_hashes_nothing(make_image, cache, settled, hashed, walks):
    image = image_with(make_image, TOP)
    cold, _ = scanned(image, cache)
    assert walks == [0, 1, 2] and hashed == []  # the cold read itself vouched for the three blobs
    walks.clear()
    warm, result = scanned(image, cache)
    assert warm == cold and walks == [] and hashed == [] and result.cached_layers == [0, 1, 2]


def test_a_blob_changed_moments_before_it_was_read_is_hashed_next_time(make_image, cache, hashed, walks):
    image = image_with(make_image, TOP)  # written just now: within RACY_NS
    cold, _ = scanned(image, cache)
    walks.clear()
    warm, _ = scanned(image, cache)
    assert warm == cold and walks == [] and hashed == [0, 1, 2]


def test_a_layout_blob_hashed_on_a_warm_scan_is_not_hashed_on_the_next(make_image, cache, hashed, monkeypatch):
    image = image_with(make_image, TOP, format="oci")
    cold, _ = scanned(image, cache)
    assert scanned(image, cache)[0] == cold and hashed == [0, 1, 2]  # racy at the cold read: not remembered
    monkeypatch.setattr(cache_module, "RACY_NS", 0)
    hashed.clear()
    assert scanned(image, cache)[0] == cold and hashed == [0, 1, 2]  # remembered now
    hashed.clear()
    assert scanned(image, cache)[0] == cold and hashed == []


@pytest.mark.parametrize("format", ["docker-archive", "oci-archive", "oci"])
def test_the_same_bytes_written_again_with_the_old_mtime_are_hashed_again(make_image, cache, settled, hashed,
                                                                          walks, format):
    image = plain_motd(make_image, format)
    cold, _ = scanned(image, cache)
    blob = Path(image) if format != "oci" else next(p for p in (Path(image) / "blobs" / "sha256").iterdir()
                                                     if MOTD in p.read_bytes())
    rewrite_keeping_size_and_mtime(blob, MOTD, MOTD)
    walks.clear()
    warm, result = scanned(image, cache)
    assert warm == cold and walks == [] and hashed == [0] and result.cached_layers == [0]


@pytest.mark.parametrize("format", ["docker-archive", "oci-archive", "oci"])
@pytest.mark.parametrize("need_analysis", [True, False])
def test_a_tampered_blob_with_the_old_size_and_mtime_is_read_and_reported(make_image, cache, settled, walks,
                                                                          format, need_analysis):
    image = plain_motd(make_image, format)
    cold, _ = scanned(image, cache, need_analysis=need_analysis)
    assert scanned(image, cache, need_analysis=need_analysis)[0] == cold
    blob = Path(image) if format != "oci" else next(p for p in (Path(image) / "blobs" / "sha256").iterdir()
                                                     if MOTD in p.read_bytes())
    rewrite_keeping_size_and_mtime(blob, b"welcome", b"NEEDLE!")
    walks.clear()
    tampered, result = scanned(image, cache, need_analysis=need_analysis)
    assert walks == [0] and result.cached_layers == [] and not result.remembered
    rules = {f.rule_id for f in result.findings}
    assert "integrity.digest-mismatch" in rules and "test.needle" in rules


def test_a_whole_result_is_taken_without_decoding_or_stacking(make_image, cache, settled, hashed, decoded, walks):
    image = image_with(make_image, TOP)
    cold, cold_result = scanned(image, cache)
    assert not cold_result.remembered and cold_result.analysis is not None
    walks.clear()
    warm, result = scanned(image, cache, need_analysis=False)
    assert warm == cold and result.remembered and result.analysis is None
    assert walks == [] and decoded == [] and hashed == [] and result.cached_layers == [0, 1, 2]
    assert result.findings == cold_result.findings
    assert (result.summary.layers, result.summary.problems) == (cold_result.summary.layers, cold_result.summary.problems)
    # a caller that needs the stacked image gets it, from the layer rows
    again, full = scanned(image, cache)
    assert again == cold and not full.remembered and full.analysis is not None and decoded == [0, 1, 2]


def test_a_whole_result_checks_the_blobs_it_was_for(make_image, cache, hashed, walks):
    image = image_with(make_image, TOP)
    cold, _ = scanned(image, cache)
    walks.clear()
    warm, result = scanned(image, cache, need_analysis=False)
    assert warm == cold and result.remembered and hashed == [0, 1, 2] and walks == []


def test_whole_results_differ_by_options_and_by_image(make_image, cache, settled, walks):
    image = image_with(make_image, TOP)
    scanned(image, cache)
    off = ScanOptions(disabled=frozenset({"test.setuid", "test.root"}))
    with open_image(image) as source:
        fewer = scan(source, DETECTORS, off, cache=cache, need_analysis=False)
    assert not fewer.remembered and not {"test.root", "test.setuid"} & {f.rule_id for f in fewer.findings}
    with open_image(image) as source:
        again = scan(source, DETECTORS, off, cache=cache, need_analysis=False)
    assert again.remembered and again.findings == fewer.findings
    # the same layers under another config (another history line) is another result
    other = make_image(ImageSpec(layers=base_layers() + [TOP], extra_history=[(0, "RUN curl x")]))
    walks.clear()
    warm, result = scanned(other, cache, need_analysis=False)
    assert walks == [] and not result.remembered and result.cached_layers == [0, 1, 2]
    assert any(f.rule_id == "test.curl" for f in result.findings)
    assert warm == scanned(other, None)[0]


def test_a_damaged_image_is_never_remembered_whole(make_image, cache, settled, walks):
    broken = ImageSpec(layers=base_layers() + [TOP])
    broken.layers[0].wrong_diff_id = True
    image = make_image(broken)
    cold, _ = scanned(image, cache, need_analysis=False)
    walks.clear()
    warm, result = scanned(image, cache, need_analysis=False)
    assert warm == cold and not result.remembered and walks == [0]
    assert cache._connect().execute("SELECT count(*) FROM images").fetchone() == (0,)


def test_a_damaged_whole_result_is_a_miss(make_image, cache, settled, walks):
    image = image_with(make_image, TOP)
    cold, _ = scanned(image, cache)
    cache._connect().execute("UPDATE images SET payload = substr(payload, 1, 10) || x'00' || substr(payload, 12)")
    warm, result = scanned(image, cache, need_analysis=False)
    assert warm == cold and not result.remembered and result.cached_layers == [0, 1, 2]


@pytest.mark.parametrize("fmt", ["json", "sarif", "table"])
def test_the_command_line_report_is_the_same_from_the_whole_result(make_image, tmp_path, monkeypatch, capsys,
                                                                   settled, walks, fmt):
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "c"))
    image = image_with(make_image, TOP)
    assert main(["scan", image, "--format", fmt, "--no-progress"]) == 0
    cold = capsys.readouterr()
    walks.clear()
    assert main(["scan", image, "--format", fmt, "--no-progress"]) == 0
    warm = capsys.readouterr()
    assert walks == [] and warm == cold
    assert "AKIAZ7VQ3LMN4PQRST2X" not in warm.out


def test_a_daemon_export_is_always_hashed(make_image, cache):
    with open_image(image_with(make_image)) as source:
        ref = source.layers[0]
        assert cache.identity(source, ref) is not None
        source.kind = "docker-daemon"
        assert cache.identity(source, ref) is None


def test_the_hashed_blob_files_remembered_are_bounded(cache, monkeypatch, tmp_path):
    from explorer.sources.blobstore import file_identity

    monkeypatch.setattr(cache_module, "MAX_BLOBS", 2)
    identities = []
    for name in "abc":
        (tmp_path / name).write_bytes(name.encode())
        identities.append(file_identity(str(tmp_path / name)))
    for identity in identities:
        cache.vouch(identity, identity, "sha256:x", identity.changed + cache_module.RACY_NS + 1)
    assert [cache.vouched(i, "sha256:x") for i in identities] == [False, True, True]
    assert not cache.vouched(identities[2], "sha256:y")
    # racy (changed within RACY_NS of the read) or changed during the read: not remembered
    cache.vouch(identities[0], identities[0], "sha256:x", identities[0].changed + cache_module.RACY_NS)
    cache.vouch(identities[0], identities[1], "sha256:x", identities[0].changed + cache_module.RACY_NS + 1)
    assert not cache.vouched(identities[0], "sha256:x")


def test_a_warm_scan_taking_a_whole_result_writes_nothing(make_image, tmp_path, settled):
    image = image_with(make_image, TOP)
    first = LayerCache(tmp_path / "c")
    cold, _ = scanned(image, first)
    first.close()
    again = LayerCache(tmp_path / "c")
    warm, result = scanned(image, again, need_analysis=False)
    assert warm == cold and result.remembered and again._connect().total_changes == 0
    # used more than IMAGE_TOUCH ago: counted as used again
    db = again._connect()
    db.execute("UPDATE images SET written = written - ?", (cache_module.IMAGE_TOUCH + 60,))
    before = db.execute("SELECT written FROM images").fetchone()[0]
    assert scanned(image, again, need_analysis=False)[1].remembered
    assert db.execute("SELECT written FROM images").fetchone()[0] > before + cache_module.IMAGE_TOUCH
    again.close()


def test_a_warm_scan_imports_neither_the_reader_nor_rich(make_image, tmp_path, settled):
    """Start-up is most of a warm scan: the tar walker, gzip decoders, process pools and rich are
    left unimported when the whole result comes from the cache."""
    import subprocess
    import sys

    image = image_with(make_image, TOP)
    env = dict(os.environ, EXPLORER_CACHE_DIR=str(tmp_path / "c"), PYTHONPATH=str(Path(__file__).parents[2]))
    probe = ("import sys; from explorer.main import main; import explorer.scan.cache as c; c.RACY_NS = 0; "
             "code = main(sys.argv[1:]); "
             "print(sorted(m for m in ('explorer.layerfs.walker', 'explorer.scan.layerjobs', 'multiprocessing', "
             "'rich', 'isal') if m in sys.modules), code, file=sys.stderr)")
    command = [sys.executable, "-c", probe, "scan", image, "--format", "json", "--no-progress"]
    cold = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    warm = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert cold.stdout == warm.stdout and json.loads(warm.stdout)["findings"]
    assert "'explorer.layerfs.walker'" in cold.stderr
    assert warm.stderr.strip() == "[] 0"


def test_a_remembered_result_keeps_the_problems_warnings_and_exit_status(tmp_path, monkeypatch, capsys, settled,
                                                                        walks):
    """A layer with an unsafe member is cacheable (it was read to its end); the warnings, the
    integrity findings and the exit status come back the same from the whole result. The archive is
    of the legacy form: its layer names carry no digest, only the config's diff_ids are checked."""
    from tests.hostile.hostile_images import docker_archive, member, tar_bytes

    layer = tar_bytes([member("etc/motd", data=b"hi\n"), member("../../etc/evil", data=b"x\n")])
    image = docker_archive(tmp_path / "legacy.tar", [layer])
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "c"))
    runs = []
    for _ in range(2):
        walks.clear()
        code = main(["scan", image, "--format", "json", "--no-progress"])
        runs.append((code, *capsys.readouterr(), list(walks)))
    (code, out, err, read), (code2, out2, err2, read2) = runs
    assert read == [0] and read2 == []
    assert (code2, out2, err2) == (code, out, err)
    assert "unsafe-tar-path" in out and "evil" in err
