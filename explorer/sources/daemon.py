"""Images in a Docker daemon, exported through the docker SDK.

The export is streamed in chunks into a private temporary file (never held in memory) and then
read as a docker-archive; the file is removed when the source is closed.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from explorer.core.errors import SourceError, plain_reason
from explorer.sources.base import ImageSource
from explorer.sources.blobstore import TarBlobStore
from explorer.sources.docker_archive import open_docker_archive

CHUNK = 4 * 1024 * 1024
EXPORT_PROGRESS = None
"""Called with (reference, bytes exported so far, done) while an image is exported; the command line sets it
(`--progress plain`)."""


def _client():
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:  # pragma: no cover - docker is a hard dependency
        raise SourceError("the docker SDK is not installed") from None
    host = os.environ.get("DOCKER_HOST", "the default socket")
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as exc:  # DockerException, requests/urllib3 connection errors: the reason in words
        raise SourceError(f"cannot reach the Docker daemon at {host}: {plain_reason(exc)}") from None
    return client


def daemon_has(reference: str) -> tuple[bool, str]:
    """Is the daemon reachable and does it hold `reference`? (and if not, why not, in a few words)"""
    try:
        from docker.errors import DockerException, ImageNotFound
        client = _client()
    except SourceError as exc:
        return False, str(exc).split(": ", 1)[0].replace("cannot reach the Docker daemon at ", "unreachable at ")
    try:
        client.images.get(reference)
        return True, ""
    except ImageNotFound:
        return False, "no such image there"
    except DockerException as exc:
        return False, (str(exc).splitlines() or [type(exc).__name__])[0][:120]
    finally:
        client.close()


def open_daemon(reference: str, platform: str | None = None) -> ImageSource:
    from docker.errors import DockerException, ImageNotFound

    client = _client()
    try:
        image = client.images.get(reference)
    except ImageNotFound:
        raise SourceError(f"{reference}: no such file, and no such image in the Docker daemon") from None
    except DockerException as exc:
        raise SourceError(f"{reference}: the Docker daemon refused: {str(exc).splitlines()[0]}") from None
    tmpdir = tempfile.mkdtemp(prefix="explorer-export-")
    os.chmod(tmpdir, 0o700)
    path = os.path.join(tmpdir, "image.tar")
    try:
        with open(path, "wb") as out:
            exported = 0
            for chunk in image.save(chunk_size=CHUNK, named=True):
                out.write(chunk)
                exported += len(chunk)
                if EXPORT_PROGRESS is not None:
                    EXPORT_PROGRESS(reference, exported, False)
            if EXPORT_PROGRESS is not None:
                EXPORT_PROGRESS(reference, exported, True)
        store = TarBlobStore(path)
        store.description = f"docker-daemon:{reference}"
        source = open_docker_archive(store, reference, None, kind="docker-daemon")
    except BaseException as exc:
        shutil.rmtree(tmpdir, ignore_errors=True)
        if isinstance(exc, (SourceError, KeyboardInterrupt)):
            raise
        if isinstance(exc, DockerException):
            raise SourceError(f"{reference}: export from the Docker daemon failed: {exc}") from None
        raise
    source.cleanup.append(lambda: shutil.rmtree(tmpdir, ignore_errors=True))
    return source
