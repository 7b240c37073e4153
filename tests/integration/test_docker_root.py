"""`docker-root:DIR`: a node's Docker data root read offline, read-only, against the daemon that wrote it.

A second dockerd with the overlay2 driver builds an image and runs a container that is changed by
`docker exec` (a planted miner config, a uid-0 account, a deleted file, a folder removed and recreated:
opaque in the upper folder). The container is read through that daemon (`container:`), the daemon is
stopped, its data root copied, and the copy read: through a read-only bind mount, and in place where
every access time was set back first, to show that none moves. Same image layers (by diff_id), same
final filesystem, same findings; the audit log names every file read.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import stat
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from dockerkit import DockerUnavailable, busybox_rootfs_tar, start_daemon, stop_daemon
from explorer.detectors.base import ScanOptions
from explorer.detectors.registry import build_detectors
from explorer.scan.engine import scan
from explorer.core.model import EntryKind
from explorer.sources import open_image
from explorer.sources.container import runtime_created_by
from test_container import HARD_LINKS, TAMPER

TOKEN = "ghp_" + "C" * 36

pytestmark = pytest.mark.docker

def scanned(reference: str, audit_log: str | None = None):
    source = open_image(reference, audit_log=audit_log)
    return source, scan(source, build_detectors(ScanOptions()))


def final_rows(analysis):
    return sorted((e.path, e.kind.value, e.mode, e.uid, e.gid, e.digest, e.linkname)
                  for e in analysis.final.entries.values() if e.path != "/")


def finding_rows(result):
    return sorted((f.rule_id, f.severity, f.source, f.layer, f.path, f.created_by, f.in_final_image)
                  for f in result.findings)


@pytest.fixture(scope="module")
def overlay_root(docker_daemon, tmp_path_factory):
    """(what the overlay2 daemon showed, the copied data root); the daemon is stopped by then."""
    from explorer.sources import docker_root  # noqa: F401 - fails early if the module is broken
    try:
        daemon = start_daemon("overlay2")
    except DockerUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"an overlay2 dockerd cannot run here: {exc}", pytrace=False)
        pytest.skip(f"an overlay2 dockerd cannot run here: {exc}")
    saved = os.environ["DOCKER_HOST"]
    os.environ["DOCKER_HOST"] = daemon.host
    try:
        client = daemon.client
        assert client.info()["Driver"] == "overlay2"
        client.api.import_image_from_data(busybox_rootfs_tar(), repository="explorer-it/busybox", tag="base")
        dockerfile = (b"FROM explorer-it/busybox:base\n"
                      b"RUN mkdir -p /srv/data/sub && echo old > /srv/data/old.txt && echo x > /srv/data/sub/x\n")
        client.images.build(fileobj=io.BytesIO(dockerfile), tag="explorer-it/app:1", network_mode="none", rm=True)
        sock = tmp_path_factory.mktemp("sock") / "docker.sock"
        sock.write_text("")
        container = client.containers.run(
            "explorer-it/app:1", ["sh", "-c", "sleep 100000"], detach=True, network_mode="none", name="victim",
            cap_add=["SYS_PTRACE"], volumes={str(sock): {"bind": "/var/run/docker.sock", "mode": "ro"}})
        done = container.exec_run(["sh", "-c", TAMPER + " && " + HARD_LINKS])
        assert done.exit_code == 0, done.output
        container.stop(timeout=1)
        live = {"ids": {"victim": container.id, "app": client.images.get("explorer-it/app:1").id}}
        for ref in ("container:victim", "docker-daemon:explorer-it/app:1"):
            source, result = scanned(ref)
            with source:
                live[ref] = (final_rows(result.analysis), finding_rows(result),
                             [layer.stats.diff_id for layer in result.analysis.layers])
        live["diff"] = sorted((c["Path"], c["Kind"]) for c in container.diff())
    finally:
        os.environ["DOCKER_HOST"] = saved
        daemon.client.close()
        copy = tmp_path_factory.mktemp("seized") / "docker"
        subprocess.run(["cp", "-a", f"{daemon.root}/data", str(copy)], check=True)
        stop_daemon(daemon.process, daemon.root)
    # cp ran while the daemon still had its layers mounted? No: copied above, after the container stopped.
    return live, copy


@pytest.fixture(scope="module")
def read_only(overlay_root, tmp_path_factory):
    """The copy, bind-mounted read-only."""
    _live, copy = overlay_root
    point = tmp_path_factory.mktemp("ro")
    subprocess.run(["mount", "--bind", str(copy), str(point)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(point)], check=True)
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)


def test_the_container_offline_is_the_container_live(overlay_root, read_only, tmp_path):
    live, _copy = overlay_root
    log = tmp_path / "audit.jsonl"
    source, result = scanned(f"docker-root:{read_only}:container:victim", str(log))
    with source:
        a = result.analysis
        assert [layer.stats.diff_id for layer in a.layers][:-1] == live["container:victim"][2][:-1]
        assert not a.problems, a.problems
        top = a.layers[-1]
        assert top.ref.created_by == runtime_created_by("victim")
        assert (("/srv/data", EntryKind.OPAQUE) in {(e.path, e.kind) for e in top.entries})
        assert {(e.path) for e in top.entries if e.kind == EntryKind.WHITEOUT} == {"/etc/group"}
        # overlay copies /bin/busybox up to link it: both names are in the upper folder
        assert {e.path: e.linkname for e in top.entries if e.kind == EntryKind.HARDLINK} == {
            "/srv/h1": "/opt/x/h3", "/srv/h2": "/opt/x/h3", "/srv/bb": "/bin/busybox"}
        assert final_rows(a) == live["container:victim"][0]
        assert finding_rows(result) == live["container:victim"][1]
        rules = {f.rule_id for f in result.findings}
        assert {"miner.xmrig-config", "backdoor.accounts.second-uid0", "misconfig.container.added-capability",
                "misconfig.container.docker-socket-mount"} <= rules
    read = [json.loads(line)["read"] for line in log.read_text().splitlines()]
    assert all(p.startswith(str(read_only) + "/") for p in read)
    assert any(p.endswith("/tar-split.json.gz") for p in read)
    assert any(p.endswith("/config.v2.json") for p in read)
    assert any(p.endswith("/diff/tmp/.cache/kw/config.json") for p in read)


def test_an_image_offline_is_the_image_live(overlay_root, read_only):
    live, _copy = overlay_root
    source, result = scanned(f"docker-root:{read_only}:explorer-it/app:1")
    with source:
        assert [layer.stats.diff_id for layer in result.analysis.layers] == live["docker-daemon:explorer-it/app:1"][2]
        assert all(layer.stats.digest == layer.stats.diff_id for layer in result.analysis.layers)
        assert final_rows(result.analysis) == live["docker-daemon:explorer-it/app:1"][0]
        assert finding_rows(result) == live["docker-daemon:explorer-it/app:1"][1]


def evidence_state(root: Path) -> dict:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            # a symlink's atime: the kernel sets it whenever its target is read (readlink has no
            # O_NOATIME); only a read-only or noatime mount keeps it, as the README says
            atime = None if stat.S_ISLNK(st.st_mode) else st.st_atime_ns
            out[path] = (st.st_mode, st.st_size, st.st_mtime_ns, atime, st.st_ctime_ns)
    return out


def test_nothing_on_the_evidence_moves(overlay_root, tmp_path):
    """In place (not read-only), access times set back to 2001 so that relatime would update them: a
    scan leaves every mode, size, mtime, atime and ctime of the data root as it was."""
    _live, copy = overlay_root
    evidence = tmp_path / "evidence"
    subprocess.run(["cp", "-a", str(copy), str(evidence)], check=True)
    for dirpath, dirnames, filenames in os.walk(evidence):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            os.utime(path, ns=(978307200 * 10 ** 9, st.st_mtime_ns), follow_symlinks=False)
    before = evidence_state(evidence)
    done = subprocess.run([sys.executable, "-m", "explorer", "scan", f"docker-root:{evidence}:container:victim",
                           "--format", "json", "--no-cache"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert any(f["rule_id"] == "miner.xmrig-config" for f in json.loads(done.stdout)["findings"])
    assert evidence_state(evidence) == before
    shutil.rmtree(evidence)


def test_without_a_reference_it_lists_images_and_containers(read_only):
    done = subprocess.run([sys.executable, "-m", "explorer", "scan", f"docker-root:{read_only}"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    line = done.stderr.strip()
    assert line.startswith(f"explorer: docker-root:{read_only}: choose an image or container")
    assert "explorer-it/app:1" in line and "explorer-it/busybox:base" in line and "container:victim" in line


def test_layers_lists_the_data_root(overlay_root, read_only):
    live, _copy = overlay_root
    done = subprocess.run([sys.executable, "-m", "explorer", "layers", f"docker-root:{read_only}", "--format",
                           "json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert (doc["root"], doc["driver"]) == (str(read_only), "overlay2")
    images = {i["id"]: i for i in doc["images"]}
    assert images[live["ids"]["app"]]["tags"] == ["explorer-it/app:1"]
    assert images[live["ids"]["app"]]["layers"] == 2
    assert any(i["tags"] == ["explorer-it/busybox:base"] and i["layers"] == 1 for i in images.values())
    assert [(c["id"], c["name"], c["image"], c["image_tags"], c["state"]) for c in doc["containers"]] == [
        (live["ids"]["victim"], "victim", live["ids"]["app"], ["explorer-it/app:1"], "stopped")]
    done = subprocess.run([sys.executable, "-m", "explorer", "layers", f"docker-root:{read_only}"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "explorer-it/app:1" in done.stdout and "victim" in done.stdout and live["ids"]["victim"][:12] in done.stdout


# -- the vfs driver (the session's daemon) -----------------------------------------------------------

def copy_vfs_root(docker_client, data: Path, dest: Path, container_id: str) -> None:
    """What the offline read needs of the session's (busy) vfs data root: the image database, the
    container's folder, its root folder and init folder, and the folders of its image's layers."""
    from explorer.sources.docker_root import chain_ids
    dest.mkdir()
    subprocess.run(["cp", "-a", str(data / "image"), str(dest / "image")], check=True)
    (dest / "containers").mkdir()
    subprocess.run(["cp", "-a", str(data / "containers" / container_id), str(dest / "containers")], check=True)
    mount_id = (data / "image/vfs/layerdb/mounts" / container_id / "mount-id").read_text().strip()
    image = docker_client.containers.get(container_id).attrs["Image"]
    config = json.loads((data / "image/vfs/imagedb/content/sha256" / image[7:]).read_text())
    folders = [mount_id, f"{mount_id}-init"] + [
        (data / "image/vfs/layerdb/sha256" / chain[7:] / "cache-id").read_text().strip()
        for chain in chain_ids(config["rootfs"]["diff_ids"])]
    (dest / "vfs" / "dir").mkdir(parents=True)
    for folder in folders:
        subprocess.run(["cp", "-a", str(data / "vfs/dir" / folder), str(dest / "vfs/dir")], check=True)


def test_a_vfs_container_offline_is_docker_diff(docker_daemon, docker_client, build_image, tmp_path):
    from test_container import diff_rows, runtime_rows
    ref = build_image("FROM explorer-it/busybox:base\n"
                      "RUN mkdir -p /srv/data/sub && echo old > /srv/data/old.txt && echo x > /srv/data/sub/x\n")
    container = docker_client.containers.run(ref, ["sh", "-c", "sleep 100000"], detach=True, network_mode="none",
                                             cap_add=["SYS_PTRACE"])
    try:
        done = container.exec_run(["sh", "-c", TAMPER + " && " + HARD_LINKS])
        assert done.exit_code == 0, done.output
        container.stop(timeout=1)
        live_source, live = scanned(f"container:{container.id}")
        live_source.close()
        copy_vfs_root(docker_client, Path(docker_daemon.root) / "data", tmp_path / "docker", container.id)
        source, offline = scanned(f"docker-root:{tmp_path / 'docker'}:container:{container.id[:12]}")
        with source:
            assert runtime_rows(offline.analysis) == diff_rows(container)
            # vfs: the image's /bin/busybox did not change, so /srv/bb links down to it, as in `docker export`
            assert {e.path: e.linkname for e in offline.analysis.layers[-1].entries
                    if e.kind == EntryKind.HARDLINK} == {
                "/srv/h1": "/opt/x/h3", "/srv/h2": "/opt/x/h3", "/srv/bb": "/bin/busybox"}
            assert final_rows(offline.analysis) == final_rows(live.analysis)
            assert finding_rows(offline) == finding_rows(live)
            assert not offline.analysis.problems
            assert [layer.stats.diff_id for layer in offline.analysis.layers[:-1]] == \
                [layer.stats.diff_id for layer in live.analysis.layers[:-1]]
    finally:
        container.remove(force=True)


# -- a containerd root (images) --------------------------------------------------------------------------

CONTAINERD_CONFIG = """version = 2
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
                    "io.containerd.snapshotter.v1.aufs"]
"""


@contextlib.contextmanager
def private_containerd(tmp_path):
    """A containerd of its own (root `tmp_path/root`), stopped on leaving; yields `ctr(*args) -> stdout bytes`."""
    import time

    if not (shutil.which("containerd") and shutil.which("ctr")):
        pytest.fail("containerd and ctr are needed (install containerd)", pytrace=False)
    root, sock = tmp_path / "root", tmp_path / "c.sock"
    (tmp_path / "config.toml").write_text(CONTAINERD_CONFIG)
    log = open(tmp_path / "containerd.log", "wb")
    process = subprocess.Popen(["containerd", "--config", str(tmp_path / "config.toml"), "--root", str(root),
                                "--state", str(tmp_path / "state"), "--address", str(sock)],
                               stdout=log, stderr=subprocess.STDOUT)

    def ctr(*args: str) -> bytes:
        done = subprocess.run(["ctr", "-a", str(sock), "-n", "default", *args], capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode(errors="replace")
        return done.stdout

    try:
        for _ in range(100):
            if sock.exists():
                break
            time.sleep(0.1)
        yield ctr
    finally:
        process.terminate()
        process.wait(30)
        log.close()


def test_a_containerd_root_offline_is_the_image_live(build_image, save_image, tmp_path):
    """An image built by Docker, `ctr images import`ed into a private containerd, which is then stopped:
    read from its root (names from the bolt metadata database, blobs from the content store), it is the
    image the daemon has, layer for layer, file for file, finding for finding."""
    ref = build_image("FROM explorer-it/busybox:base\n"
                      "RUN echo 'toor:x:0:0::/root:/bin/sh' >> /etc/passwd && echo hi > /srv.txt\n")
    archive = save_image(ref, tmp_path / "image.tar")
    root = tmp_path / "root"
    with private_containerd(tmp_path) as ctr:
        ctr("images", "import", "--no-unpack", str(archive))
    live_source, live = scanned(f"docker-daemon:{ref}")
    live_source.close()
    log_path = tmp_path / "audit.jsonl"
    source, offline = scanned(f"containerd-root:{root}:{ref}", str(log_path))  # stored as docker.io/{ref}
    with source:
        assert [layer.stats.diff_id for layer in offline.analysis.layers] == \
            [layer.stats.diff_id for layer in live.analysis.layers]
        assert not offline.analysis.problems
        assert final_rows(offline.analysis) == final_rows(live.analysis)
        assert finding_rows(offline) == finding_rows(live)
        assert "backdoor.accounts.second-uid0" in {f.rule_id for f in offline.findings}
    read = [json.loads(line)["read"] for line in log_path.read_text().splitlines()]
    assert str(root / "io.containerd.metadata.v1.bolt/meta.db") in read
    assert sum("/io.containerd.content.v1.content/blobs/sha256/" in p for p in read) >= 3


# -- a containerd root (a container) ----------------------------------------------------------------

def tar_index(data: bytes) -> dict[str, tuple]:
    """name → (type, mode, uid, gid, sha256 or link target) of a layer tar."""
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        for m in tar:
            what = hashlib.sha256(tar.extractfile(m).read()).hexdigest() if m.isreg() else m.linkname
            out[m.name.strip("/")] = (m.type, m.mode, m.uid, m.gid, what)
    return out


def test_a_containerd_container_offline_is_its_snapshot_diff(build_image, save_image, tmp_path):
    """A container run by a private containerd (`ctr run`: a bind-mounted docker.sock, an added capability,
    a token in its env) changes its files as the Docker victim does; containerd is stopped and the
    container read offline from the root (`containerd-root:DIR:container:ID`): its image's layers, then its
    overlayfs upper folder as the runtime layer, which holds exactly what containerd's own differ
    (`ctr snapshots diff`, taken before the stop) gives, but for the recreated folder: one opaque
    whiteout there, one whiteout per child of the image's folder in containerd's tar."""
    ref = build_image("FROM explorer-it/busybox:base\n"
                      "RUN mkdir -p /srv/data/sub && echo old > /srv/data/old.txt && echo x > /srv/data/sub/x\n")
    archive = save_image(ref, tmp_path / "image.tar")
    sock = tmp_path / "docker.sock"
    sock.write_text("")
    root = tmp_path / "root"
    with private_containerd(tmp_path) as ctr:
        ctr("images", "import", str(archive))
        (name,) = ctr("images", "ls", "-q").decode().split()
        listed = ctr("images", "ls").decode()
        ctr("run", "--mount", f"type=bind,src={sock},dst=/var/run/docker.sock,options=rbind:ro",
            "--env", f"GITHUB_TOKEN={TOKEN}", "--cap-add", "CAP_SYS_PTRACE", name, "victim", "sh", "-c", TAMPER)
        differ = tar_index(ctr("snapshots", "diff", "--media-type", "application/vnd.oci.image.layer.v1.tar",
                               "victim"))
    log_path = tmp_path / "audit.jsonl"
    source, result = scanned(f"containerd-root:{root}:container:victim", str(log_path))
    with source:
        a = result.analysis
        assert not a.problems
        assert [layer.ref.created_by for layer in a.layers][-1] == runtime_created_by("victim")
        assert len(a.layers) == 3 and a.layers[-1].ref.diff_id is None  # a folder walked: no digest to check
        with source.store.open(source.layers[-1].blob) as fh:
            ours = tar_index(fh.read())
        # the recreated folder: an opaque marker here, each child of the image's folder whited out there
        assert ours.pop("srv/data/.wh..wh..opq")[0] == tarfile.REGTYPE
        assert {n for n in differ if n.startswith("srv/data/.wh.")} == {"srv/data/.wh.old.txt", "srv/data/.wh.sub"}
        differ = {n: v for n, v in differ.items() if not n.startswith("srv/data/.wh.")}
        assert {n: v for n, v in ours.items() if not n.startswith(".wh.") and "/.wh." not in n} == \
            {n: v for n, v in differ.items() if not n.startswith(".wh.") and "/.wh." not in n}
        assert {n for n in ours if "/.wh." in n or n.startswith(".wh.")} == \
            {n for n in differ if "/.wh." in n or n.startswith(".wh.")} == {"etc/.wh.group"}
        assert ours["srv/data/new.txt"][1] == 0o4755 and ours["srv/link"][4] == "/tmp/.cache/kw/config.json"
        final = {e.path for e in a.final.entries.values()}
        assert {"/srv/data/new.txt", "/tmp/.cache/kw/config.json"} <= final
        assert not {"/etc/group", "/srv/data/old.txt", "/srv/data/sub"} & final
        found = {(f.rule_id, f.path) for f in result.findings if f.created_by == runtime_created_by("victim")}
        assert ("backdoor.accounts.second-uid0", "/etc/passwd") in found
        assert any(rule.startswith("miner.") and path == "/tmp/.cache/kw/config.json" for rule, path in found)
        config = {f.rule_id for f in result.findings if f.layer is None}
        assert {"misconfig.container.docker-socket-mount", "misconfig.container.added-capability"} <= config
        assert "misconfig.container.host-namespace" not in config
        assert all(TOKEN not in f.evidence for f in result.findings)
    read = [json.loads(line)["read"] for line in log_path.read_text().splitlines()]
    assert str(root / "io.containerd.snapshotter.v1.overlayfs/metadata.db") in read
    assert any(p.endswith("/fs/tmp/.cache/kw/config.json") for p in read)
    # without a name, `layers` lists what the root holds (JSON and table), from its metadata only
    done = subprocess.run([sys.executable, "-m", "explorer", "layers", f"containerd-root:{root}", "--format", "json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert (doc["root"], doc["driver"]) == (str(root), "containerd")
    assert [(i["tags"], i["layers"]) for i in doc["images"]] == [([f"default/{name}"], 2)]
    assert doc["images"][0]["id"] in listed.split()  # the manifest digest `ctr images ls` shows
    assert [(c["id"], c["name"], c["image"], c["snapshotter"], c["state"]) for c in doc["containers"]] == [
        ("default/victim", "victim", f"default/{name}", "overlayfs", "unknown")]
    assert doc["containers"][0]["created"][:2] == "20" and doc["containers"][0]["created"].endswith("Z")
    table = subprocess.run([sys.executable, "-m", "explorer", "layers", f"containerd-root:{root}"],
                           capture_output=True, text=True, timeout=300, env={**os.environ, "COLUMNS": "300"})
    assert table.returncode == 0 and "default/victim" in table.stdout and f"containerd-root:{root}:" in table.stdout
