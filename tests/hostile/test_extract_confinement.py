"""`explorer extract` on hostile layers: nothing may be written outside DEST, whatever the tar says."""

from __future__ import annotations

import os
import stat
import tarfile
import uuid

import pytest

from explorer.export import Tally, Writer
from explorer.core.errors import ExplorerError

from hostile_images import docker_archive, member, run_inprocess, snapshot, tar_bytes

REG, DIR, SYM, LNK = tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """tmp/outside/victim (must never change), tmp/work/a/b (the cwd), tmp/dest (the output)."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "victim").write_text("original")
    cwd = tmp_path / "work" / "a" / "b"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    return tmp_path


def _hostile_layer(outside: str, tag: str) -> bytes:
    return tar_bytes([
        member("../../etc/x", data=b"climb"),
        member(f"/abs-{tag}/path", data=b"abs"),
        member("link", SYM, linkname=outside),
        member("link/victim", data=b"pwned"),
        member("etclink", SYM, linkname="/etc"),
        member(f"etclink/explorer-{tag}", data=b"pwned"),
        member("a_before", SYM, linkname="zz_dot/../outside/victim"),
        member("c1", SYM, linkname="c2"),
        member("c2", SYM, linkname="c3"),
        member("c3", SYM, linkname="../../../.."),
        member("d", DIR, mode=0o755),
        member("d/e", SYM, linkname="../c1/x"),
        member("d/ok", SYM, linkname="../etc/x"),
        member("dotlink", SYM, linkname="."),
        member("rel_out", SYM, linkname="../outside/victim"),
        member("z", SYM, linkname="dotlink/../outside"),
        member("zz_dot", SYM, linkname="."),
        member("hl", LNK, linkname="../../etc/x"),
        member("hl_missing", LNK, linkname="/nonexistent/file"),
        member("dev/null", tarfile.CHRTYPE, mode=0o666),
        member("dev/sda", tarfile.BLKTYPE, mode=0o660),
        member("pipe", tarfile.FIFOTYPE),
        member("tmp", DIR, mode=0o1777),
        member("bin/sh", data=b"#!", mode=0o6755),
    ])


def test_hostile_layer_writes_only_inside_dest(sandbox):
    tag = uuid.uuid4().hex[:12]
    outside = str(sandbox / "outside")
    image = docker_archive(sandbox / "image.tar", [_hostile_layer(outside, tag)])
    dest = sandbox / "dest"
    before = snapshot(sandbox, exclude=dest)

    rc, out, err = run_inprocess("extract", image, "/", "-o", str(dest))

    assert rc == 2, err  # Docker refuses its hard link to nothing: the layer is damaged, the rest written
    assert "corrupt: hard link '/hl_missing' links to '/nonexistent/file', nothing" in err
    assert out == ""
    assert snapshot(sandbox, exclude=dest) == before
    assert not os.path.lexists(f"/abs-{tag}") and not os.path.lexists(f"/etc/explorer-{tag}")
    # climbing and absolute names land inside, at their normalised place
    assert (dest / "etc" / "x").read_bytes() == b"climb"
    assert (dest / f"abs-{tag}" / "path").read_bytes() == b"abs"
    # a file below a symlink replaced the symlink with a real folder
    assert not (dest / "link").is_symlink() and (dest / "link" / "victim").read_bytes() == b"pwned"
    assert not (dest / "etclink").is_symlink() and (dest / "etclink" / f"explorer-{tag}").read_bytes() == b"pwned"
    # a hard link to a climbing name is a copy of that member's content
    assert (dest / "hl").read_bytes() == b"climb" and not (dest / "hl").is_symlink()
    assert (dest / "hl").stat().st_ino != (dest / "etc" / "x").stat().st_ino
    # every symlink written resolves inside DEST; the ones that lead out were not written
    links = {}
    for dirpath, dirnames, filenames in os.walk(dest):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            assert stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode), full
            assert stat.S_IMODE(st.st_mode) & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX) == 0, full
            if stat.S_ISLNK(st.st_mode):
                links[os.path.relpath(full, dest)] = os.readlink(full)
                resolved = os.path.realpath(full)
                assert resolved == str(dest) or resolved.startswith(str(dest) + os.sep), full
    assert links == {"c1": "c2", "c2": "c3", "d/e": "../c1/x", "d/ok": "../etc/x", "dotlink": ".", "zz_dot": "."}
    assert not os.path.lexists(dest / "dev" / "null") and not os.path.lexists(dest / "pipe")
    assert not os.path.lexists(dest / "hl_missing")
    skipped = [line for line in err.splitlines() if line.startswith("explorer: warning: skipped ")]
    assert sorted(line.split()[3].rstrip(":") for line in skipped) == [
        "a_before", "c3", "dev/null", "dev/sda", "hl_missing", "pipe", "rel_out", "z"]
    assert err.splitlines()[-1].endswith("; 8 skipped")


def test_existing_symlinked_folder_in_dest_is_refused(sandbox):
    image = docker_archive(sandbox / "image.tar", [tar_bytes([member("etc", DIR), member("etc/victim", data=b"x")])])
    dest = sandbox / "dest"
    dest.mkdir()
    os.symlink(sandbox / "outside", dest / "etc")
    before = snapshot(sandbox)

    rc, out, err = run_inprocess("extract", image, "/", "-o", str(dest))

    assert rc == 2
    assert err.splitlines() == [f"explorer: {dest / 'etc'}: exists and is not a folder"]
    assert snapshot(sandbox) == before


def test_existing_symlink_at_target_file_is_not_followed(sandbox):
    image = docker_archive(sandbox / "image.tar", [tar_bytes([member("victim", data=b"pwned")])])
    dest = sandbox / "dest"
    dest.mkdir()
    os.symlink(sandbox / "outside" / "victim", dest / "victim")
    os.symlink(sandbox / "outside" / "nothing-here", sandbox / "dangling")
    before = snapshot(sandbox)

    for target in (dest, sandbox / "dangling"):
        rc, _out, err = run_inprocess("extract", image, "/victim", "-o", str(target))
        assert rc == 2
        assert err.splitlines()[-1].endswith("already exists; refusing to overwrite")
    assert snapshot(sandbox) == before


def test_symlink_through_existing_symlink_in_dest_is_skipped(sandbox):
    image = docker_archive(sandbox / "image.tar", [tar_bytes([member("via", SYM, linkname="pre/victim")])])
    dest = sandbox / "dest"
    dest.mkdir()
    os.symlink(sandbox / "outside", dest / "pre")
    rc, _out, err = run_inprocess("extract", image, "/", "-o", str(dest))
    assert rc == 0
    assert not os.path.lexists(dest / "via")
    assert "skipped via: symlink to pre/victim leads outside" in err


def test_single_symlink_target_must_stay_in_dest_folder(sandbox):
    image = docker_archive(sandbox / "image.tar", [tar_bytes([
        member("etc/localtime", SYM, linkname="/usr/share/zoneinfo/UTC"),
        member("etc/near", SYM, linkname="sibling")])])
    dest = sandbox / "dest"
    dest.mkdir()
    rc, _out, err = run_inprocess("extract", image, "/etc/localtime", "-o", str(dest))
    assert rc == 0 and os.listdir(dest) == []
    assert "0 symlinks written; 1 skipped" in err
    rc, _out, err = run_inprocess("extract", image, "/etc/near", "-o", str(dest))
    assert rc == 0 and os.readlink(dest / "near") == "sibling"


def test_writer_never_follows_a_symlink_planted_after_the_check(sandbox):
    root = sandbox / "dest"
    root.mkdir()
    os.symlink(sandbox / "outside", root / "sym")
    before = snapshot(sandbox)
    writer = Writer(str(root), Tally())
    try:
        with pytest.raises(ExplorerError, match="not a folder we can write into"):
            writer.create_file(("sym", "victim2"))
        with pytest.raises(ExplorerError, match="exists and is not a folder"):
            writer.mkdir(("sym",))
        with pytest.raises(ExplorerError, match="refusing to overwrite"):
            writer.create_file(("sym",))
        assert not writer.resolves_inside(("x",), "sym/victim")
        assert writer.resolves_inside(("x",), "nothing/yet")
        assert not writer.resolves_inside(("x",), "nothing/../..")
    finally:
        writer.close()
    assert snapshot(sandbox) == before


def test_hostile_names_are_written_verbatim_and_printed_escaped(sandbox):
    names = ["esc\x1b[31mred", "new\nline", "[bold red]x", "rtl\u202etxt.exe"]
    image = docker_archive(sandbox / "image.tar", [tar_bytes(
        [member(f"d/{n}", data=n.encode()) for n in names] + [member("d/\x1b]0;title\x07", tarfile.FIFOTYPE)])])
    dest = sandbox / "dest"
    rc, _out, err = run_inprocess("extract", image, "/d", "-o", str(dest))
    assert rc == 0
    assert sorted(os.listdir(dest)) == sorted(names)
    for n in names:
        assert (dest / n).read_bytes() == n.encode()
    assert "\x1b" not in err and "\x07" not in err and "\u202e" not in err
    assert len(err.splitlines()) == 2  # one skipped fifo, one summary
    assert "skipped \\x1b]0;title\\x07: fifo nodes are never created" in err


def test_names_too_long_for_the_file_system_skip_only_themselves(sandbox):
    """A component over NAME_MAX is skipped with its subtree; a path over PATH_MAX is still written."""
    deep = "/".join(["n" * 250] * 18)  # ~4.5 KB: longer than PATH_MAX, each component fine
    image = docker_archive(sandbox / "image.tar", [tar_bytes([
        member("a", data=b"a"), member("f" * 300, data=b"long"), member("g" * 300 + "/inner", data=b"x"),
        member(deep + "/leaf", data=b"deep"), member("s" * 300, SYM, linkname="a"), member("z", data=b"z")])])
    dest = sandbox / "dest"
    before = snapshot(sandbox, exclude=dest)
    rc, _out, err = run_inprocess("extract", image, "/", "-o", str(dest))
    assert rc == 0, err
    assert snapshot(sandbox, exclude=dest) == before
    assert (dest / "a").read_bytes() == b"a" and (dest / "z").read_bytes() == b"z"
    skipped = [line for line in err.splitlines() if " skipped " in line]
    assert len(skipped) == 4 and all(len(line) < 400 for line in skipped)
    assert sum("cannot be created (File name too long)" in line for line in skipped) == 3
    assert sum("its folder could not be created" in line for line in skipped) == 1
    assert err.splitlines()[-1].endswith("3 files, 19 folders, 0 symlinks written; 4 skipped")


def _pax_named(name: str, kind=REG, data: bytes = b""):
    info, data = member("placeholder", kind, data)
    info.pax_headers = {"path": name}
    return info, data


def test_names_with_a_nul_byte_are_skipped_not_a_traceback(sandbox):
    image = docker_archive(sandbox / "image.tar", [tar_bytes([
        _pax_named("nul\x00dir/file", data=b"x"), _pax_named("a\x00b", data=b"y"), member("z", data=b"z")])])
    dest = sandbox / "dest"
    rc, _out, err = run_inprocess("extract", image, "/", "-o", str(dest))
    assert rc == 2, err  # Docker refuses a NUL in a pax path: the layer is damaged, the rest written
    assert "corrupt: tar header at byte 0: a NUL in a pax path" in err
    assert os.listdir(dest) == ["z"]
    assert "skipped a\\x00b: its name holds a NUL byte" in err
    assert err.splitlines()[-1].endswith("1 files, 1 folders, 0 symlinks written; 3 skipped")


def test_hard_link_to_a_hard_link_is_a_copy_of_the_file(sandbox):
    image = docker_archive(sandbox / "image.tar", [tar_bytes([
        member("a", data=b"content"), member("b", LNK, linkname="a"), member("c", LNK, linkname="b"),
        member("loop1", LNK, linkname="loop2"), member("loop2", LNK, linkname="loop1")])])
    dest = sandbox / "dest"
    rc, _out, err = run_inprocess("extract", image, "/", "-o", str(dest))
    assert rc == 2, err  # Docker refuses a hard link to a later member: the layer is damaged, the rest written
    assert "corrupt: hard link '/loop1' links to '/loop2', a later member" in err
    assert sorted(os.listdir(dest)) == ["a", "b", "c"]
    assert all((dest / n).read_bytes() == b"content" for n in "abc")
    assert err.splitlines()[-1].endswith("3 files, 1 folders, 0 symlinks written; 2 skipped")
