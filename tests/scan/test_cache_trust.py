"""Who can write the cache decides what a scan reports: the cache folder and its files are checked
(no symlinks, nobody else's, not writable by others), rows carry a MAC under a per-user key, and
every file explorer keeps lives in the one cache folder, none written with --no-cache."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.core import locations
from explorer.scan.cache import KEY_NAME, LayerCache, pack, unpack
from explorer.main import main
from explorer.demo.imagewriter import Entry, ImageSpec, Layer
from explorer.detectors.token_checksums import with_checksum

REPO = Path(__file__).resolve().parents[2]
GITHUB = b"token = " + with_checksum("ghp_", "Zq8Rt1yZp0Lm4Nc7Xw2Ds9Fh6Jg5Ae").encode() + b"\n"


@pytest.fixture
def image(make_image) -> str:
    return make_image(ImageSpec(layers=[
        Layer([Entry.dir("/etc"), Entry.file("/etc/motd", b"hello\n")], created_by="ADD rootfs.tar /"),
        Layer([Entry.dir("/srv"), Entry.file("/srv/.env", GITHUB)], created_by="COPY .env /srv/"),
    ]))


def run_scan(image: str, capsys, *flags: str) -> tuple[int, list[str], str]:
    code = main(["scan", image, "--format", "json", "--no-progress", "--jobs", "1", *flags])
    out, err = capsys.readouterr()
    return code, sorted(f["rule_id"] for f in json.loads(out)["findings"]), err


def test_a_symlinked_database_is_not_followed(image, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "c"
    folder.mkdir()
    victim = tmp_path / "victim"
    victim.write_bytes(b"")  # an empty file: SQLite would make it a database
    (folder / "layers.sqlite").symlink_to(victim)
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(folder))
    code, rules, err = run_scan(image, capsys)
    assert code == 0 and "secret.github-pat" in rules
    assert victim.read_bytes() == b""
    assert "layer cache" in err and "symbolic link" in err and "Traceback" not in err
    kept = sorted(p.name for p in folder.iterdir() if not p.name.endswith(".yarc"))
    assert kept == ["layers.sqlite"], "no key, no WAL: the database was not opened"


@pytest.mark.parametrize("companion", ["layers.sqlite-wal", "layers.sqlite-shm", KEY_NAME])
def test_a_symlinked_file_in_the_cache_folder_is_not_followed(image, tmp_path, monkeypatch, capsys, companion):
    folder = tmp_path / "c"
    folder.mkdir()
    victim = tmp_path / "victim"
    victim.write_bytes(b"x" * 32)
    (folder / companion).symlink_to(victim)
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(folder))
    code, rules, err = run_scan(image, capsys)
    assert code == 0 and "secret.github-pat" in rules
    assert victim.read_bytes() == b"x" * 32
    assert "symbolic link" in err and str(folder / companion) in err


def test_a_symlinked_cache_folder_is_not_used(image, tmp_path, monkeypatch, capsys):
    real = tmp_path / "elsewhere"
    real.mkdir()
    (tmp_path / "c").symlink_to(real)
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "c"))
    code, rules, err = run_scan(image, capsys)
    assert code == 0 and "secret.github-pat" in rules
    assert "symbolic link" in err
    assert list(real.iterdir()) == [], "no database, no key, no compiled rules through the link"


@pytest.mark.parametrize("mode", [0o777, 0o757, 0o1777])
def test_a_cache_folder_writable_by_others_is_not_used(image, tmp_path, monkeypatch, capsys, mode):
    folder = tmp_path / "c"
    folder.mkdir()
    folder.chmod(mode)
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(folder))
    code, rules, err = run_scan(image, capsys)
    assert code == 0 and "secret.github-pat" in rules
    assert f"writable by others (mode {mode:o})" in err
    assert list(folder.iterdir()) == []


def test_a_group_writable_folder_is_used_only_when_the_group_is_the_users_own(image, tmp_path, monkeypatch,
                                                                                capsys):
    import grp
    import pwd

    user = pwd.getpwuid(os.geteuid())
    other = next((g.gr_gid for g in grp.getgrall() if g.gr_gid != user.pw_gid), None)
    if other is None:
        pytest.skip("no second group on this system")
    folder = tmp_path / "c"
    folder.mkdir()
    folder.chmod(0o770)
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(folder))
    own_private = locations._own_group(user.pw_gid)
    code, rules, err = run_scan(image, capsys)
    assert code == 0 and "secret.github-pat" in rules
    assert ("writable by others" in err) is not own_private
    os.chown(folder, -1, other)
    for child in folder.iterdir():
        child.unlink()
    code, rules, err = run_scan(image, capsys)
    assert code == 0 and "writable by others (mode 770)" in err and list(folder.iterdir()) == []


def test_a_cache_folder_of_another_user_is_not_used(image, tmp_path, monkeypatch, capsys):
    if os.geteuid() != 0:
        pytest.skip("giving a folder to another user needs root")
    folder = tmp_path / "c"
    folder.mkdir()
    os.chown(folder, 65534, 65534)
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(folder))
    code, rules, err = run_scan(image, capsys)
    assert code == 0 and "secret.github-pat" in rules and "belongs to user 65534" in err
    assert list(folder.iterdir()) == []


def test_a_new_cache_folder_and_its_key_are_private(image, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "made" / "c"
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(folder))
    code, rules, err = run_scan(image, capsys)
    assert code == 0 and err == ""
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    key = folder / KEY_NAME
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_bytes()) == 32
    assert not [p for p in folder.iterdir() if p.name.startswith(".key-")], "the temporary key is gone"
    before = key.read_bytes()
    assert run_scan(image, capsys)[2] == "" and key.read_bytes() == before, "made once, then kept"


def test_a_key_readable_by_others_is_refused(image, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "c"
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(folder))
    run_scan(image, capsys)
    (folder / KEY_NAME).chmod(0o644)
    code, rules, err = run_scan(image, capsys)
    assert code == 0 and "secret.github-pat" in rules and "can be read by others" in err


def _forge(folder: Path) -> int:
    """Rewrite every row as someone without the key could: layer rows without their file matches,
    whole results without findings, each with a valid plain sha256 of its payload (the old checksum)."""
    db = sqlite3.connect(folder / "layers.sqlite")
    forged = 0
    for key, payload in db.execute("SELECT key, payload FROM layers").fetchall():
        doc = list(unpack(payload))
        findings = [m for m in doc[4] if not m[1].startswith("fact.")]  # facts (package hashes) are not findings
        if findings:
            doc[4] = [m for m in doc[4] if m not in findings]
            clean = pack(tuple(doc))
            db.execute("UPDATE layers SET payload = ?, checksum = ? WHERE key = ?",
                       (clean, hashlib.sha256(clean).hexdigest(), key))
            forged += 1
    for key, payload in db.execute("SELECT key, payload FROM images").fetchall():
        version, layers, problems, _findings = unpack(payload)
        clean = pack((version, layers, problems, []))
        db.execute("UPDATE images SET payload = ?, checksum = ? WHERE key = ?",
                   (clean, hashlib.sha256(clean).hexdigest(), key))
    db.commit()
    db.close()
    return forged


def test_a_forged_row_with_a_valid_plain_checksum_is_not_trusted_and_is_rewritten(image, tmp_path, monkeypatch,
                                                                                  capsys):
    folder = tmp_path / "c"
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(folder))
    _code, cold, _err = run_scan(image, capsys)
    assert "secret.github-pat" in cold
    assert _forge(folder) == 1  # the layer of /srv/.env (the other row holds only package-hash facts)
    for flags in ((), ("--fail-on", "high")):  # whole result (images row), then layer rows
        code, warm, err = run_scan(image, capsys, *flags)
        assert warm == cold and err == "", "the forged rows were ignored"
        assert code == (1 if flags else 0)
    with open(folder / "layers.sqlite", "rb"):
        cache = LayerCache(folder)
        try:
            rows = cache._connect().execute("SELECT key FROM layers").fetchall()
            assert rows and all(cache.payload(key) is not None for key, in rows), "rewritten with a good MAC"
        finally:
            cache.close()


def test_a_forged_hashed_blob_row_vouches_for_nothing(tmp_path):
    from explorer.sources.blobstore import BlobIdentity  # noqa: F401 - the type the rows are about

    cache = LayerCache(tmp_path / "c")
    try:
        db = cache._connect()

        class Identity:
            key = "file:/some/archive.tar:1:2"

        db.execute("INSERT INTO blobs VALUES (?, ?, ?, ?)",
                   (Identity.key, "sha256:" + "0" * 64, hashlib.sha256(b"x").hexdigest(), 0.0))
        assert not cache.vouched(Identity(), "sha256:" + "0" * 64)
        db.execute("UPDATE blobs SET checksum = ?", (cache._mac("blobs", Identity.key, "sha256:" + "0" * 64),))
        assert cache.vouched(Identity(), "sha256:" + "0" * 64)
    finally:
        cache.close()


def _files(*folders: Path) -> list[str]:
    return sorted(str(p.relative_to(f)) for f in folders if f.exists() for p in f.rglob("*") if p.is_file())


def _run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "explorer", *args], env=env, capture_output=True, timeout=600,
                          cwd=REPO)


def test_compiled_rules_live_in_the_one_cache_folder_and_nowhere_with_no_cache(image, tmp_path):
    home, xdg, chosen, tmp = tmp_path / "home", tmp_path / "xdg", tmp_path / "chosen", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    env = dict(os.environ, HOME=str(home), XDG_CACHE_HOME=str(xdg), EXPLORER_CACHE_DIR=str(chosen),
               PYTHONPATH=str(REPO), TMPDIR=str(tmp))
    done = _run(env, "scan", image, "--format", "json", "--no-progress", "--no-cache", "--jobs", "2")
    assert done.returncode == 0, done.stderr
    assert _files(home, xdg, chosen) == [] and not chosen.exists()
    assert [p.name for p in tmp.iterdir() if p.name.startswith("explorer-rules-")] == [], "the run's rules went"
    done = _run(env, "scan", image, "--format", "json", "--no-progress", "--jobs", "2")
    assert done.returncode == 0 and done.stderr == b"", done.stderr
    assert _files(home, xdg) == []
    made = _files(chosen)
    assert any(name.endswith(".yarc") for name in made) and "layers.sqlite" in made, made
    env.pop("EXPLORER_CACHE_DIR")
    done = _run(env, "scan", image, "--format", "json", "--no-progress")
    assert done.returncode == 0 and _files(home) == []
    assert any(name.startswith("explorer/") and name.endswith(".yarc") for name in _files(xdg))


def _no_terminal_needed(monkeypatch) -> None:
    """The UI's run is replaced in these tests: it needs no terminal (where run_ui checks for one)."""
    import explorer.tui.launch as ui

    monkeypatch.setattr(ui, "need_terminal", lambda *a, **kw: None, raising=False)


def test_demo_with_no_cache_writes_nothing_in_the_cache_folder(tmp_path, monkeypatch):
    """`explorer demo --no-cache`: the demo image goes to a temporary folder that goes with the UI,
    the detectors read and write no compiled rules, and no layer cache is used."""
    import explorer.demo as demo
    from explorer.tui.app import ExplorerApp

    folder = tmp_path / "c"
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(folder))
    _no_terminal_needed(monkeypatch)
    written, seen = [], []
    real_write = demo.write_demo
    monkeypatch.setattr(demo, "write_demo", lambda *a, **kw: written.append(real_write(*a, **kw)) or written[-1])
    monkeypatch.setattr(ExplorerApp, "run", lambda app: seen.append((app.options.cache, app._cache,
                                                                     [os.path.isfile(p) for p in written])))
    assert main(["demo", "--no-cache"]) == 0
    assert seen == [(False, None, [True])], "the UI ran on a demo image written for it, with no cache"
    assert not os.path.exists(written[0]) and not os.path.exists(os.path.dirname(written[0]))
    assert not folder.exists()
    assert main(["demo"]) == 0
    assert seen[1][0] is True and isinstance(seen[1][1], LayerCache)
    assert len(written) == 1 and [p.name for p in folder.iterdir() if p.name.startswith("explorer-demo-")]


def test_demo_with_an_unsafe_cache_folder_runs_from_a_temporary_folder(tmp_path, monkeypatch):
    import explorer.demo as demo
    from explorer.tui.app import ExplorerApp

    folder = tmp_path / "c"
    folder.mkdir()
    folder.chmod(0o777)
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(folder))
    _no_terminal_needed(monkeypatch)
    written, seen = [], []
    real_write = demo.write_demo
    monkeypatch.setattr(demo, "write_demo", lambda *a, **kw: written.append(real_write(*a, **kw)) or written[-1])
    monkeypatch.setattr(ExplorerApp, "run", lambda app: seen.append(os.path.isfile(written[0])))
    assert main(["demo"]) == 0
    assert seen == [True] and not os.path.exists(written[0]) and list(folder.iterdir()) == []


def test_with_no_cache_workers_load_the_rules_this_process_compiled_from_a_folder_of_the_run(tmp_path,
                                                                                            monkeypatch):
    import gc

    from explorer.detectors.base import ScanOptions
    from explorer.detectors.registry import build_detectors

    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "c"))
    detectors = build_detectors(ScanOptions(cache=False))
    private = detectors.file[0].cache_path.parent
    assert private.name.startswith("explorer-rules-") and stat.S_IMODE(private.stat().st_mode) == 0o700
    assert not detectors.file[0].loaded_from_cache
    in_worker = detectors.factory()  # what a worker process builds
    assert in_worker.file[0].loaded_from_cache and in_worker.file[0].cache_path.parent == private
    del in_worker, detectors
    gc.collect()
    assert not private.exists() and not (tmp_path / "c").exists()
