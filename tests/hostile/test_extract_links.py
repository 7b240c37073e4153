"""Many hard links to one file: extract writes every one, with a bounded number of open files, in
time linear in the links (it held one fd per link, and files were silently skipped at the fd limit)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tarfile
from pathlib import Path

from hostile_images import TRACEBACK, docker_archive, member, tar_bytes

ROOT = Path(__file__).resolve().parents[2]


def _links_image(folder: Path, count: int) -> str:
    members = [member("data/file", data=b"payload\n")]
    members += [member(f"links/l{i:05d}", tarfile.LNKTYPE, linkname="data/file") for i in range(count)]
    return docker_archive(folder / "image.tar", [tar_bytes(members)])


def _limit_fds() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


def test_twelve_thousand_hard_links_are_all_written_under_a_64_fd_limit(tmp_path):
    image = _links_image(tmp_path, 12_000)
    dest = tmp_path / "dest"
    run = subprocess.run([sys.executable, "-m", "explorer", "extract", image, "/", "-o", str(dest)],
                         capture_output=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                         preexec_fn=_limit_fds, timeout=600)
    err = run.stderr.decode()
    assert run.returncode == 0 and TRACEBACK not in err, err
    assert err.splitlines()[-1].endswith("12001 files, 3 folders, 0 symlinks written; 0 skipped")
    links = sorted(os.listdir(dest / "links"))
    assert len(links) == 12_000 and links[0] == "l00000" and links[-1] == "l11999"
    assert {(dest / "links" / name).read_bytes() for name in links} == {b"payload\n"}
    assert len({(dest / "links" / name).stat().st_ino for name in links[:50]}) == 50  # copies, not links


def _opens(tmp_path: Path, count: int, monkeypatch) -> int:
    from hostile_images import run_inprocess

    folder = tmp_path / str(count)
    folder.mkdir()
    image = _links_image(folder, count)
    calls = 0
    real = os.open

    def counting(*args, **kwargs):
        nonlocal calls
        calls += 1
        return real(*args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(os, "open", counting)
        rc, _out, err = run_inprocess("extract", image, "/", "-o", str(folder / "dest"))
    assert rc == 0, err
    return calls


def test_extract_work_grows_linearly_with_the_links(tmp_path, monkeypatch):
    small, large = _opens(tmp_path, 1000, monkeypatch), _opens(tmp_path, 4000, monkeypatch)
    assert 3.5 < large / small < 4.5, (small, large)
