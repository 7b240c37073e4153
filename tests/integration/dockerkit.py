"""The machinery behind the integration fixtures: a private dockerd, a busybox root filesystem,
build contexts, and hand-made layers appended to saved images. No pytest here (see conftest.py).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BUSYBOX = "/bin/busybox"
APPLETS = ("sh", "ls", "cp", "mv", "rm", "mkdir", "chmod", "chown", "echo", "cat", "ln", "touch",
           "printf", "head", "dd", "true", "false", "test", "env", "id", "sleep", "grep", "sed", "find")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
SOCKET_LIMIT = 100
PR_SET_PDEATHSIG = 1


class DockerUnavailable(Exception):
    """dockerd (or a tool the tests need) cannot be used here; the message says why."""


@dataclass
class Daemon:
    client: "docker.DockerClient"  # noqa: F821 - imported lazily
    host: str
    """The DOCKER_HOST value (`unix:///…/docker.sock`)."""
    root: Path
    """The private folder holding the socket, data-root, exec-root and the daemon log."""
    process: subprocess.Popen

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join((self.root / "dockerd.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _die_with_parent() -> None:
    """In the dockerd child: get SIGTERM when pytest dies, even when it is killed without teardown."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def _remove_stale_folders() -> None:
    """Folders of earlier sessions whose pytest is gone (a killed pytest leaves them behind; its
    dockerd stopped with it, see `_die_with_parent`)."""
    for folder in Path(tempfile.gettempdir()).glob("exd-*"):
        try:
            pid = int((folder / "session.pid").read_text().strip())
        except (OSError, ValueError):
            continue
        if Path(f"/proc/{pid}").exists() or _mounts_below(folder):
            continue
        shutil.rmtree(folder, ignore_errors=True)


def _short_tempdir() -> Path:
    root = Path(tempfile.mkdtemp(prefix="exd-"))
    if len(str(root / "docker.sock")) > SOCKET_LIMIT:
        shutil.rmtree(root, ignore_errors=True)
        root = Path(tempfile.mkdtemp(prefix="exd-", dir="/tmp"))
    return root


def _mounts_below(root: Path) -> list[str]:
    found = []
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                point = line.split()[4].replace("\\040", " ")
                if point == str(root) or point.startswith(str(root) + "/"):
                    found.append(point)
    except OSError:
        pass
    return sorted(found, key=len, reverse=True)


def stop_daemon(process: subprocess.Popen, root: Path) -> None:
    """Stop our dockerd (and, through it, its containerd), then remove every trace of it."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(STOP_TIMEOUT)
    for point in _mounts_below(root):
        subprocess.run(["umount", "-l", point], check=False, capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


def start_daemon(driver: str = "vfs") -> Daemon:
    """Start a private dockerd (storage `driver`) in a fresh short folder and wait (bounded) until it
    answers a ping."""
    if os.name != "posix" or os.geteuid() != 0:
        raise DockerUnavailable("dockerd must run as root")
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise DockerUnavailable("no dockerd on PATH (install docker.io)")
    _remove_stale_folders()
    root = _short_tempdir()
    (root / "session.pid").write_text(str(os.getpid()))
    host = f"unix://{root}/docker.sock"
    log = open(root / "dockerd.log", "wb")
    cmd = [dockerd, "--iptables=false", "--ip6tables=false", "--bridge=none", f"--storage-driver={driver}",
           f"--host={host}", f"--data-root={root}/data", f"--exec-root={root}/exec",
           f"--pidfile={root}/docker.pid"]
    try:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   preexec_fn=_die_with_parent)
    except OSError as exc:
        log.close()
        shutil.rmtree(root, ignore_errors=True)
        raise DockerUnavailable(f"cannot run dockerd: {exc}")
    log.close()
    daemon = Daemon(client=None, host=host, root=root, process=process)
    try:
        daemon.client = _wait_for_ping(daemon)
    except BaseException:
        stop_daemon(process, root)
        raise
    return daemon


def _wait_for_ping(daemon: Daemon):
    """A client once the daemon answers; DockerUnavailable (with the log's tail) when it does not."""
    import docker

    deadline = time.monotonic() + START_TIMEOUT
    last_error = "no answer"
    while time.monotonic() < deadline:
        if daemon.process.poll() is not None:
            raise DockerUnavailable(f"dockerd exited with status {daemon.process.returncode}; "
                                    f"log:\n{daemon.log_tail()}")
        client = None
        try:
            client = docker.DockerClient(base_url=daemon.host, timeout=120)
            if client.ping():
                return client
        except Exception as exc:  # noqa: BLE001 - not up yet; keep the reason for the message
            last_error = f"{type(exc).__name__}: {str(exc)[:200]}"
        if client is not None:
            client.close()
        time.sleep(0.2)
    raise DockerUnavailable(f"dockerd did not answer a ping within {START_TIMEOUT:.0f}s ({last_error}); "
                            f"log:\n{daemon.log_tail()}")


def busybox_rootfs_tar() -> bytes:
    """A minimal root filesystem: /bin/busybox from busybox-static plus applet symlinks."""
    if not os.path.isfile(BUSYBOX):
        raise DockerUnavailable(f"{BUSYBOX} is missing (install busybox-static)")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in ("bin", "etc", "tmp"):
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if name == "tmp" else 0o755
            tar.addfile(info)
        with open(BUSYBOX, "rb") as fh:
            data = fh.read()
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
        for applet in APPLETS:
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname, info.mode = tarfile.SYMTYPE, "busybox", 0o777
            tar.addfile(info)
        for name, text in (("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n"),
                           ("etc/group", "root:x:0:\napp:x:1000:\n")):
            raw = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(raw), 0o644
            tar.addfile(info, io.BytesIO(raw))
    return buf.getvalue()


def write_context(folder: Path, dockerfile: str, files: dict) -> None:
    (folder / "Dockerfile").write_text(dockerfile)
    for name, content in files.items():
        mode = 0o644
        if isinstance(content, tuple):
            content, mode = content
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        os.chmod(path, mode)


def copy_context(source: Path, dest: Path) -> None:
    """Copy a checked-in context with fixed modes (0644 files, 0755 folders), whatever the checkout's umask."""
    shutil.copytree(source, dest, dirs_exist_ok=True, symlinks=True)
    for path in dest.rglob("*"):
        if not path.is_symlink():
            os.chmod(path, 0o755 if path.is_dir() else 0o644)


def context_key(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        digest.update(f"{rel}\0{path.stat().st_mode:o}\0".encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def layer_tar(members) -> bytes:
    """A layer tar from `(name, content[, mode])` items (bytes: a file, None: a folder) or
    `(TarInfo, bytes)` pairs, written in the given order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for item in members:
            if isinstance(item[0], tarfile.TarInfo):
                info, data = item[0], item[1] if len(item) > 1 else b""
            else:
                name, data = item[0], item[1]
                info = tarfile.TarInfo(name)
                if data is None:
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                else:
                    info.mode = 0o644
                if len(item) > 2:
                    info.mode = item[2]
            data = data or b""
            if info.isreg():
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buf.getvalue()


def append_layer(archive: Path, dest: Path, layer: bytes, created_by: str, tag: str) -> None:
    """Rewrite a `docker save` archive with one more (hand-made) layer on top, tagged `tag`.

    Used for what the vfs builder never writes, such as opaque whiteouts. The result is a
    legacy-layout docker-archive that any `docker load` accepts.
    """
    diff_id = "sha256:" + hashlib.sha256(layer).hexdigest()
    with tarfile.open(archive) as tin:
        manifest = json.load(tin.extractfile("manifest.json"))
        assert len(manifest) == 1, f"{archive} holds {len(manifest)} images"
        old_config = manifest[0]["Config"]
        config = json.load(tin.extractfile(old_config))
        config["rootfs"]["diff_ids"].append(diff_id)
        config.setdefault("history", []).append({"created": "2024-01-01T00:00:00Z", "created_by": created_by})
        raw_config = json.dumps(config).encode()
        config_name = hashlib.sha256(raw_config).hexdigest() + ".json"
        layer_name = diff_id[len("sha256:"):] + "/layer.tar"
        new_manifest = [{"Config": config_name, "RepoTags": [tag], "Layers": manifest[0]["Layers"] + [layer_name]}]
        skip = {"manifest.json", "repositories", "index.json", "oci-layout", old_config}
        with tarfile.open(dest, "w") as tout:
            for member in tin.getmembers():
                if member.name in skip:
                    continue
                tout.addfile(member, tin.extractfile(member) if member.isreg() else None)
            for name, data in ((layer_name, layer), (config_name, raw_config),
                               ("manifest.json", json.dumps(new_manifest).encode())):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tout.addfile(info, io.BytesIO(data))


