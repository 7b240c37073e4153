"""`explorer extract` on members that used to raise a traceback, and on files that cannot be written."""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path

from explorer import export as extract_cmd

from hostile_images import TRACEBACK, docker_archive, member, run_inprocess, tar_bytes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layerfs"))
import rawtar as R  # noqa: E402

OK = tar_bytes([member("etc/ok", data=b"ok")])


def test_a_nul_in_a_pax_linkpath_is_a_damaged_layer_not_a_traceback(tmp_path):
    # Go's reader refuses the record (Docker's load fails): the layer is damaged, the others are written
    bad = R.archive(R.pax(("linkpath", b"/etc/\x00shadow")), R.member("evil", type=b"2", linkname="x"),
                    R.member("after", b"after"))
    image = docker_archive(tmp_path / "image.tar", [OK, bad])
    rc, _out, err = run_inprocess("extract", image, "/", "-o", str(tmp_path / "dest"))
    assert rc == 2 and TRACEBACK not in err
    assert "layer 1: cannot be read to its end (tar header at byte 0: malformed pax record)" in err
    assert (tmp_path / "dest" / "etc" / "ok").read_bytes() == b"ok"
    assert not os.path.lexists(tmp_path / "dest" / "evil")


def test_times_docker_cannot_keep_are_written_as_zero(tmp_path):
    huge = R.archive(R.member("far", b"far", mtime=R.base256(2 ** 62, 12)), R.member("old", b"old", mtime=R.base256(-5, 12)),
                     R.member("d", type=b"5", mtime=R.base256(2 ** 62, 12)))
    image = docker_archive(tmp_path / "image.tar", [OK, huge])
    dest = tmp_path / "dest"
    rc, _out, err = run_inprocess("extract", image, "/", "-o", str(dest))
    assert rc == 0 and TRACEBACK not in err, err
    assert [(dest / n).stat().st_mtime for n in ("far", "old", "d")] == [0, 0, 0]
    assert (dest / "far").read_bytes() == b"far"
    # a pax mtime Go cannot parse (2**80 overflows int64) makes the layer damaged (Docker's load fails)
    image = docker_archive(tmp_path / "bad.tar", [OK, R.archive(R.pax(("mtime", str(2 ** 80))), R.member("t", b"t"))])
    rc, _out, err = run_inprocess("extract", image, "/", "-o", str(tmp_path / "dest2"))
    assert rc == 2 and TRACEBACK not in err and "pax mtime is not a number" in err


def test_an_entry_that_cannot_be_written_is_reported_and_exits_1(tmp_path, monkeypatch):
    image = docker_archive(tmp_path / "image.tar", [OK, tar_bytes([member("a", data=b"a"), member("b", data=b"b")])])
    real = extract_cmd.Writer.create_file

    def failing(self, rel):
        if rel[-1] == "b":
            raise extract_cmd.CannotCreate(OSError(errno.EIO, "Input/output error"))
        return real(self, rel)

    monkeypatch.setattr(extract_cmd.Writer, "create_file", failing)
    rc, _out, err = run_inprocess("extract", image, "/", "-o", str(tmp_path / "dest"))
    assert rc == 1 and TRACEBACK not in err
    assert "skipped b: cannot be created (Input/output error)" in err
    assert err.splitlines()[-1].endswith("2 files, 2 folders, 0 symlinks written; 1 skipped (1 could not be written)")
    assert (tmp_path / "dest" / "a").read_bytes() == b"a"
