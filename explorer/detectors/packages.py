"""Facts for package verification, gathered in the one pass (no finding of their own).

`PackageFacts` is a FileDetector whose matches are facts (`Match.is_fact`): the package databases of
each layer, parsed into compact text, and the md5 and sha1 of the files a package database could
vouch for. `explorer.detectors.deepchecks` stacks them layer by layer after the pass and compares.

- dpkg: `/var/lib/dpkg/status` (package, version, conffiles with their md5), `info/NAME.md5sums`,
  `info/NAME.list` (every path the package owns), `diversions`.
- apk: `/lib/apk/db/installed` (`Z:Q1…`: base64 of the file's sha1).
- Python: `NAME-VERSION.dist-info/RECORD` (sha256, which every file has already: `FileEntry.digest`).
- npm: `node_modules/*/package.json` (owner and version) and applications' lockfiles (explorer.detectors.npm_packages).
- RPM: the sqlite rpmdb (explorer.detectors.rpmdb; sha256 file digests on every current distribution).

Which files get an md5 and a sha1: regular files in system folders that are executable or shared
libraries, files under /etc (conffiles), and small files wherever packages install (`SMALL`). The
content is in memory already (YARA reads every file); hashing only these keeps the cost to the files a
tamperer replaces and the files findings usually are in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import posixpath
from typing import Iterable

from explorer.detectors import npm_packages as npm
from explorer.detectors.base import FileDetector
from explorer.detectors.rpmdb import PATHS as RPMDB_PATHS, rpmdb_sqlite
from explorer.core.findings import Match, fact
from explorer.core.model import EntryKind, FileEntry

DPKG_STATUS = "/var/lib/dpkg/status"
DPKG_INFO = "/var/lib/dpkg/info/"
DPKG_DIVERSIONS = "/var/lib/dpkg/diversions"
APK_INSTALLED = "/lib/apk/db/installed"

SYSTEM_DIRS = ("/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/", "/lib/", "/lib32/", "/lib64/", "/libx32/",
               "/usr/lib/", "/usr/lib32/", "/usr/lib64/", "/usr/libx32/", "/usr/libexec/")
"""Where package managers put programs and libraries (/usr/local is the admin's, never a package's)."""
MERGED = ("/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/", "/libx32/")
"""Top folders that merged-/usr systems make symlinks into /usr (packages still name the old paths)."""
HASH_MAX = 64 << 20
DB_MAX = 64 << 20

FACT_HASH = "fact.package.hash"
FACT_DPKG_STATUS = "fact.package.dpkg-status"
FACT_DPKG_MD5SUMS = "fact.package.dpkg-md5sums"
FACT_DPKG_LIST = "fact.package.dpkg-list"
FACT_DPKG_DIVERSIONS = "fact.package.dpkg-diversions"
FACT_APK = "fact.package.apk-installed"
FACT_RECORD = "fact.package.python-record"
FACT_RPM = "fact.package.rpmdb"
FACT_NPM_PACKAGE = "fact.package.npm-package"
FACT_NPM_LOCK = "fact.package.npm-lock"


def canonical(path: str) -> str:
    """The path with merged-/usr top folders mapped into /usr, so `/bin/ls` and `/usr/bin/ls` agree."""
    if path.startswith(MERGED):
        return "/usr" + path
    return path


def in_system_dir(path: str) -> bool:
    return path.startswith(SYSTEM_DIRS)


def is_program_or_library(entry: FileEntry) -> bool:
    """Executable bits or a shared-library name (`libc.so.6`, `pam_unix.so`)."""
    name = entry.name
    return bool(entry.mode & 0o111) or name.endswith(".so") or ".so." in name


SMALL = 32 << 10
"""Files up to this size are hashed wherever a package may have put them (outside /usr/local and the
home and temporary folders): most findings in package files (documentation examples, test keys) are in
small files, and hashing them lets those findings say `verified package file` (measured: files up to
32 KiB are a tenth of a Debian/CPython image's bytes, a few per cent of the scan's CPU)."""
PACKAGED = ("/usr/", "/etc/", "/lib", "/bin/", "/sbin/", "/opt/", "/var/lib/")


def wants_hash(entry: FileEntry) -> bool:
    if entry.kind is not EntryKind.FILE or not 0 < entry.size <= HASH_MAX:
        return False
    path = entry.path
    if entry.size <= SMALL:
        return path.startswith(PACKAGED) and not path.startswith(("/usr/local/", "/var/lib/dpkg/"))
    return path.startswith("/etc/") or (in_system_dir(path) and is_program_or_library(entry))



def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8", "surrogateescape").splitlines()


def _clean(field: str) -> str:
    """A name, version or path from a database, with no tab or newline left to break the fact format."""
    return field.replace("\t", " ").replace("\n", " ").strip()


class PackageFacts(FileDetector):
    name = "package-facts"
    version = "1"

    def wants(self, entry: FileEntry) -> bool:
        if entry.kind is not EntryKind.FILE or entry.size == 0:
            return False
        path = entry.path
        if (path.startswith("/var/lib/dpkg/") or path == APK_INSTALLED or path.endswith(".dist-info/RECORD")
                or path in RPMDB_PATHS or npm.is_lockfile(path)):
            return entry.size <= DB_MAX
        if npm.is_package_json(path):
            return entry.size <= npm.MAX_JSON
        return wants_hash(entry)

    def scan(self, entry: FileEntry, data: bytes) -> Iterable[Match]:
        path = entry.path
        if len(data) < entry.size:
            return  # a prefix only: no hash or database to trust
        if wants_hash(entry):
            yield fact(FACT_HASH, f"{hashlib.md5(data).hexdigest()} {hashlib.sha1(data).hexdigest()}")
        if path == DPKG_STATUS:
            yield fact(FACT_DPKG_STATUS, dpkg_status(data))
        elif path == DPKG_DIVERSIONS:
            yield fact(FACT_DPKG_DIVERSIONS, dpkg_diversions(data))
        elif path.startswith(DPKG_INFO) and path.endswith(".md5sums"):
            yield fact(FACT_DPKG_MD5SUMS, dpkg_md5sums(data))
        elif path.startswith(DPKG_INFO) and path.endswith(".list"):
            yield fact(FACT_DPKG_LIST, "\n".join(_clean(line) for line in _lines(data) if line.startswith("/")))
        elif path == APK_INSTALLED:
            yield fact(FACT_APK, apk_installed(data))
        elif path.endswith(".dist-info/RECORD"):
            yield fact(FACT_RECORD, python_record(path, data))
        elif npm.is_package_json(path):
            text = npm.package_json(data)
            if text is not None:
                yield fact(FACT_NPM_PACKAGE, text)
        elif npm.is_lockfile(path):
            text = npm.lockfile(data)
            if text:
                yield fact(FACT_NPM_LOCK, text)
        elif path in RPMDB_PATHS:
            try:
                yield fact(FACT_RPM, rpmdb_sqlite(data))
            except ValueError:
                return  # not a database this scan reads: no package facts from it


def dpkg_status(data: bytes) -> str:
    """`P\\tname\\tversion\\tinstalled(0|1)` per package, `C\\tname\\tpath\\tmd5` per conffile."""
    out: list[str] = []
    fields: dict[str, str] = {}
    conffiles: list[str] = []
    last = ""

    def flush() -> None:
        name = _clean(fields.get("package", ""))
        if name:
            arch = _clean(fields.get("architecture", ""))
            installed = "1" if fields.get("status", "").split()[-1:] == ["installed"] else "0"
            out.append(f"P\t{name}\t{_clean(fields.get('version', ''))}\t{installed}\t{arch}")
            for line in conffiles:
                parts = line.split()
                if len(parts) >= 2 and parts[0].startswith("/"):
                    out.append(f"C\t{name}\t{_clean(parts[0])}\t{parts[1]}")
        fields.clear()
        conffiles.clear()

    for line in _lines(data):
        if not line.strip():
            flush()
            last = ""
        elif line[0] in " \t":
            if last == "conffiles":
                conffiles.append(line.strip())
        else:
            key, _, value = line.partition(":")
            last = key.strip().lower()
            fields[last] = value.strip()
    flush()
    return "\n".join(out)


def dpkg_md5sums(data: bytes) -> str:
    """`md5\\t/path` per line (the file names no leading slash)."""
    out = []
    for line in _lines(data):
        digest, _, rel = line.partition(" ")
        rel = rel.strip()
        if len(digest) == 32 and rel:
            out.append(f"{digest.lower()}\t{_clean('/' + rel.lstrip('/'))}")
    return "\n".join(out)


def dpkg_diversions(data: bytes) -> str:
    """`from\\tto\\tpackage` per diversion (the file is three lines per diversion)."""
    lines = _lines(data)
    return "\n".join(f"{_clean(lines[i])}\t{_clean(lines[i + 1])}\t{_clean(lines[i + 2])}"
                     for i in range(0, len(lines) - 2, 3))


def apk_installed(data: bytes) -> str:
    """`P\\tname\\tversion` per package, `F\\tname\\t/path\\tsha1` per file with a checksum."""
    out: list[str] = []
    name = version = folder = ""
    file = ""
    for line in _lines(data) + [""]:
        key, _, value = line.partition(":")
        if not line.strip():
            name = version = folder = file = ""
        elif key == "P":
            name = _clean(value)
        elif key == "V":
            version = _clean(value)
            if name:
                out.append(f"P\t{name}\t{version}")
        elif key == "F":
            folder = value.strip().strip("/")
        elif key == "R":
            file = "/" + posixpath.join(folder, value.strip()) if folder else "/" + value.strip()
            out.append(f"F\t{name}\t{_clean(file)}\t")
        elif key == "Z" and file and value.startswith("Q1"):
            try:
                sha1 = base64.b64decode(value[2:].strip(), validate=True).hex()
            except (binascii.Error, ValueError):
                continue
            out[-1] = f"F\t{name}\t{_clean(file)}\t{sha1}"
    return "\n".join(out)


_URLSAFE = bytes.maketrans(b"-_", b"+/")


def python_record(path: str, data: bytes) -> str:
    """`P\\tname\\tversion` then `F\\t/path\\tsha256` per file the RECORD lists (hash empty when none)."""
    folder = posixpath.dirname(path)  # …/NAME-VERSION.dist-info
    base = posixpath.dirname(folder)
    prefix = posixpath.normpath(base).rstrip("/") + "/" if base else ""
    name, _, version = posixpath.basename(folder)[: -len(".dist-info")].partition("-")
    out = [f"P\t{_clean(name)}\t{_clean(version)}"]
    for line in _lines(data):
        rel, _, rest = line.partition(",")
        rel = rel.strip('"')
        if not rel:
            continue
        digest = ""
        algo, _, value = rest.partition("=")
        if algo == "sha256":
            value = value.split(",", 1)[0]
            try:  # base64.urlsafe_b64decode without its Python layers (tens of thousands of lines an image)
                digest = binascii.a2b_base64(value.encode("ascii").translate(_URLSAFE) + b"=" * (-len(value) % 4)).hex()
            except (binascii.Error, ValueError):
                digest = ""
        if rel.startswith("/"):
            target = posixpath.normpath(rel)
        elif "/." in "/" + rel or "//" in rel or rel.endswith("/"):
            target = posixpath.normpath(prefix + rel)
        else:  # already normal (most lines): what normpath would return
            target = prefix + rel
        out.append(f"F\t{_clean(target)}\t{digest}")
    return "\n".join(out)
