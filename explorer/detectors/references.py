"""Facts for following references (no finding of their own; `explorer.detectors.deepchecks` uses them).

- `fact.ref`: what a persistence point runs or loads: the libraries in /etc/ld.so.preload, the
  programs of cron lines, systemd `Exec*=` lines, shell profiles, and `.pth` files' paths. One line
  per reference: `kind\\tline\\t/absolute/target`.
- `fact.elf-hooks`: the libc and PAM functions an ELF shared object defines itself (exports), the
  functions a preload library overrides to hide files and processes or to catch passwords.
"""

from __future__ import annotations

import posixpath
import re
import struct
from typing import Iterable

from explorer.detectors.base import FileDetector
from explorer.core.findings import Match, fact
from explorer.core.model import EntryKind, FileEntry

FACT_REF = "fact.ref"
FACT_ELF_HOOKS = "fact.elf-hooks"

HOOKABLE = frozenset({
    "readdir", "readdir64", "readdir_r", "readdir64_r", "opendir", "fopen", "fopen64", "open", "open64", "openat",
    "stat", "lstat", "__xstat", "__lxstat", "__xstat64", "__lxstat64", "fstatat", "access", "unlink", "unlinkat",
    "rmdir", "accept", "execve", "getpwnam", "pam_authenticate", "pam_sm_authenticate", "pam_open_session",
    "pam_sm_open_session", "pcap_loop", "write", "read",
})
"""Functions a preload rootkit or credential stealer defines to override libc's or libpam's."""
_HOOK_BYTES = tuple(name.encode() + b"\0" for name in sorted(HOOKABLE))
ELF_MAX = 8 << 20
_PLACES = ("/etc/", "/var/spool/cron/", "/root/", "/home/", "/lib/systemd/", "/usr/lib/systemd/", "/usr/local/lib/",
           "/usr/lib/python", "/usr/lib64/python", "/opt/", "/srv/", "/app/")
"""Where the persistence points `reference_kind` knows can be (a cheap test before the exact one)."""
PROFILE_NAMES = frozenset({".bashrc", ".profile", ".bash_profile", ".bash_login", ".zshrc", ".zprofile",
                           ".bash_logout"})
_EXEC_LINE = re.compile(r"^Exec(?:Start|StartPre|StartPost|Reload|Stop|StopPost)=[-@:+!]{0,4}(\S{1,4096})")
_ABS = re.compile(r"(?:^|[\s;&|'\"=(])(/[A-Za-z0-9_.+@/-]{1,4096})")



def reference_kind(path: str) -> str | None:
    """Which persistence point `path` is, by name."""
    if path == "/etc/ld.so.preload":
        return "preload"
    if path == "/etc/crontab" or path.startswith(("/etc/cron.d/", "/var/spool/cron/")):
        return "cron"
    if path.endswith((".service", ".timer", ".socket")) and "/systemd/" in path:
        return "systemd"
    name = posixpath.basename(path)
    if path in ("/etc/profile", "/etc/bash.bashrc", "/etc/zsh/zshrc", "/etc/environment") or (
            path.startswith("/etc/profile.d/")) or (name in PROFILE_NAMES and path.startswith(("/root/", "/home/"))):
        return "profile"
    if path.endswith(".pth") and ("-packages/" in path or "/lib/python" in path):
        return "pth"
    return None


def _targets(kind: str, data: bytes) -> Iterable[tuple[int, str]]:
    text = data[: 1 << 20].decode("utf-8", "replace")
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if kind == "preload":
            for item in stripped.replace(":", " ").split():
                if item.startswith("/"):
                    yield number, item
        elif kind == "cron":
            if "=" in stripped.split()[0]:
                continue  # MAILTO=, PATH=
            for found in _ABS.finditer(stripped):
                yield number, found.group(1)
                break
        elif kind == "systemd":
            found = _EXEC_LINE.match(stripped)
            if found and found.group(1).startswith("/"):
                yield number, found.group(1)
        elif kind == "profile":
            first = stripped.split()[0]
            if first in (".", "source", "sh", "bash", "exec", "nohup") and len(stripped.split()) > 1:
                first = stripped.split()[1]
            if first.startswith("/") and not first.startswith(("/etc/profile.d", "/etc/bash_completion")):
                yield number, first.rstrip(";&")
        elif kind == "pth":
            if stripped.startswith("import") or stripped.startswith("/"):
                for found in _ABS.finditer(stripped):
                    yield number, found.group(1)
                    break


def exported_hooks(data: bytes) -> list[str]:
    """The HOOKABLE functions an ELF shared object defines (dynamic symbols with a section), sorted."""
    if data[:4] != b"\x7fELF" or len(data) < 64:
        return []
    bits, order = data[4], data[5]
    if bits not in (1, 2) or order not in (1, 2):
        return []
    e = "<" if order == 1 else ">"
    try:
        if struct.unpack_from(e + "H", data, 16)[0] != 3:  # ET_DYN
            return []
        if bits == 2:
            shoff, = struct.unpack_from(e + "Q", data, 0x28)
            shentsize, shnum = struct.unpack_from(e + "HH", data, 0x3A)
        else:
            shoff, = struct.unpack_from(e + "I", data, 0x20)
            shentsize, shnum = struct.unpack_from(e + "HH", data, 0x2E)
        sections = []
        for i in range(min(shnum, 4096)):
            at = shoff + i * shentsize
            if bits == 2:
                _n, stype, _f, _a, off, size, link, _i, _al, entsize = struct.unpack_from(e + "IIQQQQIIQQ", data, at)
            else:
                _n, stype, _f, _a, off, size, link, _i, _al, entsize = struct.unpack_from(e + "IIIIIIIIII", data, at)
            sections.append((stype, off, size, link, entsize))
        out = set()
        for stype, off, size, link, entsize in sections:
            if stype != 11 or link >= len(sections) or entsize != (24 if bits == 2 else 16):  # SHT_DYNSYM
                continue
            _t, str_off, str_size, _l, _e = sections[link]
            strtab = data[str_off: str_off + str_size]
            wanted = {}  # string-table offset -> name, for the hookable names present
            for hook in _HOOK_BYTES:  # names may share a tail in the table (`open` inside `fopen`)
                at = strtab.find(hook)
                while at >= 0 and len(wanted) < 4096:
                    wanted[at] = hook[:-1].decode()
                    at = strtab.find(hook, at + 1)
            if not wanted:
                continue
            table = data[off: off + size - size % entsize]
            fmt = e + ("IBBHQQ" if bits == 2 else "IIIBBH")
            for fields in struct.iter_unpack(fmt, table):
                name = fields[0]
                if name not in wanted:
                    continue
                info, shndx = (fields[1], fields[3]) if bits == 2 else (fields[3], fields[5])
                if shndx != 0 and (info & 0xF) in (2, 10):  # defined STT_FUNC / STT_GNU_IFUNC
                    out.add(wanted[name])
        return sorted(out)
    except struct.error:
        return []


class ReferenceFacts(FileDetector):
    name = "reference-facts"
    version = "1"

    def wants(self, entry: FileEntry) -> bool:
        if entry.kind is not EntryKind.FILE or entry.size == 0:
            return False
        path = entry.path
        if ".so" in path and entry.size <= ELF_MAX and ".so" in entry.name:
            return True
        return path.startswith(_PLACES) and reference_kind(path) is not None

    def scan(self, entry: FileEntry, data: bytes) -> Iterable[Match]:
        kind = reference_kind(entry.path)
        if kind is not None:
            refs = "\n".join(f"{kind}\t{number}\t{target}" for number, target in _targets(kind, data)
                             if "\t" not in target)
            if refs:
                yield fact(FACT_REF, refs)
        if data[:4] == b"\x7fELF":
            hooks = exported_hooks(data)
            if hooks:
                yield fact(FACT_ELF_HOOKS, " ".join(hooks))
