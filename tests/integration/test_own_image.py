"""explorer's own image (docs/Dockerfile), built by the test dockerd with no network and no Docker Hub,
then run on the demo image's archive mounted into it, as a user would:
`docker run --rm -v DIR:/in:ro explorer-image scan /in/demo.tar`.

The base is a Debian bookworm tree (`debootstrap --variant=minbase --include=python3,python3-venv,libmagic1`)
imported with `docker import`, and the dependencies come from a folder of wheels: both are made by
.ci/setup (which has the network) in $EXPLORER_CI_CACHE (default /var/cache/explorer-ci), keyed by the
ISO week (and the wheels by pyproject.toml too), so a CI run pays for them at most once a week.

The build runs on a second, overlay2 dockerd of its own (as tests/integration/test_docker_root.py does): the
session's vfs daemon copies the whole Debian tree for every build step, which took minutes."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from dockerkit import DockerUnavailable, start_daemon, stop_daemon
from explorer import __version__
from explorer.demo import write_demo
from explorer.main import main

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("EXPLORER_CI_CACHE", "/var/cache/explorer-ci"))


def own_image_parts() -> tuple[Path, Path]:
    """(base rootfs tar, wheels folder) as .ci/setup names them."""
    week = datetime.datetime.now(datetime.timezone.utc).strftime("%G-W%V")
    pyproject = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:12]
    return CACHE / f"base-{week}.tar", CACHE / f"wheels-{week}-{pyproject}"


def cannot_run(message: str):
    """Skip, or fail under CI (where the suite must really run)."""
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def docker_client():
    """A client of a private overlay2 dockerd for this module (stopped at its end)."""
    try:
        daemon = start_daemon("overlay2")
    except DockerUnavailable as exc:
        cannot_run(f"an overlay2 dockerd cannot run here: {exc}")
    try:
        assert daemon.client.info()["Driver"] == "overlay2"
        yield daemon.client
    finally:
        try:
            daemon.client.close()
        finally:
            stop_daemon(daemon.process, daemon.root)


@pytest.fixture(scope="module")
def own_image(docker_client, tmp_path_factory):
    from docker.errors import BuildError

    base_tar, wheels = own_image_parts()
    if not base_tar.is_file() or not wheels.is_dir():
        cannot_run(f"{base_tar} or {wheels} is missing: run .ci/setup (it makes them)")
    base = f"explorer-it/debian-python:{base_tar.stem.removeprefix('base-').lower()}"
    docker_client.api.import_image_from_file(str(base_tar), repository=base.split(":")[0], tag=base.split(":")[1])
    context = tmp_path_factory.mktemp("own-image")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, context / name)
    for name in ("explorer", "yara_rules"):
        shutil.copytree(ROOT / name, context / name, ignore=ignore)
    (context / "docs").mkdir()
    shutil.copy(ROOT / "docs" / "Dockerfile", context / "docs" / "Dockerfile")
    shutil.copytree(wheels, context / "wheels", ignore=shutil.ignore_patterns("explorer-*.whl"))
    tag = "explorer-it/explorer:own"
    try:
        docker_client.images.build(path=str(context), dockerfile="docs/Dockerfile", tag=tag, network_mode="none",
                                   buildargs={"BASE": base, "PIP_ARGS": "--no-index"}, rm=True, forcerm=True,
                                   pull=False)
    except BuildError as exc:
        log = "".join(str(chunk.get("stream", chunk.get("error", ""))) for chunk in exc.build_log)
        pytest.fail(f"docker build -f docs/Dockerfile failed: {exc}\n{log[-3000:]}", pytrace=False)
    return tag


def test_own_image_scans_a_mounted_archive(own_image, docker_client, tmp_path, capsys):
    archive = Path(write_demo(str(tmp_path)))
    tmp_path.chmod(0o755)  # the image's user (uid 10001) reads the mounted folder
    archive.chmod(0o644)
    out = docker_client.containers.run(own_image, ["scan", f"/in/{archive.name}", "--format", "json"],
                                       volumes={str(tmp_path): {"bind": "/in", "mode": "ro"}}, remove=True,
                                       network_disabled=True, stdout=True, stderr=False)
    in_image = json.loads(out)
    assert main(["scan", str(archive), "--format", "json", "--no-cache"]) == 0
    here = json.loads(capsys.readouterr().out)

    def found(doc):
        return sorted(((f["rule_id"], f["path"], f["layer"], f["severity"]) for f in doc["findings"]), key=repr)

    assert found(in_image) == found(here)
    # the YARA rules travelled inside the package: findings of rules only yara_rules/*.yar define
    yara_ids = set(re.findall(r'^\s*id = "([^"]+)"', "".join(
        f.read_text() for f in (ROOT / "yara_rules").glob("*.yar")), re.M))
    assert {"miner.xmrig-strings", "backdoor.preload-readdir-hook"} <= yara_ids
    assert {"miner.xmrig-strings", "backdoor.preload-readdir-hook"} <= {f["rule_id"] for f in in_image["findings"]}
    assert {"secret.aws-secret-access-key", "miner.xmrig-config"} <= {f["rule_id"] for f in in_image["findings"]}
    assert in_image["tool"]["version"] == __version__


def test_own_image_says_its_version_and_runs_unprivileged(own_image, docker_client):
    out = docker_client.containers.run(own_image, ["version"], remove=True, network_disabled=True)
    assert out.decode().split()[-1] == __version__
    uid = docker_client.images.get(own_image).attrs["Config"]["User"]
    assert uid == "10001:10001"
