"""Precision sweeps: real operating-system and Python files must raise nothing high or critical.

- a Debian bookworm minbase root filesystem (debootstrap, cached under tests/.cache): every file through
  the FileDetectors, and the whole tree as one added layer through the LayerDetectors;
- this machine's /etc, /usr/bin and the CPython standard library (bounded).
"""

from __future__ import annotations

import os
import stat
import sysconfig
from pathlib import Path

import pytest

from debian_rootfs import RootfsUnavailable, debian_minbase
from explorer.detectors.base import FileDetector, LayerDetector, LayerDelta
from explorer.detectors.heuristics import HEURISTICS
from explorer.core.findings import at_least
from explorer.core.model import EntryKind, FileEntry

FILE_DETECTORS = [cls() for cls in HEURISTICS if issubclass(cls, FileDetector)]
LAYER_DETECTORS = [cls() for cls in HEURISTICS if issubclass(cls, LayerDetector)]
MAX_READ = 64 << 20


@pytest.fixture(scope="session")
def debian_root() -> Path:
    try:
        return debian_minbase()
    except RootfsUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Debian minbase rootfs unavailable under CI: {exc}")
        pytest.skip(f"Debian minbase rootfs unavailable: {exc}")


def _entry(full: str, image_path: str, st: os.stat_result) -> FileEntry:
    if stat.S_ISDIR(st.st_mode):
        kind = EntryKind.DIR
    elif stat.S_ISLNK(st.st_mode):
        kind = EntryKind.SYMLINK
    elif stat.S_ISREG(st.st_mode):
        kind = EntryKind.FILE
    else:
        kind = EntryKind.CHAR
    return FileEntry(path=image_path, kind=kind, layer=0, mode=stat.S_IMODE(st.st_mode), uid=st.st_uid,
                     gid=st.st_gid, size=st.st_size if kind == EntryKind.FILE else 0,
                     linkname=os.readlink(full) if kind == EntryKind.SYMLINK else None)


def walk(root: str, image_root: str | None = None, limit: int | None = None):
    """(host path, FileEntry) for everything under root; image paths relative to image_root if given."""
    count = 0
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs) + sorted(files):
            full = os.path.join(folder, name)
            try:
                st = os.lstat(full)
            except OSError:
                continue
            image_path = "/" + os.path.relpath(full, image_root) if image_root else full
            yield full, _entry(full, image_path, st)
            count += 1
            if limit is not None and count >= limit:
                return


def sweep_files(pairs, max_size: int = MAX_READ) -> tuple[int, list[str]]:
    """Run every FileDetector over the regular files; (files scanned, high/critical matches)."""
    scanned, loud = 0, []
    for full, entry in pairs:
        if entry.kind != EntryKind.FILE or entry.size > max_size:
            continue
        wanted = [d for d in FILE_DETECTORS if d.wants(entry)]
        if not wanted:
            continue
        try:
            with open(full, "rb") as handle:
                data = handle.read(MAX_READ)
        except OSError:
            continue
        scanned += 1
        for detector in wanted:
            loud += [f"{entry.path}: {m.rule_id} {m.severity} {m.evidence}" for m in detector.scan(entry, data)
                     if at_least(m.severity, "high")]
    return scanned, loud


def test_debian_minbase_files_raise_nothing_high(debian_root):
    scanned, loud = sweep_files(walk(str(debian_root), str(debian_root)))
    assert scanned > 2000  # the sweep really read the tree (minbase: ~3200 files some detector wants)
    assert loud == []


def test_debian_minbase_as_one_layer_raises_nothing_high(debian_root):
    entries = [entry for _full, entry in walk(str(debian_root), str(debian_root))]
    view = LayerDelta(index=0, created_by="debootstrap --variant=minbase bookworm", added=entries, entries=entries)
    matches = [(entry.path, m) for d in LAYER_DETECTORS for entry, m in d.scan_layer(view)]
    assert [f"{p}: {m.rule_id} {m.severity}" for p, m in matches if at_least(m.severity, "high")] == []
    setuid = {p: m.severity for p, m in matches if m.rule_id == "suspicious.setuid.added"}
    assert setuid.get("/usr/bin/su") == "info" and setuid.get("/usr/bin/passwd") == "info"


def test_debian_stock_account_and_persistence_files_are_quiet(debian_root):
    quiet = ["etc/passwd", "etc/shadow", "etc/profile", "etc/bash.bashrc", "root/.bashrc", "root/.profile",
             "etc/skel/.bashrc", "etc/cron.daily/dpkg", "etc/cron.d/e2scrub_all"]
    checked = 0
    for relative in quiet:
        path = debian_root / relative
        if not path.is_file():
            continue
        data = path.read_bytes()
        entry = FileEntry(path="/" + relative, kind=EntryKind.FILE, layer=0, size=len(data))
        wanted = [d for d in FILE_DETECTORS if d.wants(entry)]
        assert wanted, relative
        assert [m for d in wanted for m in d.scan(entry, data)] == [], relative
        checked += 1
    assert checked >= 6


@pytest.mark.parametrize("root, limit", [
    ("/etc", 5000),
    ("/usr/bin", 600),
    (sysconfig.get_paths()["stdlib"], 20000),
])
def test_host_files_raise_nothing_high(root, limit):
    if not os.path.isdir(root):
        pytest.skip(f"{root} does not exist here")
    scanned, loud = sweep_files(walk(root, limit=limit), max_size=16 << 20)
    assert scanned > 0
    assert loud == []
