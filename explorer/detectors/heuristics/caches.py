"""Package-manager caches a layer leaves behind: bytes every pull pays for and nothing uses."""

from __future__ import annotations

import re
from typing import Iterable

from explorer.detectors.base import LayerDetector, LayerDelta
from explorer.core.rules import RuleInfo
from explorer.core.findings import Match
from explorer.core.model import EntryKind, FileEntry

PACKAGE_CACHE = RuleInfo(
    "misconfig.caches.package-cache", "misconfig", "info", "Package manager cache left in the layer",
    "A layer keeps package lists or downloaded packages (apt lists and archives, pip, apk, yum/dnf, npm "
    "caches) that the image does not need; clean them in the same RUN line.")

_CACHES = (
    ("apt lists", re.compile(r"^(/var/lib/apt/lists)/(?!lock$|partial(?:/|$)|auxfiles(?:/|$))[^/]+$")),
    ("apt archives", re.compile(r"^(/var/cache/apt)/(?:archives/[^/]+\.deb|[^/]+\.bin)$")),
    ("pip cache", re.compile(r"^(/root/\.cache/pip|/home/[^/]+/\.cache/pip)/.+")),
    ("apk cache", re.compile(r"^(/var/cache/apk)/[^/]+$")),
    ("yum/dnf cache", re.compile(r"^(/var/cache/(?:yum|dnf))/.+\.(?:rpm|sqlite|solv|xml\.gz|xml\.zst)$")),
    ("npm cache", re.compile(r"^(/root/\.npm/_cacache|/home/[^/]+/\.npm/_cacache)/.+")),
)
_CACHE_ROOTS = ("/var/lib/apt/lists/", "/var/cache/", "/root/.", "/home/")
"""Where every pattern above starts: other paths skip the regexes."""


class PackageCaches(LayerDetector):
    name = "heuristic-package-caches"
    RULES = (PACKAGE_CACHE,)

    def scan_layer(self, layer: LayerDelta) -> Iterable[tuple[FileEntry, Match]]:
        found: dict[str, tuple[str, FileEntry, int, int]] = {}
        for entry in layer.added + [new for _old, new in layer.modified]:
            if entry.kind != EntryKind.FILE or not entry.path.startswith(_CACHE_ROOTS):
                continue
            for label, pattern in _CACHES:
                hit = pattern.match(entry.path)
                if hit:
                    root = hit.group(1)
                    kind, first, count, size = found.get(root, (label, entry, 0, 0))
                    found[root] = (kind, first, count + 1, size + entry.size)
                    break
        dirs = {entry.path: entry for entry in layer.added + [new for _old, new in layer.modified]
                if entry.kind == EntryKind.DIR}
        for root, (label, first, count, size) in sorted(found.items()):
            where = dirs.get(root, first)
            yield where, PACKAGE_CACHE.match(f"{label}: {count} files, {size} bytes under {root}")
