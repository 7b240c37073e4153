"""Image sources: find out what IMAGE names and open it as an ImageSource."""

from __future__ import annotations

import os
import re

from explorer.errors import SourceError
from explorer.sources.base import ImageSource
from explorer.sources.blobstore import DirBlobStore, TarBlobStore

__all__ = ["ImageSource", "open_image", "split_transport"]

TRANSPORTS = ("docker-archive", "oci-archive", "oci", "docker-daemon", "docker")
_PATHLIKE = re.compile(r"(^[./~]|\.(tar|tgz|tar\.gz|oci)$)")


def split_transport(arg: str) -> tuple[str | None, str, str | None]:
    """`oci:DIR:TAG` → ("oci", DIR, TAG); a bare argument → (None, arg, None)."""
    if arg.startswith("docker://"):
        return "docker-daemon", arg[len("docker://"):], None
    head, sep, rest = arg.partition(":")
    if not sep or head not in TRANSPORTS or head == "docker":
        return None, arg, None
    if head == "docker-daemon":
        return head, rest, None
    path, tag = _split_existing(rest)
    if not os.path.exists(path) and ":" in rest:
        path, _, tag = rest.rpartition(":")  # nothing exists: name the path in the error
    return head, path, tag


def _split_existing(text: str) -> tuple[str, str | None]:
    """`PATH:REF` → (PATH, REF) for the shortest existing PATH (REF may hold `:` itself, `repo:tag`)."""
    if os.path.exists(text):
        return text, None
    for i, ch in enumerate(text):
        if ch == ":" and i and os.path.exists(text[:i]):
            return text[:i], text[i + 1:] or None
    return text, None


def _open_path(kind: str, path: str, tag: str | None, platform: str | None, reference: str) -> ImageSource:
    from explorer.sources.docker_archive import open_docker_archive
    from explorer.sources.oci import open_oci

    if kind == "oci":
        if not os.path.isdir(path):
            raise SourceError(f"{path}: not an OCI layout folder")
        return open_oci(DirBlobStore(path), reference, "oci", tag, platform)
    if os.path.isdir(path):
        store = DirBlobStore(path)
    else:
        store = TarBlobStore(path)
    if kind == "docker-archive":
        return open_docker_archive(store, reference, tag)
    return open_oci(store, reference, "oci-archive" if not os.path.isdir(path) else "oci", tag, platform)


def _detect(path: str) -> str:
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, "manifest.json")):
            return "docker-archive"
        if os.path.exists(os.path.join(path, "index.json")):
            return "oci"
        raise SourceError(f"{path}: folder is neither an OCI layout nor an extracted docker-archive")
    store = TarBlobStore(path)
    if store.exists("manifest.json"):
        return "docker-archive"
    if store.exists("index.json"):
        return "oci-archive"
    if store.truncated:
        raise SourceError(f"{path}: the archive is truncated or damaged ({store.truncated}); "
                          "no manifest.json or index.json before the cut")
    raise SourceError(f"{path}: tar archive holds no manifest.json or index.json; not a container image")


def _file_or_folder(path: str) -> None:
    """A fifo or a device as IMAGE would block the read or never end."""
    if not (os.path.isfile(path) or os.path.isdir(path)):
        raise SourceError(f"{path}: not a file or folder (a fifo or device?)")


def open_image(arg: str, platform: str | None = None, audit_log: str | None = None) -> ImageSource:
    """Open IMAGE as the contract describes: explicit transports win, then auto-detection.
    `audit_log`: where `docker-root:` lists every file it reads from the evidence."""
    if arg.startswith("container:"):
        from explorer.sources.container import open_container
        return open_container(arg[len("container:"):], platform)
    if arg.startswith("containerd-root:"):
        from explorer.sources.containerd_root import open_containerd_root
        return open_containerd_root(arg[len("containerd-root:"):], platform, audit_log)
    if arg.startswith("docker-root:"):
        from explorer.sources.docker_root import open_docker_root
        return open_docker_root(arg[len("docker-root:"):], platform, audit_log)
    transport, rest, tag = split_transport(arg)
    if transport == "docker-daemon":
        from explorer.sources.daemon import open_daemon
        return open_daemon(rest, platform)
    if transport:
        if not os.path.exists(rest):
            raise SourceError(f"{rest}: no such file or folder")
        _file_or_folder(rest)
        return _open_path(transport, rest, tag, platform, arg)
    path, tag = _split_existing(arg)
    if os.path.exists(path):
        if not os.access(path, os.R_OK):
            raise SourceError(f"{path}: permission denied")
        _file_or_folder(path)
        return _open_path(_detect(path), path, tag, platform, arg)
    if _PATHLIKE.search(arg):
        raise SourceError(f"{arg}: no such file or folder")
    from explorer.sources.daemon import open_daemon
    return open_daemon(arg, platform)
