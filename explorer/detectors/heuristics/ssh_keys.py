"""`authorized_keys` files that a layer adds or changes: who can log in with a key the image brings."""

from __future__ import annotations

from typing import Iterable

from explorer.detectors.base import LayerDetector, LayerDelta
from explorer.detectors.heuristics._paths import split_home
from explorer.core.rules import RuleInfo
from explorer.core.findings import Match
from explorer.core.model import EntryKind, FileEntry

AUTHORIZED_KEYS = RuleInfo(
    "backdoor.ssh.authorized-keys", "backdoor", "high", "authorized_keys added or changed",
    "A layer adds or changes an SSH authorized_keys file: whoever holds the key logs in to containers of this "
    "image. High for root, service accounts and /etc/skel; medium for a /home user; info when the file is empty.")

_NAMES = frozenset({"authorized_keys", "authorized_keys2"})
_KINDS = (EntryKind.FILE, EntryKind.HARDLINK, EntryKind.SYMLINK)


def _owner(path: str) -> tuple[str, str]:
    """(whose, severity) for a key file at path."""
    home = split_home(path)
    if home and home[0] == "/root":
        return "root", "high"
    if home:
        return f"user {home[0].rsplit('/', 1)[-1]}", "medium"
    if path.startswith("/etc/skel/"):
        return "every new user (/etc/skel)", "high"
    return "a service account or system path", "high"


class AuthorizedKeysChanged(LayerDetector):
    name = "heuristic-authorized-keys"
    RULES = (AUTHORIZED_KEYS,)

    def scan_layer(self, layer: LayerDelta) -> Iterable[tuple[FileEntry, Match]]:
        changed = [(entry, "added") for entry in layer.added]
        changed += [(new, "changed") for _old, new in layer.modified]
        for entry, how in changed:
            if entry.name not in _NAMES or entry.kind not in _KINDS:
                continue
            whose, severity = _owner(entry.path)
            if entry.kind == EntryKind.SYMLINK:
                detail = f"symlink to {entry.linkname}"
            else:
                detail = f"{entry.size} bytes, owner uid {entry.uid}"
            reason = ""
            if entry.kind != EntryKind.SYMLINK and entry.size == 0:
                severity, reason = "info", "empty file"
            yield entry, AUTHORIZED_KEYS.match(f"{how} for {whose} ({detail})",
                                               severity=severity, reason=reason)
