"""A real, private Docker engine for the integration tests.

One dockerd (vfs storage, no networking) is started per test session in a short temporary folder,
with DOCKER_HOST pointing at it for the session, and torn down (process stopped, folder removed)
at the end. On top of it:

- `busybox_base`: a base image made with `docker import` from Debian's busybox-static (no registry);
- `build_image(dockerfile_or_context, files=None, tag=None) -> ref`: one legacy-builder build with
  `--network=none`, cached per session by content, so each Dockerfile scenario is built once;
- `save_image(ref, path) -> path`: `docker save` through the SDK, streamed to a file;
- `load_image(path) -> [tags]`: `docker load`;
- `extend_image(ref, members, created_by, tag) -> tag`: `ref` plus one hand-made layer (for what the
  vfs builder never writes, such as opaque whiteouts), loaded back into the daemon;
- `skopeo_copy(src, dest, *options)`: skopeo with the daemon transport pointed at our daemon.

When dockerd cannot be started the tests are skipped with the reason, unless the `CI`
environment variable is set: then they fail, so that a CI run never passes without them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dockerkit import (DockerUnavailable, append_layer, busybox_rootfs_tar, context_key, copy_context,
                       layer_tar, start_daemon, stop_daemon, write_context)

HERE = Path(__file__).resolve().parent
BASE_IMAGE = "explorer-it/busybox:base"
"""Every scenario Dockerfile starts `FROM explorer-it/busybox:base`."""


def pytest_collection_modifyitems(config, items):
    """Every test in this folder needs the daemon: mark it, even when a module forgets."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.docker)


def unavailable(reason: str):
    """Skip, or fail when running under CI (where the suite must really run)."""
    if os.environ.get("CI"):
        pytest.fail(f"docker integration tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(f"docker integration tests cannot run here: {reason}")


@pytest.fixture(scope="session")
def docker_daemon():
    """A private dockerd for the session; DOCKER_HOST points at it while the session runs."""
    try:
        daemon = start_daemon()
    except DockerUnavailable as exc:
        unavailable(str(exc))
    saved = os.environ.get("DOCKER_HOST")
    os.environ["DOCKER_HOST"] = daemon.host
    try:
        yield daemon
    finally:
        if saved is None:
            os.environ.pop("DOCKER_HOST", None)
        else:
            os.environ["DOCKER_HOST"] = saved
        try:
            daemon.client.close()
        finally:
            stop_daemon(daemon.process, daemon.root)


@pytest.fixture(scope="session")
def docker_client(docker_daemon):
    return docker_daemon.client


@pytest.fixture(scope="session")
def docker_host(docker_daemon) -> str:
    return docker_daemon.host


@pytest.fixture(scope="session")
def busybox_base(docker_client) -> str:
    """`explorer-it/busybox:base`, imported once per session; returns the reference."""
    repo, tag = BASE_IMAGE.rsplit(":", 1)
    try:
        rootfs = busybox_rootfs_tar()
    except DockerUnavailable as exc:
        unavailable(str(exc))
    docker_client.api.import_image_from_data(rootfs, repository=repo, tag=tag)
    docker_client.images.get(BASE_IMAGE)
    return BASE_IMAGE


@pytest.fixture(scope="session")
def build_image(docker_client, busybox_base, tmp_path_factory):
    """Factory: build a Dockerfile scenario once per session and return its reference.

    `build_image(Path_to_context_folder)` or `build_image(dockerfile_text, {name: str | bytes |
    (content, mode)})`; an optional `tag=` names the result (default: derived from the content).
    Builds use the legacy builder with `--network=none`, like `DOCKER_BUILDKIT=0 docker build`.
    """
    from docker.errors import BuildError

    built: set[tuple[str, str]] = set()

    def build(source, files: dict | None = None, tag: str | None = None) -> str:
        context = tmp_path_factory.mktemp("context")
        if isinstance(source, Path):
            copy_context(source, context)
        else:
            write_context(context, source, files or {})
        key = context_key(context)
        ref = tag or f"explorer-it/build:{key[:16]}"
        if (key, ref) in built:
            return ref
        try:
            docker_client.images.build(path=str(context), tag=ref, network_mode="none", rm=True,
                                       forcerm=True, pull=False)
        except BuildError as exc:
            log = "".join(str(chunk.get("stream", chunk.get("error", ""))) for chunk in exc.build_log)
            pytest.fail(f"docker build of {context} failed: {exc}\n{log[-3000:]}", pytrace=False)
        built.add((key, ref))
        return ref

    return build


@pytest.fixture(scope="session")
def save_image(docker_client):
    """Factory: `save_image(ref, path) -> path`, `docker save` streamed into a file."""

    def save(ref: str, path) -> Path:
        path = Path(path)
        with open(path, "wb") as out:
            for chunk in docker_client.images.get(ref).save(chunk_size=4 * 1024 * 1024, named=True):
                out.write(chunk)
        return path

    return save


@pytest.fixture(scope="session")
def load_image(docker_client):
    """Factory: `load_image(path) -> [tags]`, `docker load` of an archive."""

    def load(path) -> list[str]:
        with open(path, "rb") as fh:
            images = docker_client.images.load(fh.read())
        return [t for image in images for t in image.tags]

    return load


@pytest.fixture(scope="session")
def skopeo_copy(docker_host):
    """Factory: `skopeo_copy(src, dest, *options)`; docker-daemon: transports use our daemon."""
    skopeo = shutil.which("skopeo")
    if skopeo is None:
        unavailable("no skopeo on PATH (install skopeo)")

    def copy(src: str, dest: str, *options: str) -> None:
        cmd = [skopeo, "copy", "--quiet"]
        if src.startswith("docker-daemon:"):
            cmd += ["--src-daemon-host", docker_host]
        if dest.startswith("docker-daemon:"):
            cmd += ["--dest-daemon-host", docker_host]
        cmd += [*options, src, dest]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{' '.join(cmd)} failed: {done.stderr.strip()[-2000:]}"

    return copy


@pytest.fixture(scope="session")
def extend_image(save_image, load_image, tmp_path_factory):
    """Factory: `extend_image(ref, members, created_by, tag) -> tag`: `ref` plus one hand-made layer,
    loaded into the daemon. `members` as `layer_tar` takes them."""

    def extend(ref: str, members, created_by: str, tag: str) -> str:
        folder = tmp_path_factory.mktemp("extend")
        saved = save_image(ref, folder / "base.tar")
        append_layer(saved, folder / "extended.tar", layer_tar(list(members)), created_by, tag)
        tags = load_image(folder / "extended.tar")
        assert tag in tags, f"docker load gave {tags}, expected {tag}"
        return tag

    return extend
