"""Is `xyz:rest` an image reference (`name:tag`, `host:port/name`) or a transport explorer does not know?

skopeo reads every argument as TRANSPORT:REST and refuses an unknown transport. Here a bare argument is
auto-detected, so `alpine:3` must stay an image reference: a prefix counts as a transport only when it
has a transport's shape: one of skopeo's transport names, or a REST that no image reference can have
after `NAME:` (`//`, a path, anything that is neither a tag nor `PORT/...`), or a near miss of a
transport explorer knows (`oci-archvie:x`).
"""

from __future__ import annotations

import difflib
import re

from explorer.core.errors import SourceError

SKOPEO_TRANSPORTS = ("containers-storage", "dir", "docker", "docker-archive", "docker-daemon", "oci",
                     "oci-archive", "ostree", "sif", "tarball")
_NAME = re.compile(r"[a-z][a-z0-9-]*\Z")
_TAG = re.compile(r"[\w][\w.-]{0,127}\Z")
_PORT = re.compile(r"[0-9]+(/|\Z)")


def check_transport(arg: str, known) -> None:
    """Raise SourceError for `xyz:...` when `xyz` is transport-shaped but not in `known`."""
    head, sep, rest = arg.partition(":")
    if not sep or not _NAME.match(head) or head in known:
        return
    names = ", ".join("docker://" if t == "docker" else f"{t}:" for t in known)
    close = difflib.get_close_matches(head, [t for t in known if t != "docker"], n=1, cutoff=0.8)
    if head in SKOPEO_TRANSPORTS:
        raise SourceError(f"{arg}: transport '{head}:' is not supported by explorer (supported: {names})")
    if _PORT.match(rest):
        return  # host:port/name
    if _TAG.match(rest) and not close:
        return  # name:tag
    hint = f" (did you mean '{close[0]}:'?)" if close else ""
    raise SourceError(f"{arg}: unknown transport '{head}:'{hint}; known: {names}")
