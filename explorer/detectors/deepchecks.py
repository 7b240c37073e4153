"""Image-wide checks that need every layer: run by the engine once the layers are stacked.

They read what the pass left (file entries, findings, and the facts file detectors gathered:
`Match.is_fact`); none reads a blob.

1. Package verification (what `debsums` and `apk audit` do, layer by layer): the package databases
   as of each layer (dpkg, apk, RPM, Python RECORD) against that layer's copies of files. A file a package
   owns whose content does not match the recorded hash is a finding, and so is a program or library
   in a system folder that no package owns (when the image has a package database), and a package
   database whose checksums changed while the package's version did not. Every file finding on a
   copy a package owns carries that package (`Finding.package`).
2. Same content, same verdict: a file with the sha256 of a flagged file is flagged too, and the
   flagged copy names it.
3. Follow references: the files that persistence points run or load (/etc/ld.so.preload, cron,
   systemd, shell profiles, .pth files, the entrypoint and cmd) get a finding naming the reference;
   a preloaded library that defines libc or PAM functions itself is critical.
"""

from __future__ import annotations

import dataclasses
import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable

from explorer.core.rules import RuleInfo
from explorer.detectors import npm_packages as npm
from explorer.detectors import packages as pk
from explorer.core.findings import SEVERITY_RANK, Finding, Match
from explorer.core.model import EntryKind, FileEntry

if TYPE_CHECKING:
    from explorer.layerfs import ImageAnalysis

FileFinding = Callable[[FileEntry, Match], Finding]

MISMATCH = RuleInfo(
    "integrity.package.file-modified", "integrity", "high", "Package file does not match its package's checksum",
    "A file that an installed package owns (dpkg md5sums, apk checksums, RPM file digests, Python RECORD) has other content than "
    "the package recorded: a replaced or patched binary, library or script. Critical for the programs and "
    "libraries rootkits replace first (ps, ls, netstat, ss, sshd, sudo, pam_unix.so, libc…); medium for data "
    "files (not code), low for documentation.")
UNOWNED = RuleInfo(
    "integrity.package.unowned-binary", "integrity", "medium", "Program or library in a system folder no package owns",
    "An executable or shared library under /bin, /sbin, /usr/bin, /usr/sbin, /lib or /usr/lib that no installed "
    "package (dpkg, apk, RPM, Python RECORD) lists, in an image that has a package database. /usr/local is not "
    "checked: it is the administrator's.")
CONFFILE = RuleInfo(
    "integrity.package.conffile-changed", "integrity", "info", "Configuration file changed since its package installed it",
    "A dpkg conffile whose content differs from the package's: administrators change these, so this is "
    "context, not a verdict (other rules judge sshd, PAM and sudoers content).")
DB_EDITED = RuleInfo(
    "integrity.package.database-edited", "integrity", "high", "Package database checksums changed without a new version",
    "The checksums a package database records for a package changed in a layer while the package's version "
    "did not: the database was edited, as a tamperer does to hide a replaced file from debsums or apk audit.")
SAME_CONTENT = RuleInfo(
    "suspicious.same-content", "suspicious", "high", "Same content as a flagged file",
    "This file has the sha256 of a file another rule flagged (a copy under another name: a miner dropped as "
    "/tmp/kdevtmpfsi and /usr/bin/kworkerds). Its severity is the flagged copy's.")
PRELOADED = RuleInfo(
    "backdoor.preload.loaded-library", "backdoor", "high", "Library that /etc/ld.so.preload loads into every process",
    "The target of /etc/ld.so.preload: a library injected into every dynamically linked program. Critical when "
    "it defines libc or PAM functions itself (readdir, fopen, open, stat, accept, pam_authenticate…): the way "
    "userland rootkits hide files and processes or catch passwords. Low when it is a verified package file.")
PERSISTED = RuleInfo(
    "suspicious.persistence-target", "suspicious", "medium", "Program run by a persistence point",
    "The program a cron line, a systemd Exec line, a shell profile or a .pth file runs (medium unless it is a "
    "file verified against its package), or the image's entrypoint/cmd runs (info): the finding names the "
    "reference, so a responder sees what keeps this file running.")
NPM_LOCK = RuleInfo(
    "integrity.package.npm-lock-mismatch", "integrity", "medium", "Installed npm package differs from the lockfile",
    "An application's lockfile (package-lock.json, npm-shrinkwrap.json or node_modules/.package-lock.json) records "
    "one version of a package and node_modules holds another: a package swapped after `npm ci` (npm records no "
    "per-file hashes, so versions are what can be checked).")
RULES = (MISMATCH, UNOWNED, CONFFILE, DB_EDITED, SAME_CONTENT, PRELOADED, PERSISTED, NPM_LOCK)

WELL_KNOWN = frozenset({
    "ps", "ls", "netstat", "ss", "sshd", "ssh", "sudo", "su", "login", "passwd", "top", "find", "lsof", "w", "who",
    "last", "ip", "ifconfig", "kill", "pkill", "pgrep", "crond", "cron", "bash", "sh", "dash", "busybox",
    "systemctl", "du", "df", "stat", "pam_unix.so", "libpam.so.0", "libc.so.6", "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1", "libaudit.so.1", "libselinux.so.1", "libkeyutils.so.1", "libcrypt.so.1",
    "libssl.so.3", "libcrypto.so.3", "libsystemd.so.0", "liblzma.so.5",
})
"""Names rootkits replace first: a mismatch there is critical."""
SAME_CONTENT_MIN = 64
"""Files shorter than this are not linked by content (empty and tiny files repeat everywhere)."""


# -- 1. package verification ----------------------------------------------------------------------

@dataclass
class _Index:
    owners: dict[str, tuple[str, str]] = field(default_factory=dict)
    """canonical path -> (package, version) of some package that lists it."""
    md5: dict[str, dict[str, str]] = field(default_factory=dict)
    """canonical path -> {md5: package} (several packages may ship one path)."""
    sha1: dict[str, dict[str, str]] = field(default_factory=dict)
    sha256: dict[str, dict[str, str]] = field(default_factory=dict)
    conffiles: dict[str, tuple[str, str]] = field(default_factory=dict)
    """canonical path -> (md5, package)."""
    versions: dict[str, str] = field(default_factory=dict)
    signatures: dict[tuple[str, str], tuple[str, str, str]] = field(default_factory=dict)
    """(manager, package) -> (version, checksums text, database path): to see checksums edited in place."""
    rpm_config: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    """canonical path -> (digest, algorithm, package) of an RPM %config file."""
    npm: dict[str, tuple[str, str]] = field(default_factory=dict)
    """installed npm package folder (`…/node_modules/NAME`) -> (name, version) of its package.json."""
    npm_locks: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    """application folder -> (lockfile path, {`node_modules/…`: locked version})."""
    has_db: bool = False
    """A system package database (dpkg, apk, RPM) lists installed packages: files it does not own are unowned."""
    has_record: bool = False


def _dpkg_name(db_path: str) -> str:
    return posixpath.basename(db_path).rsplit(".", 1)[0].split(":", 1)[0]


def _build_index(db: dict[str, tuple[str, str]]) -> _Index:
    """The index of the databases `db` holds (database path -> (fact rule, fact text))."""
    ix = _Index()
    diverted: dict[str, tuple[str, str]] = {}
    for path, (rule, text) in db.items():
        if rule == pk.FACT_DPKG_STATUS:
            for line in text.splitlines():
                parts = line.split("\t")
                if parts[0] == "P" and len(parts) >= 4 and parts[3] == "1":
                    ix.versions[parts[1]] = parts[2]
                    ix.has_db = True
        elif rule == pk.FACT_DPKG_DIVERSIONS:
            for line in text.splitlines():
                parts = line.split("\t")
                if len(parts) == 3:
                    diverted[pk.canonical(parts[0])] = (pk.canonical(parts[1]), parts[2])
    for path, (rule, text) in db.items():
        if rule == pk.FACT_DPKG_STATUS:
            for line in text.splitlines():
                parts = line.split("\t")
                if parts[0] == "C" and len(parts) == 4 and parts[1] in ix.versions:
                    key = pk.canonical(parts[2])
                    ix.conffiles[key] = (parts[3], parts[1])
                    ix.owners.setdefault(key, (parts[1], ix.versions[parts[1]]))
        elif rule in (pk.FACT_DPKG_MD5SUMS, pk.FACT_DPKG_LIST):
            name = _dpkg_name(path)
            version = ix.versions.get(name)
            if version is None:
                continue  # not installed (any more): its leftovers own nothing
            if rule == pk.FACT_DPKG_MD5SUMS:
                ix.signatures[("dpkg", name)] = (version, text, path)
            for line in text.splitlines():
                if rule == pk.FACT_DPKG_MD5SUMS:
                    digest, _, file = line.partition("\t")
                else:
                    digest, file = "", line
                key = pk.canonical(file)
                divert = diverted.get(key)
                if divert is not None and divert[1] != name:
                    key = divert[0]  # this package's copy was moved aside
                ix.owners.setdefault(key, (name, version))
                if digest:
                    ix.md5.setdefault(key, {})[digest] = name
        elif rule == pk.FACT_NPM_PACKAGE:
            name, _, version = text.partition("\t")
            ix.npm[posixpath.dirname(path)] = (name, version)
        elif rule == pk.FACT_NPM_LOCK:
            ix.npm_locks[npm.lock_folder(path)] = (path, dict(line.split("\t")[1:3] for line in text.splitlines()
                                                             if line.count("\t") == 2))
        elif rule in (pk.FACT_APK, pk.FACT_RPM):
            _index_files(ix, text, path, "apk" if rule == pk.FACT_APK else "rpm")
        elif rule == pk.FACT_RECORD:
            ix.has_record = True
            head, _, rest = text.partition("\n")
            _, name, version = (head.split("\t") + ["", ""])[:3]
            for line in rest.splitlines():
                parts = line.split("\t")
                if len(parts) == 3:
                    key = pk.canonical(parts[1])
                    ix.owners.setdefault(key, (name, version))
                    if parts[2]:
                        ix.sha256.setdefault(key, {})[parts[2]] = name
    return ix


def _index_files(ix: _Index, text: str, db_path: str, manager: str) -> None:
    """apk's and RPM's facts: `P name version` per package, `F name path digest [algorithm config]` per
    file (apk: sha1); owners, digests by algorithm (md5, sha1, sha256; others own only), RPM %config files."""
    lines: dict[str, list[str]] = {}
    tables = {"md5": ix.md5, "sha1": ix.sha1, "sha256": ix.sha256}
    for line in text.splitlines():
        parts = line.split("\t")
        if parts[0] == "P" and len(parts) == 3:
            ix.versions[parts[1]] = parts[2]
            ix.has_db = True
        elif parts[0] == "F" and len(parts) in (4, 6):
            name, file, digest = parts[1:4]
            algo, config = (parts[4], parts[5]) if len(parts) == 6 else ("sha1", "0")
            key = pk.canonical(file)
            ix.owners.setdefault(key, (name, ix.versions.get(name, "")))
            if config == "1":
                ix.rpm_config.setdefault(key, (digest, algo, name))
            elif digest and algo in tables:
                tables[algo].setdefault(key, {})[digest] = name
            lines.setdefault(name, []).append(line)
    for name, got in lines.items():
        ix.signatures[(manager, name)] = (ix.versions.get(name, ""), "\n".join(got), db_path)


def _verdict(ix: _Index, entry: FileEntry, hashes: tuple[str, str] | None):
    """(package, version, verified, recorded hash, kind) for an owned copy, else None."""
    key = pk.canonical(entry.path)
    owner = ix.owners.get(key)
    md5, sha1 = hashes if hashes is not None else (None, None)
    rpm_config = ix.rpm_config.get(key)
    if rpm_config is not None:  # an RPM %config file: changed by administrators, as a dpkg conffile
        recorded, algo, name = rpm_config
        actual = {"md5": md5, "sha1": sha1, "sha256": entry.digest}.get(algo)
        verified = None if actual is None else actual == recorded
        return name, ix.versions.get(name, ""), verified, recorded, f"conffile-{algo}"
    conffile = ix.conffiles.get(key)
    if conffile is not None:
        recorded, name = conffile
        verified = None if md5 is None else md5 == recorded
        return name, ix.versions.get(name, ""), verified, recorded, "conffile"
    for table, actual, algo in ((ix.md5, md5, "md5"), (ix.sha1, sha1, "sha1"), (ix.sha256, entry.digest, "sha256")):
        recorded = table.get(key)
        if recorded is None:
            continue
        if actual is None:
            return (*owner, None, "", algo) if owner else None
        name = recorded.get(actual)
        if name is not None:
            return name, ix.versions.get(name, owner[1] if owner else ""), True, actual, algo
        name, first = next(iter(recorded.values())), next(iter(recorded))
        return name, ix.versions.get(name, owner[1] if owner else ""), False, first, algo
    if owner is not None:
        return (*owner, None, "", "")
    installed = ix.npm.get(npm.package_dir(entry.path) or "") if ix.npm else None
    if installed is not None:  # npm records no file hashes: owned, not verified
        return (*installed, None, "", "")
    return None


KNOWN_UNOWNED = frozenset({"/usr/sbin/policy-rc.d", "/usr/sbin/invoke-rc.d.distrib"})
"""Programs image builders write themselves (Docker's Debian images: policy-rc.d stops services from
starting during `apt-get install`)."""


def _unowned_candidate(entry: FileEntry) -> bool:
    return (pk.in_system_dir(entry.path) and pk.is_program_or_library(entry)
            and pk.canonical(entry.path) not in KNOWN_UNOWNED)


DOCS = ("/usr/share/doc/", "/usr/share/man/", "/usr/share/info/", "/usr/share/locale/", "/usr/share/help/")
CODE_SUFFIXES = (".py", ".pyc", ".pth", ".so", ".pyd", ".sh", ".pl", ".pm", ".rb", ".php", ".js", ".lua", ".jar")


def _code(entry: FileEntry) -> bool:
    """Files that run or are loaded by what runs: programs, libraries, modules, scripts, start-up hooks."""
    return (entry.path.endswith(CODE_SUFFIXES) or pk.is_program_or_library(entry) or "/bin/" in entry.path
            or "/sbin/" in entry.path or "/security/" in entry.path)


def verify_packages(analysis: ImageAnalysis, facts: list[tuple[FileEntry, Match]], file_finding: FileFinding
                    ) -> tuple[list[Finding], dict[tuple[int, str], tuple]]:
    """Findings, and (layer, path) -> (package, version, verified) for every owned copy checked."""
    by_layer: dict[int, list[tuple[FileEntry, Match]]] = {}
    hashes: dict[int, tuple[str, str]] = {}
    for entry, match in facts:
        if match.rule_id == pk.FACT_HASH:
            md5, _, sha1 = match.evidence.partition(" ")
            hashes[id(entry)] = (md5, sha1)
        elif match.rule_id.startswith("fact.package."):
            by_layer.setdefault(entry.layer, []).append((entry, match))
    found: list[Finding] = []
    marks: dict[tuple[int, str], tuple] = {}
    db: dict[str, tuple[str, str]] = {}
    sources: dict[str, FileEntry] = {}
    """database path -> the copy its facts came from (the newest)."""
    ix = _Index()
    cut = min((p.layer for p in analysis.problems if p.kind.cuts_short and p.layer is not None), default=None)
    for report in analysis.layers:
        if cut is not None and report.index >= cut:
            break  # files a cut layer lost would all look modified or unowned: its damage is the finding
        changed = False
        for entry in report.entries:
            if entry.is_whiteout:
                gone = [p for p in db if p.startswith(entry.path + "/") or
                        (entry.kind is EntryKind.WHITEOUT and p == entry.path)]
                for p in gone:
                    del db[p]
                changed = changed or bool(gone)
        for entry, match in by_layer.get(report.index, ()):
            db[entry.path] = (match.rule_id, match.evidence)
            sources[entry.path] = entry
            changed = True
        if changed:
            before, ix = ix, _build_index(db)
            found.extend(_edited(before, ix, report.entries, file_finding))
        if not ix.has_db and not ix.has_record and not ix.npm:
            continue
        for entry in report.entries:
            if entry.kind is not EntryKind.FILE:
                continue
            verdict = _verdict(ix, entry, hashes.get(id(entry)))
            if verdict is None:
                if ix.has_db and _unowned_candidate(entry) and not entry.path.startswith("/usr/local/"):
                    found.append(file_finding(entry, UNOWNED.match(
                        f"{entry.path}: no installed package lists it ({'executable' if entry.mode & 0o111 else 'library'}, "
                        f"{entry.size} bytes)")))
                continue
            name, version, verified, recorded, algo = verdict
            marks[(entry.layer, entry.path)] = (name, version, verified)
            if verified is not False:
                continue
            kind = "md5" if algo == "conffile" else algo.removeprefix("conffile-")
            actual = {"md5": hashes.get(id(entry), ("", ""))[0], "sha1": hashes.get(id(entry), ("", ""))[1],
                      "sha256": entry.digest or ""}.get(kind, "")
            text = (f"{entry.path} differs from package {name} {version}: {kind} "
                    f"{actual[:16]}…, the package records {recorded[:16]}…")
            if algo.startswith("conffile"):
                match = CONFFILE.match(text)
            elif entry.path.startswith(DOCS):
                match = MISMATCH.match(text, severity="low", reason="documentation, not code")
            elif not _code(entry):
                match = MISMATCH.match(text, severity="medium", reason="data file, not code (a CA bundle replaced "
                                                                      "by the admin is common)")
            else:
                critical = entry.name in WELL_KNOWN or entry.name.startswith(("libc.so", "libc-"))
                match = MISMATCH.match(text, severity="critical" if critical else "high")
            found.append(dataclasses.replace(file_finding(entry, match), package=(name, version, False)))
    found.extend(_npm_locks(ix, sources, file_finding))
    return found, marks


def _npm_locks(ix: _Index, sources: dict[str, FileEntry], file_finding: FileFinding) -> Iterable[Finding]:
    """Installed npm packages whose version is not the one their application's lockfile records."""
    for folder, (lock_path, locked) in ix.npm_locks.items():
        for key, version in locked.items():
            installed = ix.npm.get(f"{folder}/{key}")
            entry = sources.get(f"{folder}/{key}/package.json")
            if installed is None or entry is None or installed[1] == version:
                continue
            yield dataclasses.replace(file_finding(entry, NPM_LOCK.match(
                f"{installed[0]} {installed[1]} installed, {lock_path} records {version}")),
                package=(installed[0], installed[1], None))


def _edited(before: _Index, after: _Index, entries: list[FileEntry], file_finding: FileFinding) -> Iterable[Finding]:
    """Packages whose recorded checksums changed in this layer while their version stayed the same."""
    by_path = {e.path: e for e in entries if e.kind is EntryKind.FILE}
    for key, (version, text, db_path) in after.signatures.items():
        old = before.signatures.get(key)
        if old is None or old[0] != version or old[1] == text or db_path not in by_path:
            continue
        old_lines, new_lines = set(old[1].splitlines()), set(text.splitlines())
        changed = sorted(new_lines - old_lines)[:3] + sorted(f"removed {line}" for line in old_lines - new_lines)[:3]
        yield file_finding(by_path[db_path], DB_EDITED.match(
            f"{key[0]} package {key[1]} {version}: " + "; ".join(c.replace("\t", " ") for c in changed)))


# -- 2. same content, same verdict ----------------------------------------------------------------

def same_content(analysis: ImageAnalysis, findings: list[Finding], file_finding: FileFinding) -> list[Finding]:
    """`findings` with a note on each flagged copy that has a twin, and a finding on each unflagged twin."""
    entries = {(e.layer, e.path): e for report in analysis.layers for e in report.entries
               if e.kind is EntryKind.FILE and e.digest and e.size >= SAME_CONTENT_MIN}
    worst: dict[str, Finding] = {}
    for f in findings:
        if f.source != "file" or f.category in ("secret", "integrity") or SEVERITY_RANK[f.severity] < SEVERITY_RANK["medium"]:
            continue
        entry = entries.get((f.layer, f.path))
        if entry is None or f.rule_id == SAME_CONTENT.id:
            continue
        cur = worst.get(entry.digest)
        if cur is None or SEVERITY_RANK[f.severity] > SEVERITY_RANK[cur.severity]:
            worst[entry.digest] = f
    if not worst:
        return findings
    copies: dict[str, list[FileEntry]] = {}
    for entry in entries.values():
        if entry.digest in worst:
            copies.setdefault(entry.digest, []).append(entry)
    flagged = {(f.layer, f.path) for f in findings if f.source == "file" and f.category not in ("secret", "integrity")
               and SEVERITY_RANK[f.severity] >= SEVERITY_RANK["medium"]}
    notes: dict[tuple[int, str], str] = {}
    out = []
    for digest, group in copies.items():
        if len(group) < 2:
            continue
        origin = worst[digest]
        for entry in group:
            where = (entry.layer, entry.path)
            twin = next(e for e in group if (e.layer, e.path) != where)
            notes[where] = f"same content as {twin.path} (layer {twin.layer})"
            if where not in flagged:
                out.append(file_finding(entry, SAME_CONTENT.match(
                    f"same content as {origin.path} (layer {origin.layer}), flagged {origin.rule_id}",
                    severity=origin.severity)))
    noted = []
    for f in findings:
        note = notes.get((f.layer, f.path)) if f.source == "file" and f.category not in ("secret", "integrity") else None
        noted.append(dataclasses.replace(f, evidence=f"{f.evidence} · {note}" if f.evidence else note) if note else f)
    return noted + out


# -- 3. follow references ------------------------------------------------------------------------

INTERPRETERS = frozenset({"sh", "bash", "dash", "ash", "zsh", "env", "tini", "dumb-init", "su-exec", "gosu", "exec",
                          "python", "python3", "node", "perl", "ruby", "php", "java", "busybox"})
VERBS = {"preload": "loaded by", "cron": "run by", "systemd": "run by", "profile": "run by", "pth": "loaded by",
         "config": "run as the image's"}


def _config_targets(config) -> list[str]:
    """Absolute paths the entrypoint and cmd run (interpreters left out), at most four."""
    from explorer.detectors.references import _ABS

    words = list(config.entrypoint) + list(config.cmd)
    found: list[str] = []
    for word in words:
        for match in _ABS.finditer(word):
            path = match.group(1)
            if posixpath.basename(path).rstrip("0123456789.") not in INTERPRETERS and path not in found:
                found.append(path)
    return found[:4]


def _resolve(analysis: ImageAnalysis, path: str, copies: dict[str, list[FileEntry]], layer: int | None,
             final: bool) -> FileEntry | None:
    """The copy of `path` the reference meant: the final image's (symlinks followed) when the
    reference is still there, else the newest copy at or below the reference's layer."""
    if final:
        tree = analysis.final
        for _ in range(8):
            entry = tree.get(path) or tree.get(pk.canonical(path))
            if entry is None or entry.kind is not EntryKind.SYMLINK:
                return entry if entry is not None and entry.kind is EntryKind.FILE else None
            target = entry.linkname or ""
            path = posixpath.normpath(target if target.startswith("/") else
                                      posixpath.join(posixpath.dirname(entry.path), target))
        return None
    best = None
    for entry in copies.get(path, []) + copies.get(pk.canonical(path), []):
        if entry.kind is EntryKind.FILE and (layer is None or entry.layer <= layer):
            if best is None or entry.layer > best.layer:
                best = entry
    return best


def follow_references(analysis: ImageAnalysis, config, facts: list[tuple[FileEntry, Match]],
                      marks: dict[tuple[int, str], tuple], file_finding: FileFinding) -> list[Finding]:
    from explorer.detectors import references as rf

    hooks: dict[int, str] = {}
    refs: list[tuple[FileEntry | None, str, int | None, str]] = []
    for entry, match in facts:
        if match.rule_id == rf.FACT_ELF_HOOKS:
            hooks[id(entry)] = match.evidence
        elif match.rule_id == rf.FACT_REF:
            for line in match.evidence.splitlines():
                kind, number, target = (line.split("\t") + ["", ""])[:3]
                if target.startswith("/"):
                    refs.append((entry, kind, int(number) if number.isdigit() else None, target))
    if config is not None:
        refs += [(None, "config", None, target) for target in _config_targets(config)]
    if not refs:
        return []
    wanted = {t for _, _, _, t in refs} | {pk.canonical(t) for _, _, _, t in refs}
    copies: dict[str, list[FileEntry]] = {}
    for report in analysis.layers:
        for entry in report.entries:
            if entry.path in wanted:
                copies.setdefault(entry.path, []).append(entry)
    out: list[Finding] = []
    seen: set[tuple] = set()
    for source, kind, number, target in refs:
        final = source is None or analysis.in_final(source)
        layer = source.layer if source is not None else None
        entry = _resolve(analysis, target, copies, layer, final)
        if entry is None and final:  # deleted since: the copy there was when the reference was written
            entry = _resolve(analysis, target, copies, layer, False)
        if entry is None:
            continue
        if source is None:
            where = "entrypoint/cmd"
        else:
            where = f"{source.path} (layer {source.layer})" + (f", line {number}" if number else "")
        text = f"{VERBS.get(kind, 'run by')} {where}"
        mark = marks.get((entry.layer, entry.path))
        verified = mark is not None and mark[2] is True
        if kind == "preload":
            defined = hooks.get(id(entry))
            if defined:
                match = PRELOADED.match(f"{text}; defines {defined.replace(' ', ', ')} (overrides libc/PAM)",
                                        severity="critical")
            elif verified:
                match = PRELOADED.match(text, severity="low", reason="verified package file")
            else:
                match = PRELOADED.match(text)
        elif kind == "config":
            match = PERSISTED.match(text, severity="info")
        elif verified:
            continue
        else:
            match = PERSISTED.match(text)
        key = (match.rule_id, entry.layer, entry.path)
        if key not in seen:
            seen.add(key)
            out.append(file_finding(entry, match))
    return out


# -- wiring ---------------------------------------------------------------------------------------

def run(analysis: ImageAnalysis, facts: list[tuple[FileEntry, Match]], findings: list[Finding],
        file_finding: FileFinding, disabled: frozenset[str] = frozenset(), config=None
        ) -> tuple[list[Finding], list[str]]:
    """`findings` plus what the image-wide checks add, with package marks on file findings; and the
    checks that failed (one failing check is an error line, as a failing detector is: the scan goes on)."""
    errors: list[str] = []
    marks: dict[tuple[int, str], tuple] = {}
    found: list[Finding] = []
    try:
        checked, marks = verify_packages(analysis, facts, file_finding)
        found += checked
    except Exception as exc:  # noqa: BLE001
        errors.append(f"package verification failed: {type(exc).__name__}: {exc}")
    try:
        found += follow_references(analysis, config, facts, marks, file_finding)
    except Exception as exc:  # noqa: BLE001
        errors.append(f"following references failed: {type(exc).__name__}: {exc}")
    findings = findings + [f for f in found if f.rule_id not in disabled]
    if marks:
        findings = [dataclasses.replace(f, package=marks[(f.layer, f.path)])
                    if f.source == "file" and f.package is None and (f.layer, f.path) in marks else f
                    for f in findings]
    if SAME_CONTENT.id not in disabled:
        try:
            findings = same_content(analysis, findings, file_finding)
        except Exception as exc:  # noqa: BLE001
            errors.append(f"same-content check failed: {type(exc).__name__}: {exc}")
    return findings, errors


def rule_catalog() -> list[RuleInfo]:
    return list(RULES)
