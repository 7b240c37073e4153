"""RPM package verification (what `rpm -Va` does, layer by layer) from an sqlite rpmdb, read in memory.
Real parts: a real sqlite database in rpm's schema (`Packages(hnum, blob)`) holding header blobs in rpm's
header format, written by the helper below (no `rpm` tool on the test machines), the full engine."""

from __future__ import annotations

import hashlib
import sqlite3
import struct

import pytest

from explorer.detectors import rpmdb
from explorer.demo.imagewriter import Entry, Layer

ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + b"\x00" * 40
DB = "/var/lib/rpm/rpmdb.sqlite"


def header_blob(name: str, version: str, release: str, files: dict[str, tuple[bytes, int, int]],
                algo: int = 8) -> bytes:
    """An rpm header (index + data store) with the tags rpm writes for files: {path: (content, mode, flags)}."""
    dirs = sorted({p.rsplit("/", 1)[0] + "/" for p in files})
    digest = {8: hashlib.sha256, 1: hashlib.md5}[algo]
    tags = [(rpmdb.NAME, 6, [name]), (rpmdb.VERSION, 6, [version]), (rpmdb.RELEASE, 6, [release]),
            (rpmdb.FILEMODES, 3, [m for _, m, _ in files.values()]),
            (rpmdb.FILEDIGESTS, 8, [digest(c).hexdigest() if m & 0o170000 == 0o100000 else ""
                                    for c, m, _ in files.values()]),
            (rpmdb.FILEFLAGS, 4, [f for _, _, f in files.values()]),
            (rpmdb.DIRINDEXES, 4, [dirs.index(p.rsplit("/", 1)[0] + "/") for p in files]),
            (rpmdb.BASENAMES, 8, [p.rsplit("/", 1)[1] for p in files]), (rpmdb.DIRNAMES, 8, dirs),
            (rpmdb.FILEDIGESTALGO, 4, [algo])]
    index, data = b"", b""
    for tag, kind, values in tags:
        if kind in (4, 3):
            width = 4 if kind == 4 else 2
            data += b"\0" * (-len(data) % width)
            body = struct.pack(f">{len(values)}{'i' if kind == 4 else 'H'}", *values)
        else:
            body = b"".join(v.encode() + b"\0" for v in values)
        index += struct.pack(">iIiI", tag, 6 if kind == 6 else kind, len(data), len(values))
        data += body
    return struct.pack(">II", len(tags), len(data)) + index + data


def rpmdb_bytes(*blobs: bytes) -> bytes:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
    connection.executemany("INSERT INTO Packages (blob) VALUES (?)", [(b,) for b in blobs] + [(b"\0\0garbage",)])
    connection.commit()
    data = connection.serialize()
    connection.close()
    return data


def files_layer(files: dict[str, bytes], mode: int = 0o755, *extra: Entry) -> Layer:
    dirs = sorted({p.rsplit("/", i)[0] for p in files for i in range(1, p.count("/")) if p.rsplit("/", i)[0]})
    return Layer([Entry.dir(d) for d in dirs] + [Entry.file(p, c, mode) for p, c in files.items()] + list(extra))


def test_header_parsing_reads_name_version_and_files():
    blob = header_blob("procps-ng", "3.3.17", "14.el9", {"/usr/bin/ps": (ELF + b"ps", 0o100755, 0),
                                                          "/etc/sysctl.conf": (b"x\n", 0o100644, 1),
                                                          "/usr/lib/.build-id": (b"", 0o40755, 0)})
    lines = rpmdb.package_lines(rpmdb.header(blob))
    assert lines[0] == "P\tprocps-ng\t3.3.17-14.el9"
    assert lines[1] == f"F\tprocps-ng\t/usr/bin/ps\t{hashlib.sha256(ELF + b'ps').hexdigest()}\tsha256\t0"
    assert lines[2].endswith("\tsha256\t1") and len(lines) == 3  # the folder has no digest
    with pytest.raises(rpmdb.BadHeader):
        rpmdb.header(blob[:40])
    with pytest.raises(ValueError):
        rpmdb.rpmdb_sqlite(b"not a database" * 100)


def test_replaced_binary_changed_config_and_unowned_program(scan_layers):
    ps, tool, conf = ELF + b"procps 3.3.17", ELF + b"tool 1", b"kernel.pid_max = 4194304\n"
    db = rpmdb_bytes(header_blob("procps-ng", "3.3.17", "14.el9", {"/usr/bin/ps": (ps, 0o100755, 0),
                                                                   "/etc/sysctl.conf": (conf, 0o100644, 1)}),
                     header_blob("tool", "1.0", "1", {"/usr/bin/tool": (tool, 0o100755, 0)}))
    base = Layer(files_layer({"/usr/bin/ps": ps, "/usr/bin/tool": tool}).entries
                 + files_layer({"/etc/sysctl.conf": conf, DB: db}, 0o644).entries)
    evil = files_layer({"/usr/bin/ps": ELF + b"procps hides pids", "/usr/sbin/kworkerd": ELF + b"miner"})
    evil.entries += [Entry.file("/etc/sysctl.conf", b"kernel.pid_max = 1\n", 0o644)]
    result = scan_layers([base, evil])
    modified = {f.path: f for f in result.findings if f.rule_id == "integrity.package.file-modified"}
    assert set(modified) == {"/usr/bin/ps"}
    assert modified["/usr/bin/ps"].severity == "critical" and modified["/usr/bin/ps"].layer == 1
    assert modified["/usr/bin/ps"].package == ("procps-ng", "3.3.17-14.el9", False)
    assert "sha256" in modified["/usr/bin/ps"].evidence
    changed = [f for f in result.findings if f.rule_id == "integrity.package.conffile-changed"]
    assert [(f.path, f.severity) for f in changed] == [("/etc/sysctl.conf", "info")]
    unowned = [f.path for f in result.findings if f.rule_id == "integrity.package.unowned-binary"]
    assert unowned == ["/usr/sbin/kworkerd"]


def test_an_rpmdb_edited_to_hide_a_replaced_file(scan_layers):
    good, evil = ELF + b"sudo 1.9", ELF + b"sudo 1.9 backdoored"
    base = Layer(files_layer({"/usr/bin/sudo": good}).entries + [Entry.dir("/var"), Entry.dir("/var/lib"),
                 Entry.dir("/var/lib/rpm"), Entry.file(DB, rpmdb_bytes(header_blob("sudo", "1.9.5p2", "9.el9",
                                                       {"/usr/bin/sudo": (good, 0o104111, 0)})))])
    hide = Layer([Entry.file("/usr/bin/sudo", evil, 0o4111), Entry.file(DB, rpmdb_bytes(
        header_blob("sudo", "1.9.5p2", "9.el9", {"/usr/bin/sudo": (evil, 0o104111, 0)})))])
    result = scan_layers([base, hide])
    edited = [f for f in result.findings if f.rule_id == "integrity.package.database-edited"]
    assert [(f.path, f.layer) for f in edited] == [(DB, 1)] and "rpm package sudo 1.9.5p2-9.el9" in edited[0].evidence
    assert not [f for f in result.findings if f.rule_id == "integrity.package.file-modified"]
