"""setuid/setgid files that a layer adds, or whose setuid bit a layer turns on.

Severity follows what the file is and where it sits, since a layer's metadata is all we see here:
a setuid shell or a setuid file in a temporary or hidden place is a root backdoor; the setuid tools
Debian and Alpine ship (su, passwd, mount…) in standard places are normal.
"""

from __future__ import annotations

import re
from typing import Iterable

from explorer.detectors.base import FileDetector, LayerDetector, LayerDelta
from explorer.detectors.heuristics._paths import hidden_part, in_temp
from explorer.core.rules import RuleInfo
from explorer.core.findings import Match
from explorer.core.model import EntryKind, FileEntry

SETUID_SHELL = RuleInfo(
    "backdoor.setuid.shell", "backdoor", "high", "setuid/setgid shell or interpreter",
    "A layer adds a shell or interpreter (bash, sh, busybox, python…) with the setuid or setgid bit: anyone "
    "who runs it gets its owner's rights. Critical when it also sits in a temporary or hidden place.")
SETUID_HIDDEN = RuleInfo(
    "backdoor.setuid.hidden-or-temp", "backdoor", "high", "setuid/setgid file in a temporary or hidden place",
    "A layer adds a setuid or setgid file under /tmp, /var/tmp, /dev/shm or a hidden directory.")
SETUID_ADDED = RuleInfo(
    "suspicious.setuid.added", "suspicious", "low", "setuid/setgid file added",
    "A layer adds a setuid or setgid file, or turns the bit on. Info for the setuid tools distributions "
    "ship, low for other files in standard binary folders, medium elsewhere.")

_SHELLS = frozenset({
    "sh", "bash", "dash", "zsh", "ksh", "ksh93", "mksh", "pdksh", "ash", "csh", "tcsh", "fish", "busybox",
    "toybox", "rbash", "python", "python2", "python3", "perl", "ruby", "php", "node", "lua", "tclsh", "wish",
    "expect", "awk", "gawk", "mawk", "nawk", "env", "vim", "vi", "find", "socat", "nc", "ncat", "netcat",
})
_SHELL_PREFIXES = ("python", "perl", "ruby", "php", "lua", "bash")
_DISTRO_SETUID = frozenset({
    "su", "sudo", "sudoedit", "passwd", "chsh", "chfn", "newgrp", "gpasswd", "chage", "expiry", "mount",
    "umount", "unix_chkpwd", "pam_extrausers_chkpwd", "ping", "ping6", "traceroute6.iputils", "pkexec",
    "polkit-agent-helper-1", "ssh-keysign", "ssh-agent", "dbus-daemon-launch-helper", "crontab", "at",
    "wall", "write", "bsd-write", "fusermount", "fusermount3", "ntfs-3g", "newuidmap", "newgidmap", "Xorg.wrap",
    "mail-lock", "mail-touchlock", "mail-unlock", "dotlockfile", "lockfile", "procmail", "mlock", "sg",
    "vlock-main", "screen", "utempter", "chrome-sandbox", "chrome_sandbox", "snap-confine", "doas",
    "staprun", "exim4", "sendmail", "postdrop", "postqueue", "plocate", "mlocate", "locate", "ksu",
    "userhelper", "pppd", "mount.nfs", "mount.cifs", "bbsuid", "dmcrypt-get-device", "uuidd", "login",
})
_STANDARD_DIRS = ("/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/", "/usr/lib/", "/usr/lib64/", "/usr/libexec/",
                  "/lib/", "/lib64/", "/usr/local/bin/", "/usr/local/sbin/", "/usr/local/lib/", "/opt/")
_KINDS = (EntryKind.FILE, EntryKind.HARDLINK)
_BITS = 0o6000


def _bits(mode: int) -> str:
    return "+".join(name for bit, name in ((0o4000, "setuid"), (0o2000, "setgid")) if mode & bit)


def _is_shell(name: str) -> bool:
    return name in _SHELLS or (name.startswith(_SHELL_PREFIXES) and
                               name.rstrip("0123456789.-m") in _SHELLS)


def classify(entry: FileEntry) -> tuple[RuleInfo, str]:
    """The rule and severity for a setuid/setgid file at this place."""
    hidden = in_temp(entry.path) or hidden_part(entry.path) is not None
    if _is_shell(entry.name):
        return SETUID_SHELL, "critical" if hidden else "high"
    if hidden:
        return SETUID_HIDDEN, "high"
    if entry.path.startswith(_STANDARD_DIRS):
        return SETUID_ADDED, "info" if entry.name in _DISTRO_SETUID else "low"
    return SETUID_ADDED, "medium"


_SHELL_MARKERS = (b"BusyBox v", b"GNU bash, version", b"BASH_VERSION", b"ZSH_VERSION", b"KSH_VERSION",
                  b"Py_Initialize", b"perl_parse", b"ruby_init", b"toybox")
_SCRIPT = re.compile(rb"^#!\s*\S*/(?:env\s+)?(?:ba|da|z|k|mk|a|c|tc|fi)?sh\b|^#!\s*\S*/(?:env\s+)?"
                     rb"(?:python[0-9.]*|perl|ruby|php|node|lua)\b")


def runs_a_shell(data: bytes) -> bool:
    """True for a shell or interpreter binary (whatever its name), or a script run by one."""
    if data[:4] == b"\x7fELF":
        if any(marker in data for marker in _SHELL_MARKERS):
            return True
        return b"dash" in data and b"PS1" in data and b"PS2" in data and len(data) < 512 * 1024
    return bool(_SCRIPT.match(data[:128]))


class SetuidAdded(LayerDetector, FileDetector):
    """Both roles: during the pass it notes which setuid files are shells by their content; after
    stacking it reports the setuid files each layer adds (a shell under an innocent name included)."""

    name = "heuristic-setuid"
    RULES = (SETUID_SHELL, SETUID_HIDDEN, SETUID_ADDED)

    def __init__(self) -> None:
        self._shells: set[tuple[int, str]] = set()
        """(layer, path) of setuid/setgid files whose content is a shell or interpreter."""

    def wants(self, entry: FileEntry) -> bool:
        return entry.kind == EntryKind.FILE and bool(entry.mode & _BITS)

    def scan(self, entry: FileEntry, data: bytes) -> Iterable[Match]:
        if runs_a_shell(data):
            self._shells.add((entry.layer, entry.path))
        return ()

    def scan_layer(self, layer: LayerDelta) -> Iterable[tuple[FileEntry, Match]]:
        candidates = [(entry, "added") for entry in layer.added]
        for old, new in layer.modified:
            if new.mode & _BITS & ~old.mode:
                candidates.append((new, f"bit turned on (was {old.mode:04o})"))
        for entry, how in candidates:
            if entry.kind not in _KINDS or not entry.mode & _BITS:
                continue
            rule, severity = classify(entry)
            if rule is not SETUID_SHELL and (entry.layer, entry.path) in self._shells:
                rule = SETUID_SHELL
                severity = "critical" if in_temp(entry.path) or hidden_part(entry.path) is not None else "high"
            owner = entry.uname or f"uid {entry.uid}"
            yield entry, rule.match(f"{_bits(entry.mode)} {entry.mode:04o}, owner {owner}, {how}",
                                    severity=severity)
