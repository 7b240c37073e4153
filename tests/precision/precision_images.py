"""Clean images for the precision tests, as one OCI image layout (folder) under tests/.cache.

- layer 0: a Debian bookworm minbase root filesystem (debootstrap, made by tests/detectors/debian_rootfs.py),
  streamed into an uncompressed layer tar that IS the blob file (never held in memory);
- layer 1: apt-like changes on top (as the official debian image and `apt-get install` steps leave them):
  new /usr/share/doc files, a rewritten dpkg status, whiteouts of doc folders and apt lists, so that
  deleted copies of real files are scanned too;
- layers 2-3: this machine's running CPython installation (`sys.base_prefix`: bin/, include/, lib/ with the
  whole stdlib incl. test/, then site-packages in a layer of its own), mapped to /usr/local like the
  official python images.

Two manifests in one index: `debian` (layers 0-1) and `python` (layers 0-3). Blobs are kept between runs and
remade only when their source changed (the Debian tree's marker, or the Python tree's file list, sizes and
mtimes).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import json
import os
import shutil
import stat
import sys
import tarfile
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
CACHE = TESTS / ".cache"
LAYOUT = CACHE / "precision-oci"
MTIME = 1_700_000_000

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def _load_debian_helper():
    """tests/detectors/debian_rootfs.py (another folder, so load it by path)."""
    path = TESTS / "detectors" / "debian_rootfs.py"
    spec = importlib.util.spec_from_file_location("precision_debian_rootfs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _HashingWriter(io.RawIOBase):
    """A write-only file that hashes and counts what passes through it."""

    def __init__(self, fh):
        self.fh = fh
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        data = bytes(data)
        self.sha.update(data)
        self.size += len(data)
        self.fh.write(data)
        return len(data)


def _blob_path(hexdigest: str) -> Path:
    return LAYOUT / "blobs" / "sha256" / hexdigest


def _write_blob_from(fill) -> dict:
    """Stream a blob into the layout: `fill(fileobj)` writes it; returns {digest, size}."""
    (LAYOUT / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    tmp = LAYOUT / f"blob.tmp{os.getpid()}"
    with open(tmp, "wb", buffering=1 << 20) as fh:
        writer = _HashingWriter(fh)
        fill(writer)
    hexdigest = writer.sha.hexdigest()
    os.replace(tmp, _blob_path(hexdigest))
    return {"digest": "sha256:" + hexdigest, "size": writer.size}


def _write_blob(data: bytes) -> dict:
    return _write_blob_from(lambda fh: fh.write(data))


def _tar_tree(tar: tarfile.TarFile, root: Path, image_dir: str, skip=lambda rel: False) -> None:
    """Add everything below `root` as `image_dir/...` (sorted, real modes/owners, hard links kept)."""
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        rel_folder = os.path.relpath(folder, root)
        keep = []
        for name in dirs:
            rel = os.path.normpath(os.path.join(rel_folder, name))
            if skip(rel):
                continue
            keep.append(name)
        dirs[:] = keep
        for name in sorted(dirs) + sorted(files):
            rel = os.path.normpath(os.path.join(rel_folder, name))
            if skip(rel):
                continue
            full = os.path.join(folder, name)
            arcname = f"{image_dir}/{rel}".lstrip("/")
            info = tar.gettarinfo(full, arcname)
            if info is None:  # sockets
                continue
            if info.isreg():
                with open(full, "rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)


def _dirs(tar: tarfile.TarFile, *paths: str) -> None:
    for path in paths:
        info = tarfile.TarInfo(path.strip("/"))
        info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, MTIME
        tar.addfile(info)


def _state() -> dict:
    try:
        return json.loads((LAYOUT / "state.json").read_text())
    except (OSError, ValueError):
        return {}


def _cached(state: dict, name: str, key: str) -> dict | None:
    item = state.get(name)
    if not item or item.get("key") != key:
        return None
    path = _blob_path(item["digest"].split(":", 1)[1])
    if not path.is_file() or path.stat().st_size != item["size"]:
        return None
    return item


# -- layer 0: Debian -------------------------------------------------------------------------------

def debian_rootfs() -> Path:
    """The debootstrap tree (RootfsUnavailable from the helper when it cannot be made)."""
    return _load_debian_helper().debian_minbase()


def rootfs_unavailable_error():
    return _load_debian_helper().RootfsUnavailable


def _debian_layer(root: Path, state: dict) -> dict:
    marker = root / ".explorer-complete"
    key = f"{root}:{marker.stat().st_mtime_ns}"
    item = _cached(state, "debian", key)
    if item:
        return item

    def fill(fh):
        with tarfile.open(fileobj=fh, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            _tar_tree(tar, root, "", skip=lambda rel: rel == ".explorer-complete")

    item = {"key": key, **_write_blob_from(fill), "media_type": LAYER_TAR}
    state["debian"] = item
    return item


# -- layer 1: apt-like changes ---------------------------------------------------------------------

DOCKER_CLEAN = b"""DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };

Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
"""
POLICY_RC_D = b"#!/bin/sh\n\n# For most Docker users, \"apt-get install\" only wants to install packages, not start services.\nexit 101\n"
NEW_PACKAGE = b"""Package: ca-certificates
Status: install ok installed
Priority: optional
Section: misc
Installed-Size: 384
Maintainer: Julien Cristau <jcristau@debian.org>
Architecture: all
Version: 20230311
Depends: openssl (>= 1.1.1), debconf (>= 0.5) | debconf-2.0
Description: Common CA certificates
 Contains the certificate authorities shipped with Mozilla's browser to allow
 SSL-based applications to check for the authenticity of SSL connections.
"""


def _apt_layer(root: Path, state: dict) -> dict:
    """Changes an `apt-get install … && rm -rf /var/lib/apt/lists/*` step leaves behind."""
    docs = sorted(p.name for p in (root / "usr/share/doc").iterdir() if p.is_dir())
    removed_docs = docs[: max(3, len(docs) // 10)]
    copied_docs = docs[-5:]
    key = hashlib.sha256(json.dumps([docs, state.get("debian", {}).get("digest"), 2]).encode()).hexdigest()
    item = _cached(state, "apt", key)
    if item:
        return item
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        def add(path: str, data: bytes, mode: int = 0o644) -> None:
            info = tarfile.TarInfo(path.strip("/"))
            info.size, info.mode, info.mtime = len(data), mode, MTIME
            tar.addfile(info, io.BytesIO(data))

        _dirs(tar, "etc", "etc/apt", "etc/apt/apt.conf.d")
        add("etc/apt/apt.conf.d/docker-clean", DOCKER_CLEAN)
        _dirs(tar, "usr", "usr/sbin")
        add("usr/sbin/policy-rc.d", POLICY_RC_D, 0o755)
        _dirs(tar, "usr/share", "usr/share/doc")
        for name in removed_docs:  # deleted copies: still in layer 0's blob
            add(f"usr/share/doc/.wh.{name}", b"")
        for name in copied_docs:  # a "new package" documented with real Debian texts
            _dirs(tar, f"usr/share/doc/{name}-extra")
            for src in sorted((root / "usr/share/doc" / name).iterdir()):
                if src.is_file() and not src.is_symlink():
                    add(f"usr/share/doc/{name}-extra/{src.name}", src.read_bytes())
        _dirs(tar, "usr/share/doc/ca-certificates")
        add("usr/share/doc/ca-certificates/README.Debian",
            gzip.compress(b"The CA certificates are installed in /usr/share/ca-certificates.\n", mtime=0))
        _dirs(tar, "var", "var/lib", "var/lib/dpkg", "var/lib/apt", "var/lib/apt/lists")
        status = (root / "var/lib/dpkg/status").read_bytes()
        add("var/lib/dpkg/status", status.rstrip(b"\n") + b"\n\n" + NEW_PACKAGE)  # modified
        add("var/lib/dpkg/status-old", status)
        for lists in sorted((root / "var/lib/apt/lists").glob("*")):
            if lists.is_file():
                add(f"var/lib/apt/lists/.wh.{lists.name}", b"")
        _dirs(tar, "var/log")
        for log in ("var/log/dpkg.log", "var/log/apt/history.log"):
            if (root / log).is_file():
                add(log.rsplit("/", 1)[0] + "/.wh." + log.rsplit("/", 1)[1], b"")
    blob = gzip.compress(buf.getvalue(), compresslevel=6, mtime=0)
    item = {"key": key, **_write_blob(blob), "media_type": LAYER_GZIP,
            "diff_id": "sha256:" + hashlib.sha256(buf.getvalue()).hexdigest(),
            "removed_docs": removed_docs}
    state["apt"] = item
    return item


# -- layers 2-3: CPython ---------------------------------------------------------------------------

def _tree_key(root: Path, subdirs: list[str]) -> str:
    digest = hashlib.sha256(str(root).encode())
    for sub in subdirs:
        for folder, dirs, files in os.walk(root / sub):
            dirs.sort()
            for name in sorted(files):
                try:
                    st = os.lstat(os.path.join(folder, name))
                except OSError:
                    continue
                digest.update(f"{folder}/{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def python_prefix() -> Path:
    return Path(sys.base_prefix)


def _python_layers(state: dict) -> tuple[dict, dict]:
    prefix = python_prefix()
    stdlib = f"lib/python{sys.version_info.major}.{sys.version_info.minor}"
    site = f"{stdlib}/site-packages"
    core_dirs = [d for d in ("bin", "include", "lib") if (prefix / d).is_dir()]
    core_key = _tree_key(prefix, core_dirs) + ":core"
    site_key = core_key + ":site"
    core = _cached(state, "python-core", core_key)
    if core is None:
        def fill_core(fh):
            with tarfile.open(fileobj=fh, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                _dirs(tar, "usr", "usr/local")
                for sub in core_dirs:
                    tar.add(str(prefix / sub), f"usr/local/{sub}", recursive=False)
                    _tar_tree(tar, prefix / sub, f"usr/local/{sub}",
                              skip=lambda rel, sub=sub: f"{sub}/{rel}" == site)
        core = {"key": core_key, **_write_blob_from(fill_core), "media_type": LAYER_TAR}
        state["python-core"] = core
    packages = _cached(state, "python-site", site_key)
    if packages is None:
        def fill_site(fh):
            with tarfile.open(fileobj=fh, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                _dirs(tar, "usr", "usr/local", "usr/local/lib", f"usr/local/{stdlib}")
                tar.add(str(prefix / site), f"usr/local/{site}", recursive=False)
                _tar_tree(tar, prefix / site, f"usr/local/{site}")
        packages = {"key": site_key, **_write_blob_from(fill_site), "media_type": LAYER_TAR}
        state["python-site"] = packages
    return core, packages


# -- the layout ------------------------------------------------------------------------------------

PY = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"
DEBIAN_HISTORY = [
    ("/bin/sh -c #(nop) ADD file:b2ad3f4b7f8c1e0d8b4f7b2f2c2e4b3c5a1d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5 in / ", False),
    ('/bin/sh -c #(nop)  CMD ["bash"]', True),
    ("/bin/sh -c set -eux; apt-get update; apt-get install -y --no-install-recommends ca-certificates; "
     "rm -rf /var/lib/apt/lists/*", False),
]
PYTHON_HISTORY = [
    ("/bin/sh -c #(nop)  ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", True),
    ("/bin/sh -c #(nop)  ENV LANG=C.UTF-8", True),
    ("/bin/sh -c #(nop)  ENV GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D", True),
    (f"/bin/sh -c #(nop)  ENV PYTHON_VERSION={PY}", True),
    ('/bin/sh -c set -eux; wget -O python.tar.xz "https://www.python.org/ftp/python/${PYTHON_VERSION%%[a-z]*}/'
     'Python-$PYTHON_VERSION.tar.xz"; wget -O python.tar.xz.asc "https://www.python.org/ftp/python/'
     '${PYTHON_VERSION%%[a-z]*}/Python-$PYTHON_VERSION.tar.xz.asc"; GNUPGHOME="$(mktemp -d)"; export GNUPGHOME; '
     'gpg --batch --keyserver hkps://keys.openpgp.org --recv-keys "$GPG_KEY"; gpg --batch --verify '
     'python.tar.xz.asc python.tar.xz; mkdir -p /usr/src/python; tar --extract --directory /usr/src/python '
     '--strip-components=1 --file python.tar.xz; rm python.tar.xz; cd /usr/src/python; ./configure '
     '--enable-loadable-sqlite-extensions --enable-optimizations --enable-shared; make -j "$(nproc)"; '
     'make install; cd /; rm -rf /usr/src/python; python3 --version', False),
    ("/bin/sh -c #(nop)  ENV PYTHON_PIP_VERSION=23.2.1", True),
    ("/bin/sh -c #(nop)  ENV PYTHON_GET_PIP_URL=https://github.com/pypa/get-pip/raw/"
     "9af82b715db434abb94a0a6f3569f43e72157346/public/get-pip.py", True),
    ("/bin/sh -c #(nop)  ENV PYTHON_GET_PIP_SHA256=45a2bb8bf2bb5eff16fdd00faef6f29731831c7c59bd9fc2bf1f3bed511ff1fe",
     True),
    ('/bin/sh -c set -eux; wget -O get-pip.py "$PYTHON_GET_PIP_URL"; echo "$PYTHON_GET_PIP_SHA256 *get-pip.py" '
     '| sha256sum -c -; export PYTHONDONTWRITEBYTECODE=1; python get-pip.py --disable-pip-version-check '
     '--no-cache-dir --no-compile "pip==$PYTHON_PIP_VERSION"; rm -f get-pip.py; pip --version', False),
    ('/bin/sh -c #(nop)  CMD ["python3"]', True),
]
DEBIAN_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
PYTHON_ENV = ["PATH=/usr/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
              "LANG=C.UTF-8", "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D", f"PYTHON_VERSION={PY}",
              "PYTHON_PIP_VERSION=23.2.1",
              "PYTHON_GET_PIP_URL=https://github.com/pypa/get-pip/raw/9af82b715db434abb94a0a6f3569f43e72157346/"
              "public/get-pip.py",
              "PYTHON_GET_PIP_SHA256=45a2bb8bf2bb5eff16fdd00faef6f29731831c7c59bd9fc2bf1f3bed511ff1fe"]


def _diff_id(item: dict) -> str:
    return item.get("diff_id") or item["digest"]  # uncompressed blobs: the blob digest is the diff_id


def _image(layers: list[dict], history: list[tuple[str, bool]], env: list[str], cmd: list[str]) -> dict:
    config = {
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": {"Env": env, "Cmd": cmd},
        "rootfs": {"type": "layers", "diff_ids": [_diff_id(item) for item in layers]},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": text, **({"empty_layer": True} if empty else {})}
                    for text, empty in history],
    }
    assert sum(1 for _, empty in history if not empty) == len(layers)
    raw_config = json.dumps(config, sort_keys=True).encode()
    cfg = _write_blob(raw_config)
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, **cfg},
                "layers": [{"mediaType": item["media_type"], "digest": item["digest"], "size": item["size"]}
                           for item in layers]}
    return {"mediaType": OCI_MANIFEST, **_write_blob(json.dumps(manifest, sort_keys=True).encode())}


def build_layout(with_python: bool = True) -> dict:
    """Make (or reuse) the layout; returns {"layout": path, "debian": ref, "python": ref, "state": …}."""
    root = debian_rootfs()
    LAYOUT.mkdir(parents=True, exist_ok=True)
    state = _state()
    debian = _debian_layer(root, state)
    apt = _apt_layer(root, state)
    manifests = [{**_image([debian, apt], DEBIAN_HISTORY, DEBIAN_ENV, ["bash"]),
                  "annotations": {"org.opencontainers.image.ref.name": "debian"}}]
    if with_python:
        core, site = _python_layers(state)
        manifests.append({**_image([debian, apt, core, site], DEBIAN_HISTORY + PYTHON_HISTORY, PYTHON_ENV,
                                   ["python3"]),
                          "annotations": {"org.opencontainers.image.ref.name": "python"}})
    (LAYOUT / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (LAYOUT / "index.json").write_text(json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                                                   "manifests": manifests}))
    (LAYOUT / "state.json").write_text(json.dumps(state, indent=1))
    _prune(state, manifests)
    return {"layout": LAYOUT, "debian": f"oci:{LAYOUT}:debian", "python": f"oci:{LAYOUT}:python",
            "state": state}


def _prune(state: dict, manifests: list[dict]) -> None:
    """Remove blobs of earlier runs that no manifest, config or layer of this run names."""
    keep = {item["digest"].split(":", 1)[1] for item in state.values() if isinstance(item, dict) and "digest" in item}
    for desc in manifests:
        hexd = desc["digest"].split(":", 1)[1]
        keep.add(hexd)
        manifest = json.loads(_blob_path(hexd).read_bytes())
        keep.add(manifest["config"]["digest"].split(":", 1)[1])
    for path in (LAYOUT / "blobs" / "sha256").iterdir():
        if path.name not in keep:
            path.unlink()
    (LAYOUT / f"blob.tmp{os.getpid()}").unlink(missing_ok=True)


if __name__ == "__main__":  # make the layout by hand: python tests/precision/precision_images.py
    print(json.dumps({k: str(v) for k, v in build_layout().items() if k != "state"}, indent=1))
