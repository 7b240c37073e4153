"""`/etc/ld.so.preload`: every dynamically linked program loads the libraries it names (rootkits, hiders)."""

from __future__ import annotations

from typing import Iterable

from explorer.detectors.base import FileDetector
from explorer.detectors.heuristics._paths import active_lines, hidden_part, in_temp
from explorer.core.rules import RuleInfo
from explorer.core.findings import Match
from explorer.core.model import FileEntry

LD_PRELOAD = RuleInfo(
    "backdoor.preload.ld-so-preload", "backdoor", "high", "/etc/ld.so.preload loads a library into every process",
    "/etc/ld.so.preload names a library that the dynamic loader injects into every program: the classic way "
    "to hide processes and files (readdir hooks). Critical when the library sits in a temporary or hidden path.")


class LdSoPreload(FileDetector):
    name = "heuristic-ld-so-preload"
    RULES = (LD_PRELOAD,)

    def wants(self, entry: FileEntry) -> bool:
        return entry.path == "/etc/ld.so.preload" and entry.size > 0

    def scan(self, entry: FileEntry, data: bytes) -> Iterable[Match]:
        # entries are separated by white space or colons
        libraries = [(number, library) for number, line in active_lines(data)
                     for library in line.replace(":", " ").split()]
        if not libraries:
            return
        hidden = any(in_temp(library) or hidden_part(library) for _, library in libraries)
        yield LD_PRELOAD.match(" ".join(library for _, library in libraries), line=libraries[0][0],
                               severity="critical" if hidden else "high")
