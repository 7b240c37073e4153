"""Persistence points (cron, rc scripts, profile and shell rc files, systemd units, supervisord programs)
that start something from a temporary or hidden place, or from the network.

Only what a line runs counts: a stock cron job that cleans /tmp does not fire, one that starts
`/tmp/.x/kworker` does.
"""

from __future__ import annotations

import posixpath
import re
from typing import Iterable

from explorer.detectors.base import FileDetector
from explorer.detectors.heuristics._paths import active_lines, hidden_part, in_temp
from explorer.core.rules import RuleInfo
from explorer.detectors.heuristics._shell import dev_tcp, download_exec, programs
from explorer.core.findings import Match
from explorer.core.model import FileEntry

DOWNLOAD_EXEC = RuleInfo("backdoor.persistence.download-exec", "backdoor", "high",
                         "Persistence point runs code fetched from the network",
                         "A cron entry, rc/profile script, systemd unit or supervisord program downloads code and "
                         "executes it (`curl … | sh`, `wget … && chmod +x … && ./…`).")
DEV_TCP = RuleInfo("backdoor.persistence.dev-tcp", "backdoor", "high", "Persistence point opens a /dev/tcp socket",
                   "A persistence point uses bash's /dev/tcp or /dev/udp: a reverse shell or a download channel.")
TEMP_EXEC = RuleInfo("backdoor.persistence.temp-exec", "backdoor", "high",
                     "Persistence point runs a program from a temporary directory",
                     "A persistence point starts a program under /tmp, /var/tmp or /dev/shm, where droppers put "
                     "their payloads.")
HIDDEN_EXEC = RuleInfo("backdoor.persistence.hidden-exec", "backdoor", "medium",
                       "Persistence point runs a program from a hidden directory",
                       "A persistence point starts a program from a dot-directory (`/.x/`, `/usr/lib/.cache/`) that "
                       "no known tool uses.")

_RC_NAMES = frozenset({".bashrc", ".profile", ".bash_profile", ".bash_login", ".bash_logout", ".zshrc",
                       ".zprofile", ".zlogin", ".zshenv", ".cshrc", ".tcshrc", ".kshrc", ".mkshrc"})
_SHELL_FILES = frozenset({"/etc/rc.local", "/etc/rc.d/rc.local", "/etc/profile", "/etc/bash.bashrc", "/etc/bashrc",
                          "/etc/zshrc", "/etc/zprofile", "/etc/zsh/zshrc", "/etc/zsh/zprofile", "/etc/zsh/zshenv",
                          "/etc/zsh/zlogin", "/etc/environment", "/etc/anacrontab"})
_SHELL_DIRS = ("/etc/init.d/", "/etc/rc.d/init.d/", "/etc/profile.d/", "/etc/update-motd.d/",
               "/etc/cron.hourly/", "/etc/cron.daily/", "/etc/cron.weekly/", "/etc/cron.monthly/",
               "/etc/cron.yearly/", "/etc/periodic/")
_SYSTEM_CRONTABS = ("/etc/cron.d/",)
_USER_CRONTABS = ("/var/spool/cron/", "/etc/crontabs/")
_SYSTEMD_DIRS = ("/etc/systemd/", "/lib/systemd/", "/usr/lib/systemd/", "/usr/local/lib/systemd/", "/run/systemd/")
_SYSTEMD_SUFFIXES = (".service", ".socket", ".conf", ".path", ".mount")
_SUPERVISOR = ("/etc/supervisor/", "/etc/supervisord.conf", "/etc/supervisord.d/")
_EXEC_LINE = re.compile(r"^Exec(?:Start|StartPre|StartPost|Reload|Stop|StopPost|Condition)\s*=\s*[-@:+!]*(.*)$")
_COMMAND_LINE = re.compile(r"^command\s*=\s*(.*)$")
_MAX_SIZE = 1 << 20


_ROOTS = ("/etc/", "/var/spool/cron/", *_SYSTEMD_DIRS)
"""Every folder a persistence point lies in but the hidden ones (rc files, ~/.config/systemd/)."""


def kind_of(path: str) -> str | None:
    """`shell`, `crontab`, `system-crontab`, `systemd`, `supervisor` or None for other files."""
    if not path.startswith(_ROOTS) and "/." not in path and not path.startswith("."):
        return None  # the common case (called for every file)
    if path == "/etc/crontab" or path.startswith(_SYSTEM_CRONTABS):
        return "system-crontab"
    if path.startswith(_USER_CRONTABS):
        return "crontab"
    if path in _SHELL_FILES or path.startswith(_SHELL_DIRS) or posixpath.basename(path) in _RC_NAMES:
        return "shell"
    if (path.startswith(_SYSTEMD_DIRS) or "/.config/systemd/" in path) and path.endswith(_SYSTEMD_SUFFIXES):
        return "systemd"
    if path.startswith(_SUPERVISOR):
        return "supervisor"
    return None


def _commands(kind: str, data: bytes) -> Iterable[tuple[int, str]]:
    """(line number, command text) for the lines of this kind of file that run something."""
    comment = ";" if kind == "supervisor" else "#"
    for number, line in active_lines(data, comment):
        if kind == "systemd":
            found = _EXEC_LINE.match(line)
        elif kind == "supervisor":
            found = _COMMAND_LINE.match(line)
        else:
            yield number, line
            continue
        if found:
            yield number, found.group(1)


class PersistenceFiles(FileDetector):
    name = "heuristic-persistence"
    RULES = (DOWNLOAD_EXEC, DEV_TCP, TEMP_EXEC, HIDDEN_EXEC)

    def wants(self, entry: FileEntry) -> bool:
        return 0 < entry.size <= _MAX_SIZE and kind_of(entry.path) is not None

    def scan(self, entry: FileEntry, data: bytes) -> Iterable[Match]:
        kind = kind_of(entry.path)
        if kind is None:
            return
        seen: set[str] = set()

        def first(rule: RuleInfo, evidence: str, line: int) -> Iterable[Match]:
            if rule.id not in seen:
                seen.add(rule.id)
                yield rule.match(evidence, line=line)

        for number, command in _commands(kind, data):
            what = download_exec(command)
            if what:
                yield from first(DOWNLOAD_EXEC, f"{what}: {command}", number)
            if dev_tcp(command):
                yield from first(DEV_TCP, command, number)
            started = programs(command, cron=kind.endswith("crontab"), cron_user=kind == "system-crontab")
            for program in started:
                if in_temp(program):
                    yield from first(TEMP_EXEC, command, number)
                elif program.startswith("/") and hidden_part(program):
                    yield from first(HIDDEN_EXEC, command, number)
