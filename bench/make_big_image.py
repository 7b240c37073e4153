#!/usr/bin/env python3
"""Build (once, cached under bench/.work/) a big, realistic docker-archive image for the benchmarks.

Layers, in order (gzip and uncompressed mixed, as real registries and `docker save` mix them):

  0  gzip  Debian bookworm minbase root filesystem (debootstrap; /dev, /proc, /sys left empty)
  1  tar   this machine's Python stdlib            -> /usr/local/lib/python3.11 (no site-packages)
  2  gzip  this machine's site-packages            -> /usr/local/lib/python3.11/site-packages
  3  tar   this machine's /usr/share/doc           -> /usr/share/doc (overwrites many layer-0 files)
  4  gzip  large binaries in /opt/data: 64 MiB random, 128 MiB zeros, 96 MiB text-like, a real ELF
  5  gzip  clean-up: whiteouts (the stdlib test suite, the random blob), an opaque dir (sympy),
           overwritten files, and a small app with an obviously fake AWS example key

The image is written in the Docker >= 25 docker-archive form: manifest.json + config (diff_ids,
history) + blobs/sha256/<hex>, plus index.json/oci-layout so the media types are known.

    python bench/make_big_image.py            # prints the path, size, file count, layer count
    python bench/make_big_image.py --force    # rebuild
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import time

from isal import igzip

BENCH = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(BENCH, ".work")
IMAGE = os.path.join(WORK, "big-image.tar")
BUILD = os.path.join(WORK, "big-build")
DEBOOTSTRAP = os.path.join(WORK, "debootstrap-rootfs")
MIRROR = "http://deb.debian.org/debian"
MTIME = 1_700_000_000
PYLIB = os.path.join(sys.base_prefix, "lib", f"python{sys.version_info.major}.{sys.version_info.minor}")
PYDEST = f"usr/local/lib/python{sys.version_info.major}.{sys.version_info.minor}"
FAKE_AWS = "AKIAIOSFODNN7EXAMPLE"  # AWS's own documentation example key: not a real credential
FAKE_AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


class HashingWriter(io.RawIOBase):
    """A write-only file that hashes and counts what goes through it."""

    def __init__(self, fh):
        super().__init__()
        self.fh, self.sha, self.count = fh, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.sha.update(b)
        self.fh.write(b)
        self.count += len(b)
        return len(b)


def ensure_rootfs() -> str:
    if os.path.exists(os.path.join(DEBOOTSTRAP, "etc", "debian_version")) and \
            os.path.exists(os.path.join(DEBOOTSTRAP, "usr", "bin", "dpkg")):
        return DEBOOTSTRAP
    print(f"debootstrap --variant=minbase bookworm {DEBOOTSTRAP} (about a minute)", file=sys.stderr)
    shutil.rmtree(DEBOOTSTRAP, ignore_errors=True)
    subprocess.run(["debootstrap", "--variant=minbase", "bookworm", DEBOOTSTRAP, MIRROR], check=True,
                   stdout=subprocess.DEVNULL)
    return DEBOOTSTRAP


def _dir_info(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, MTIME
    return info


def _blob_info(name: str, size: int, mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, mode, MTIME
    return info


def _add_text(tar: tarfile.TarFile, path: str, data: bytes, mode: int = 0o644) -> None:
    tar.addfile(_blob_info(path, len(data), mode), io.BytesIO(data))


def _parents(tar: tarfile.TarFile, path: str) -> None:
    parts = path.strip("/").split("/")
    for i in range(1, len(parts)):
        tar.addfile(_dir_info("/".join(parts[:i])))


def _add_tree(tar: tarfile.TarFile, src: str, dest: str, skip=lambda rel: False) -> None:
    """Add `src` as `dest` (no leading slash), walking in sorted order; hard links are kept."""
    tar.add(src, arcname=dest, recursive=False)
    if os.path.islink(src) or not os.path.isdir(src):  # merged /usr: /bin -> usr/bin is a link, not a tree
        return
    for root, dirs, files in os.walk(src):
        rel_root = os.path.relpath(root, src)
        dirs[:] = sorted(d for d in dirs if not skip(os.path.normpath(os.path.join(rel_root, d))))
        for name in sorted(dirs) + sorted(files):
            rel = os.path.normpath(os.path.join(rel_root, name))
            if name in files and skip(rel):
                continue
            full = os.path.join(root, name)
            arc = dest + "/" + rel if dest else rel
            try:
                tar.add(full, arcname=arc, recursive=False)
            except (OSError, ValueError) as exc:  # sockets and the like: not in real layers either
                print(f"  skip {full}: {exc}", file=sys.stderr)


def _stream(tar: tarfile.TarFile, name: str, size: int, chunks) -> None:
    """Add a generated file without putting it on disk."""

    class Gen(io.RawIOBase):
        def __init__(self):
            self.buf, self.it = b"", iter(chunks)

        def readable(self):
            return True

        def readinto(self, b):
            while not self.buf:
                try:
                    self.buf = next(self.it)
                except StopIteration:
                    return 0
            n = min(len(b), len(self.buf))
            b[:n], self.buf = self.buf[:n], self.buf[n:]
            return n

    tar.addfile(_blob_info(name, size), io.BufferedReader(Gen(), 1 << 20))


def layer0(tar):
    root = ensure_rootfs()
    volatile = ("dev/", "proc/", "sys/", "run/", "tmp/", "var/cache/apt/archives/")
    for top in sorted(os.listdir(root)):
        _add_tree(tar, os.path.join(root, top), top,
                  skip=lambda rel, top=top: any((top + "/" + rel + "/").startswith(v) and
                                                (top + "/" + rel + "/") != v for v in volatile))


def layer1(tar):
    _parents(tar, PYDEST)
    _add_tree(tar, PYLIB, PYDEST, skip=lambda rel: rel == "site-packages")


def layer2(tar):
    _parents(tar, PYDEST + "/site-packages")
    _add_tree(tar, os.path.join(PYLIB, "site-packages"), PYDEST + "/site-packages")


def layer3(tar):
    _parents(tar, "usr/share/doc")
    _add_tree(tar, "/usr/share/doc", "usr/share/doc")


def layer4(tar):
    _parents(tar, "opt/data")
    tar.addfile(_dir_info("opt/data"))
    rnd = random.Random(42)
    mib = 1 << 20
    _stream(tar, "opt/data/random.bin", 64 * mib, (rnd.randbytes(mib) for _ in range(64)))
    _stream(tar, "opt/data/zeros.img", 128 * mib, (bytes(mib) for _ in range(128)))
    words = [b"layer", b"image", b"python", b"debian", b"tensor", b"weight", b"config", b"0.125", b"\n"]
    line = b" ".join(rnd.choice(words) for _ in range(mib // 6))[:mib]
    line = line.ljust(mib, b" ")
    _stream(tar, "opt/data/corpus.txt", 96 * mib, (line for _ in range(96)))
    tar.add(os.path.realpath(sys.executable), arcname="opt/data/python-elf", recursive=False)


def layer5(tar):
    def wh(path):
        tar.addfile(_blob_info(path, 0))

    def text(path, data: bytes):
        _add_text(tar, path, data)

    _parents(tar, PYDEST + "/x")
    wh(PYDEST + "/.wh.test")  # the stdlib test suite: deleted, still shipped in layer 1
    tar.addfile(_dir_info(PYDEST + "/site-packages"))
    tar.addfile(_dir_info(PYDEST + "/site-packages/sympy"))
    wh(PYDEST + "/site-packages/sympy/.wh..wh..opq")
    text(PYDEST + "/site-packages/sympy/__init__.py", b"# replaced by an opaque directory\n")
    tar.addfile(_dir_info("opt"))
    tar.addfile(_dir_info("opt/data"))
    wh("opt/data/.wh.random.bin")
    text("opt/data/zeros.img", bytes(1 << 20))
    tar.addfile(_dir_info("etc"))
    text("etc/os-release", b'PRETTY_NAME="bench image"\nID=debian\n')
    layer5_app(tar)


def layer5_app(tar):
    """/srv/app: a start script and an .env with AWS's documented example key."""
    tar.addfile(_dir_info("srv"))
    tar.addfile(_dir_info("srv/app"))
    _add_text(tar, "srv/app/.env", f"AWS_ACCESS_KEY_ID={FAKE_AWS}\nAWS_SECRET_ACCESS_KEY={FAKE_AWS_SECRET}\n".encode())
    _add_text(tar, "srv/app/run.sh", b"#!/bin/sh\nexec python3 -m http.server 8080\n", 0o755)


LAYERS = [
    (layer0, True, "ADD rootfs.tar / # debootstrap --variant=minbase bookworm"),
    (layer1, False, f"COPY python stdlib /{PYDEST}"),
    (layer2, True, f"RUN pip install ... # site-packages into /{PYDEST}/site-packages"),
    (layer3, False, "COPY /usr/share/doc /usr/share/doc"),
    (layer4, True, "COPY data/ /opt/data/"),
    (layer5, True, "RUN rm -rf test /opt/data/random.bin && ... # clean-up, app"),
]


def write_layer(fn, gzip_it: bool, tmpdir: str) -> tuple[str, str, int, int, int]:
    """Returns (blob path, diff_id, uncompressed size, blob size, members)."""
    raw_path = os.path.join(tmpdir, "layer.tar")
    with open(raw_path, "wb") as fh:
        hw = HashingWriter(fh)
        with tarfile.open(fileobj=hw, mode="w|", format=tarfile.PAX_FORMAT, bufsize=1 << 20) as tar:
            fn(tar)
            members = len(tar.members)
    diff_id = "sha256:" + hw.sha.hexdigest()
    if not gzip_it:
        return raw_path, diff_id, hw.count, hw.count, members
    gz_path = raw_path + ".gz"
    with open(raw_path, "rb") as src, open(gz_path, "wb") as out:
        with igzip.IGzipFile(fileobj=out, mode="wb", compresslevel=3, mtime=0) as gz:
            shutil.copyfileobj(src, gz, 1 << 20)
    os.unlink(raw_path)
    return gz_path, diff_id, hw.count, os.path.getsize(gz_path), members


def sha_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def build(layer_specs=None, image: str = IMAGE, name: str = "bench/big:latest", empty_at: int = 5) -> dict:
    """Write `layer_specs` ((fn, gzip, created_by), default LAYERS) as a docker-archive at `image`."""
    layer_specs = LAYERS if layer_specs is None else layer_specs
    shutil.rmtree(BUILD, ignore_errors=True)
    blobs = os.path.join(BUILD, "blobs", "sha256")
    os.makedirs(blobs)
    layers, diff_ids, history, stats = [], [], [], []
    for i, (fn, gz, created_by) in enumerate(layer_specs):
        t = time.time()
        path, diff_id, usize, bsize, members = write_layer(fn, gz, BUILD)
        hexd = sha_file(path)
        os.replace(path, os.path.join(blobs, hexd))
        mt = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if gz else "")
        layers.append({"mediaType": mt, "digest": "sha256:" + hexd, "size": bsize})
        diff_ids.append(diff_id)
        history.append({"created": "2023-11-14T22:13:20Z", "created_by": created_by})
        stats.append({"index": i, "gzip": gz, "uncompressed": usize, "blob": bsize, "members": members})
        print(f"  layer {i}: {'gzip' if gz else 'tar '} {usize / 1e6:8.1f} MB uncompressed, "
              f"{bsize / 1e6:8.1f} MB blob, {members:6d} members ({time.time() - t:.0f} s)", file=sys.stderr)
    history.insert(empty_at, {"created": "2023-11-14T22:13:20Z", "created_by": "ENV APP=/srv/app", "empty_layer": True})
    config = {
        "architecture": "amd64", "os": "linux", "created": "2023-11-14T22:13:20Z",
        "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "APP=/srv/app"], "Cmd": ["/srv/app/run.sh"],
                   "WorkingDir": "/srv/app", "User": "root"},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }
    cfg = json.dumps(config, sort_keys=True).encode()
    cfg_hex = hashlib.sha256(cfg).hexdigest()
    with open(os.path.join(blobs, cfg_hex), "wb") as fh:
        fh.write(cfg)
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": "sha256:" + cfg_hex, "size": len(cfg)},
                "layers": layers}
    man = json.dumps(manifest, sort_keys=True).encode()
    man_hex = hashlib.sha256(man).hexdigest()
    with open(os.path.join(blobs, man_hex), "wb") as fh:
        fh.write(man)
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{"mediaType": manifest["mediaType"], "digest": "sha256:" + man_hex, "size": len(man),
                            "annotations": {"io.containerd.image.name": name,
                                            "org.opencontainers.image.ref.name": "latest"}}]}
    docker_manifest = [{"Config": f"blobs/sha256/{cfg_hex}", "RepoTags": [name],
                        "Layers": [f"blobs/sha256/{d['digest'][7:]}" for d in layers]}]
    for fname, doc in (("index.json", index), ("manifest.json", docker_manifest),
                       ("oci-layout", {"imageLayoutVersion": "1.0.0"})):
        with open(os.path.join(BUILD, fname), "w") as fh:
            json.dump(doc, fh)
    tmp = image + ".tmp"
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        for fname in ("blobs", "oci-layout", "index.json", "manifest.json"):
            tar.add(os.path.join(BUILD, fname), arcname=fname)
    os.replace(tmp, image)
    shutil.rmtree(BUILD)
    info = {"image": image, "image_bytes": os.path.getsize(image), "layers": stats,
            "uncompressed_bytes": sum(s["uncompressed"] for s in stats),
            "members": sum(s["members"] for s in stats),
            "regular_files": None}
    return info


def count_files(image: str) -> int:
    """Regular files over all layers (read back from the image, so the number is checked)."""
    n = 0
    with tarfile.open(image) as outer:
        for m in outer:
            if not m.name.startswith("blobs/sha256/") or m.size < 1024 * 64:
                continue
            with outer.extractfile(m) as fh, tarfile.open(fileobj=fh, mode="r|*") as inner:
                n += sum(1 for x in inner if x.isreg() and not os.path.basename(x.name).startswith(".wh."))
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--force", action="store_true", help="rebuild even if the cached image exists")
    args = ap.parse_args()
    os.makedirs(WORK, exist_ok=True)
    stats_path = IMAGE + ".json"
    if args.force or not (os.path.exists(IMAGE) and os.path.exists(stats_path)):
        t = time.time()
        info = build()
        info["regular_files"] = count_files(IMAGE)
        info["build_seconds"] = round(time.time() - t, 1)
        with open(stats_path, "w") as fh:
            json.dump(info, fh, indent=2)
    with open(stats_path) as fh:
        info = json.load(fh)
    print(f"image:        {info['image']}")
    print(f"archive size: {info['image_bytes'] / 1e6:.1f} MB")
    print(f"uncompressed: {info['uncompressed_bytes'] / 1e6:.1f} MB of layer tars")
    print(f"tar members:  {info['members']} ({info['regular_files']} regular files)")
    print(f"layers:       {len(info['layers'])} "
          f"({sum(1 for s in info['layers'] if s['gzip'])} gzip, {sum(1 for s in info['layers'] if not s['gzip'])} plain)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
