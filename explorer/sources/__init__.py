"""Image sources: find out what IMAGE names and open it as an ImageSource."""

from __future__ import annotations

import os
import re

from explorer.core.errors import SourceError
from explorer.sources.base import ImageSource, split_existing
from explorer.sources.blobstore import DirBlobStore, TarBlobStore

__all__ = ["ImageSource", "open_image", "split_transport"]

TRANSPORTS = ("docker-archive", "oci-archive", "oci", "docker-daemon", "docker", "registry")
_PATHLIKE = re.compile(r"(^[./~]|\.(tar|tgz|tar\.gz|oci)$)")


def split_transport(arg: str) -> tuple[str | None, str, str | None]:
    """`oci:DIR:TAG` → ("oci", DIR, TAG); a bare argument → (None, arg, None)."""
    if arg.startswith("docker://"):
        return "registry", arg[len("docker://"):], None
    head, sep, rest = arg.partition(":")
    if not sep or head not in TRANSPORTS or head == "docker":
        return None, arg, None
    if head in ("docker-daemon", "registry"):
        return head, rest, None
    path, tag = split_existing(rest)
    if not os.path.exists(path) and ":" in rest:
        path, _, tag = rest.rpartition(":")  # nothing exists: name the path in the error
    return head, path, tag


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


def open_image(arg: str, platform: str | None = None, registry=None, audit_log: str | None = None) -> ImageSource:
    """Open IMAGE as the contract describes: explicit transports win, then auto-detection.
    `registry`: the RegistryOptions (credentials, CA, insecure hosts) for an image from a registry;
    `audit_log`: where `docker-root:` lists every file it reads from the evidence.

    Whatever the documents or the file system throw at the readers (a JSON value of the wrong type
    where an object was checked for, a blob that vanished or cannot be read) is bad input: one
    SourceError, never a traceback."""
    try:
        return _open_image(arg, platform, registry, audit_log)
    except SourceError:
        raise
    except (AttributeError, TypeError, KeyError, IndexError, ValueError, RecursionError, OSError, EOFError) as exc:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise SourceError(f"{arg}: cannot be read as an image ({reason[:300]})") from None


def _open_image(arg: str, platform: str | None, registry, audit_log: str | None) -> ImageSource:
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
    if transport == "registry":
        from explorer.sources.registry import open_registry
        return open_registry(rest, platform, registry, arg)
    if transport:
        if not os.path.exists(rest):
            raise SourceError(f"{rest}: no such file or folder")
        _file_or_folder(rest)
        return _open_path(transport, rest, tag, platform, arg)
    path, tag = split_existing(arg)
    if os.path.exists(path):
        if not os.access(path, os.R_OK):
            raise SourceError(f"{path}: permission denied")
        _file_or_folder(path)
        return _open_path(_detect(path), path, tag, platform, arg)
    from explorer.sources.transports import check_transport
    check_transport(arg, (*TRANSPORTS, "container", "docker-root", "containerd-root"))
    if _PATHLIKE.search(arg):
        raise SourceError(f"{arg}: no such file or folder")
    return _open_reference(arg, platform, registry)


def _open_reference(arg: str, platform: str | None, registry) -> ImageSource:
    """A bare reference: the Docker daemon when it is reachable and has the image, else the
    registry; stderr says which."""
    import sys

    from explorer.sources.daemon import daemon_has, open_daemon
    from explorer.sources.registry import open_registry, parse_reference
    from explorer.core.textsafe import safe

    has, why = daemon_has(arg)
    if has:
        print(f"explorer: {safe(arg)}: from the Docker daemon", file=sys.stderr)
        return open_daemon(arg, platform)
    try:
        ref = parse_reference(arg)
    except SourceError as exc:
        raise SourceError(f"{arg}: no such file or folder, not in the Docker daemon ({why}), and not an image "
                          f"reference ({exc})") from None
    print(f"explorer: {safe(arg)}: not in the Docker daemon ({safe(why)}); from the registry {safe(ref.host)}",
          file=sys.stderr)
    return open_registry(arg, platform, registry, arg)
