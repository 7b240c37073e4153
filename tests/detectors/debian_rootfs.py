"""A real Debian root filesystem for precision tests, built once with debootstrap and cached.

`debootstrap --variant=minbase bookworm` into `tests/.cache/debian-minbase` (git-ignored). The tree is
built in a temporary sibling folder and renamed into place when debootstrap succeeded, so a killed run
never leaves a half tree that later runs would trust. The mirror is debootstrap's default.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

CACHE_ROOT = Path(__file__).resolve().parents[1] / ".cache"
ROOTFS = CACHE_ROOT / "debian-minbase"
SUITE = "bookworm"
_MARKER = ".explorer-complete"


class RootfsUnavailable(RuntimeError):
    """debootstrap is missing, we are not root, or the build failed."""


def debian_minbase(timeout: int = 900) -> Path:
    """The cached rootfs, building it first when needed. Raises RootfsUnavailable with the reason.

    A lock file serialises builders (pytest-xdist workers each run session fixtures).
    """
    if (ROOTFS / _MARKER).is_file():
        return ROOTFS
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    with open(CACHE_ROOT / "debian-minbase.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (ROOTFS / _MARKER).is_file():
            return ROOTFS
        return _build(timeout)


def _build(timeout: int) -> Path:
    tool = shutil.which("debootstrap") or next(
        (p for p in ("/usr/sbin/debootstrap", "/sbin/debootstrap") if os.path.exists(p)), None)
    if tool is None:
        raise RootfsUnavailable("debootstrap is not installed")
    if os.geteuid() != 0:
        raise RootfsUnavailable("debootstrap needs root")
    work = CACHE_ROOT / f"debian-minbase.tmp{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    try:
        proc = subprocess.run([tool, "--variant=minbase", SUITE, str(work)], capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise RootfsUnavailable(f"debootstrap did not finish: {exc}") from exc
    if proc.returncode != 0 or not (work / "etc" / "passwd").is_file():
        shutil.rmtree(work, ignore_errors=True)
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RootfsUnavailable(f"debootstrap failed ({proc.returncode}): {' / '.join(tail)}")
    (work / _MARKER).write_text(SUITE + "\n")
    shutil.rmtree(ROOTFS, ignore_errors=True)
    work.rename(ROOTFS)
    return ROOTFS
