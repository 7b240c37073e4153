"""Hostile and broken images built in-process, and ways to run the CLI on them.

Raw archives are written with `tarfile` directly, so that member names, types, sizes and JSON
documents can be anything at all; well-formed images come from `explorer.demo.imagewriter`.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import zstandard

from explorer.main import main

TRACEBACK = "Traceback (most recent call last)"


# -- raw tars ------------------------------------------------------------------------------------

def member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", *, linkname: str = "",
           mode: int = 0o644, size: int | None = None) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = 1_700_000_000
    info.linkname = linkname
    info.size = len(data) if size is None else size
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        info.devmajor, info.devminor = 1, 3
    return info, data


def tar_bytes(members: list[tuple[tarfile.TarInfo, bytes]], *, end: bool = True) -> bytes:
    """A tar of exactly these members, names verbatim; `end=False` leaves out the end-of-archive blocks."""
    out = io.BytesIO()
    for info, data in members:
        out.write(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
        out.write(data)
        if len(data) % 512:
            out.write(b"\0" * (512 - len(data) % 512))
    if end:
        out.write(b"\0" * 1024)
    return out.getvalue()


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def config_doc(layers: list[bytes], created_by: list[str] | None = None) -> dict:
    created_by = created_by or [f"layer {i}" for i in range(len(layers))]
    return {"architecture": "amd64", "os": "linux", "config": {"Env": ["PATH=/bin"]},
            "rootfs": {"type": "layers", "diff_ids": [sha(t) for t in layers]},
            "history": [{"created_by": c} for c in created_by]}


def docker_archive(path: Path, layers: list[bytes], *, config: dict | bytes | None = None,
                   manifest: object | bytes | None = None, extra: dict[str, bytes] | None = None) -> str:
    """A legacy-style docker-archive: `manifest.json`, `config.json`, `layerN.tar` (uncompressed).

    Layer names carry no digest, so nothing is checked but the config's diff_ids.
    """
    cfg = config if config is not None else config_doc(layers)
    files = {"config.json": cfg if isinstance(cfg, bytes) else json.dumps(cfg).encode()}
    for i, blob in enumerate(layers):
        files[f"layer{i}.tar"] = blob
    man = manifest if manifest is not None else [
        {"Config": "config.json", "RepoTags": ["hostile:latest"], "Layers": [f"layer{i}.tar" for i in range(len(layers))]}]
    files["manifest.json"] = man if isinstance(man, bytes) else json.dumps(man).encode()
    files.update(extra or {})
    archive_bytes = tar_bytes([member(name, data=data) for name, data in sorted(files.items())])
    path.write_bytes(archive_bytes)
    return str(path)


def oci_layout(path: Path, index: dict | bytes, blobs: dict[str, bytes]) -> str:
    """An OCI layout folder; `blobs` maps `sha256:HEX` names to content (which need not hash to them)."""
    (path / "blobs" / "sha256").mkdir(parents=True)
    (path / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (path / "index.json").write_bytes(index if isinstance(index, bytes) else json.dumps(index).encode())
    for digest, data in blobs.items():
        (path / "blobs" / "sha256" / digest.split(":", 1)[1]).write_bytes(data)
    return str(path)


@functools.lru_cache(maxsize=None)
def _zero_frame(kind: str, size: int) -> bytes:
    return gzip.compress(bytes(size), 9, mtime=0) if kind == "gzip" else zstandard.ZstdCompressor(19).compress(bytes(size))


@functools.lru_cache(maxsize=8)
def zero_bomb(size: int, kind: str = "gzip", name: str = "zeros.img") -> tuple[bytes, str]:
    """(blob, diff_id) of a layer holding one file of `size` zero bytes (a multiple of 16 MiB), made
    cheaply from repeated gzip members or zstd frames (both formats allow several back to back)."""
    step = 16 << 20
    assert size % step == 0
    head = member(name, size=size)[0].tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
    frame = (lambda data: gzip.compress(data, mtime=0)) if kind == "gzip" else zstandard.ZstdCompressor().compress
    blob = frame(head) + _zero_frame(kind, step) * (size // step) + frame(bytes(1024))
    digest = hashlib.sha256(head)
    zeros = bytes(step)
    for _ in range(size // step):
        digest.update(zeros)
    digest.update(bytes(1024))
    return blob, "sha256:" + digest.hexdigest()


# -- looking at what was written -----------------------------------------------------------------

def snapshot(root: Path, exclude: Path | None = None) -> dict[str, tuple]:
    """Every path below root (not following symlinks) with its type, mode and content or target."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        if exclude is not None and Path(dirpath) == exclude:
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            if exclude is not None and full == exclude:
                continue
            st = full.lstat()
            if stat.S_ISLNK(st.st_mode):
                out[str(full)] = ("link", os.readlink(full))
            elif stat.S_ISREG(st.st_mode):
                out[str(full)] = ("file", st.st_mode, full.read_bytes())
            else:
                out[str(full)] = ("other", stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode))
    return out


# -- running the CLI ------------------------------------------------------------------------------

def run_inprocess(*argv: str) -> tuple[int, str, str]:
    """`explorer.cli.parser.main(argv)` with stdout/stderr captured; an escaping exception fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def run_subprocess(*argv: str, env: dict[str, str] | None = None, cwd: str | None = None) -> tuple[int, str, str]:
    full_env = dict(os.environ, COLUMNS="250", PYTHONIOENCODING="utf-8", **(env or {}))
    proc = subprocess.run([sys.executable, "-m", "explorer", *argv], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=300, errors="surrogateescape")
    return proc.returncode, proc.stdout, proc.stderr


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if not line.startswith("explorer: warning:")]


def run_measured(*argv: str, timeout: int = 120) -> tuple[int, str, str, int]:
    """Run `python -m explorer ARGV` from a fresh wrapper process; (status, stdout, stderr, peak RSS in KB)."""
    wrapper = ("import resource, subprocess, sys\n"
               "p = subprocess.run([sys.executable, '-m', 'explorer', *sys.argv[1:]])\n"
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
               "sys.exit(p.returncode)\n")
    env = dict(os.environ, PYTHONIOENCODING="utf-8", COLUMNS="200")
    proc = subprocess.run([sys.executable, "-c", wrapper, *argv], capture_output=True, text=True, timeout=timeout,
                          env=env, errors="surrogateescape")
    *lines, rss = proc.stderr.rstrip("\n").split("\n")
    return proc.returncode, proc.stdout, "\n".join(lines), int(rss)
