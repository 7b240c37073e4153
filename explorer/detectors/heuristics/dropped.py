"""Executables dropped where droppers put them: /tmp, /var/tmp, /dev/shm and hidden directories.

The content decides (ELF magic or a `#!` line), not the name: a miner renamed `kworker` in `/tmp/.x/`
is found because it is an ELF file in a hidden temporary folder. Names seen in the wild (`kinsing`,
`kdevtmpfsi`…) are only a low hint of their own.
"""

from __future__ import annotations

from typing import Iterable

from explorer.detectors.base import FileDetector
from explorer.detectors.heuristics._paths import hidden_part, in_temp
from explorer.core.rules import RuleInfo
from explorer.core.findings import Match
from explorer.core.model import FileEntry

TEMP_EXECUTABLE = RuleInfo(
    "suspicious.dropped.executable", "suspicious", "high", "Executable in a temporary or hidden directory",
    "An ELF binary or a script under /tmp, /var/tmp, /dev/shm or in a dot-directory no known tool uses. "
    "ELF: high in /dev/shm or hidden folders, medium in /tmp and /var/tmp; scripts one step lower.")
KNOWN_NAME = RuleInfo(
    "miner.dropped.known-name", "miner", "low", "File named like a known miner or dropper",
    "The file name matches one seen in miner campaigns (kinsing, kdevtmpfsi, xmrigMiner, kworkerds, "
    "bioset…). A name is only a hint: other rules judge the content.")

KNOWN_NAMES = frozenset({
    "kdevtmpfsi", "kinsing", "kinsingd", "xmrigminer", "xmrig", "xmrig-notls", "xmr-stak", "xmr-stak-cpu",
    "bioset", "kworkerds", "kthreaddi", "kthreaddk", "kthreadd2", "ksoftirqds", "watchbog", "sysupdate",
    "networkservice", "sysguard", "dbused", "zzh", "tsm", "tsm64", "tsm32", "minerd", "cpuminer", "ccminer",
    "ddgs", "kerberods", "khugepageds", "solrd", "pnscan", "masscan-miner",
})
_MAX_SIZE = 256 << 20


def _content(data: bytes) -> str | None:
    if data[:4] == b"\x7fELF":
        return "ELF"
    if data[:2] == b"#!":
        return "script"
    return None


class DroppedExecutables(FileDetector):
    name = "heuristic-dropped-executables"
    RULES = (TEMP_EXECUTABLE, KNOWN_NAME)

    def wants(self, entry: FileEntry) -> bool:
        if entry.size < 4 or entry.size > _MAX_SIZE:
            return False
        return in_temp(entry.path) or entry.name.lower() in KNOWN_NAMES or hidden_part(entry.path) is not None

    def scan(self, entry: FileEntry, data: bytes) -> Iterable[Match]:
        content = _content(data)
        if entry.name.lower() in KNOWN_NAMES:
            yield KNOWN_NAME.match(f"{entry.name} ({content or 'not an executable'})")
        if content is None:
            return
        hidden = hidden_part(entry.path)
        shm = entry.path.startswith("/dev/shm/")
        if hidden or shm:
            severity, where = "high", f"hidden directory {hidden}" if hidden else "/dev/shm"
        elif in_temp(entry.path):
            severity, where = "medium", "temporary directory"
        else:
            return
        reason = ""
        if content == "script":
            severity = {"high": "medium", "medium": "low"}[severity]
            first_line = data[:120].split(b"\n", 1)[0].decode("utf-8", "replace")
            detail = f"script ({first_line})"
            reason = "a script, not a binary"
        else:
            detail = "ELF binary"
        yield TEMP_EXECUTABLE.match(f"{detail} in {where} ({entry.size} bytes, mode {entry.mode:04o})",
                                    severity=severity, reason=reason)
