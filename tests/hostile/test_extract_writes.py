"""`explorer extract` on well-formed images: what it writes, from which layer, with which metadata."""

from __future__ import annotations

import hashlib
import os
import random
import stat
import tracemalloc

import pytest

from explorer.cli.commands import extract as extract_cmd
from explorer.demo.imagewriter import MTIME, Entry, ImageSpec, Layer, write_image
from explorer.layerfs import analyze
from explorer.sources import open_image
from explorer.sources.base import ImageSource

from hostile_images import run_inprocess, run_subprocess


@pytest.fixture
def image(tmp_path):
    layers = [
        Layer([Entry.dir("/etc"), Entry.file("/etc/motd", b"one\n"), Entry.dir("/srv", mode=0o1777),
               Entry.file("/srv/a.txt", b"a" * 3000), Entry.dir("/srv/sub"), Entry.file("/srv/sub/b.bin", b"\0\1\2"),
               Entry.file("/usr/bin/pinger", b"\x7fELF", mode=0o6755), Entry.hardlink("/usr/bin/ping2", "/usr/bin/pinger"),
               Entry.symlink("/srv/latest", "sub/b.bin"), Entry.symlink("/srv/sub/up", "../a.txt")],
              created_by="ADD rootfs /"),
        Layer([Entry.file("/etc/motd", b"two\n", mode=0o600), Entry.whiteout("/srv/sub/b.bin")],
              created_by="RUN edit", compression="zstd"),
        Layer([Entry.file("/srv/c.txt", b"c\n")], created_by="COPY c.txt /srv/", compression="none"),
    ]
    path = tmp_path / "image.tar"
    write_image(ImageSpec(layers=layers), path)
    return str(path)


def test_single_file_final_and_older_layer(image, tmp_path):
    rc, _out, err = run_inprocess("extract", image, "/etc/motd", "-o", str(tmp_path / "final"))
    assert rc == 0, err
    assert (tmp_path / "final").read_bytes() == b"two\n"
    assert stat.S_IMODE((tmp_path / "final").stat().st_mode) == 0o600
    assert "1 files" in err and "0 skipped" in err

    rc, _out, err = run_inprocess("extract", image, "etc/motd", "--layer", "0", "-o", str(tmp_path / "first"))
    assert rc == 0, err
    assert (tmp_path / "first").read_bytes() == b"one\n"
    assert (tmp_path / "first").stat().st_mtime == MTIME


def test_file_into_existing_folder_uses_basename(image, tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    rc, _out, err = run_inprocess("extract", image, "/srv/c.txt", "-o", str(dest))
    assert rc == 0, err
    assert os.listdir(dest) == ["c.txt"]
    assert (dest / "c.txt").read_bytes() == b"c\n"


def test_deleted_file_exists_only_in_its_layer(image, tmp_path):
    rc, _out, err = run_inprocess("extract", image, "/srv/sub/b.bin", "-o", str(tmp_path / "gone"))
    assert rc == 2
    assert err.strip().splitlines()[-1].startswith("explorer: /srv/sub/b.bin: no such file")
    assert not (tmp_path / "gone").exists()
    rc, _out, err = run_inprocess("extract", image, "/srv/sub/b.bin", "--layer", "0", "-o", str(tmp_path / "b"))
    assert rc == 0, err
    assert (tmp_path / "b").read_bytes() == b"\0\1\2"


def test_subtree_metadata_links_and_special_bits(image, tmp_path):
    dest = tmp_path / "root"
    rc, _out, err = run_inprocess("extract", image, "/", "--layer", "0", "-o", str(dest))
    assert rc == 0, err
    assert (dest / "srv" / "a.txt").read_bytes() == b"a" * 3000
    assert (dest / "srv" / "sub" / "b.bin").read_bytes() == b"\0\1\2"
    # setuid/setgid/sticky are stripped, the rest of the permission bits kept
    assert stat.S_IMODE((dest / "usr" / "bin" / "pinger").stat().st_mode) == 0o755
    assert stat.S_IMODE((dest / "srv").stat().st_mode) == 0o777
    assert (dest / "etc").stat().st_mtime == MTIME
    # a hard link is a separate copy of the content
    ping, ping2 = dest / "usr" / "bin" / "pinger", dest / "usr" / "bin" / "ping2"
    assert ping2.read_bytes() == b"\x7fELF"
    assert ping.stat().st_ino != ping2.stat().st_ino
    assert stat.S_IMODE(ping2.stat().st_mode) & (stat.S_ISUID | stat.S_ISGID) == 0
    # symlinks that stay inside are recreated as they are stored
    assert os.readlink(dest / "srv" / "latest") == "sub/b.bin"
    assert os.readlink(dest / "srv" / "sub" / "up") == "../a.txt"
    assert "2 symlinks" in err and "0 skipped" in err


def test_subtree_into_existing_folder_and_final_view(image, tmp_path):
    dest = tmp_path / "srv"
    dest.mkdir()
    (dest / "unrelated").write_text("kept")
    rc, _out, err = run_inprocess("extract", image, "/srv", "-o", str(dest))
    assert rc == 0, err
    names = sorted(os.listdir(dest))
    assert names == ["a.txt", "c.txt", "latest", "sub", "unrelated"]
    assert sorted(os.listdir(dest / "sub")) == ["up"]  # b.bin was deleted by layer 1
    assert (dest / "unrelated").read_text() == "kept"


def test_refuses_to_overwrite(image, tmp_path):
    dest = tmp_path / "motd"
    dest.write_text("mine")
    rc, out, err = run_inprocess("extract", image, "/etc/motd", "-o", str(dest))
    assert rc == 2
    assert out == ""
    assert err.splitlines() == [f"explorer: {dest}: already exists; refusing to overwrite"]
    assert dest.read_text() == "mine"
    # one colliding file in a subtree: nothing at all is written
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "up").write_text("mine")
    rc, _out, err = run_inprocess("extract", image, "/srv", "-o", str(tree))
    assert rc == 2
    assert "refusing to overwrite" in err.splitlines()[-1]
    assert sorted(os.listdir(tree)) == ["sub"] and os.listdir(tree / "sub") == ["up"]


@pytest.mark.parametrize("argv, message", [
    (["/nope"], "/nope: no such file or folder in the image as of layer 2"),
    (["/etc/motd/x"], "/etc/motd/x: /etc/motd is not a folder"),
    (["/etc/motd", "--layer", "3"], "--layer 3: the image has layers 0..2"),
    (["/etc/motd", "--layer", "-1"], "--layer -1: the image has layers 0..2"),
])
def test_bad_path_or_layer_is_one_line(image, tmp_path, argv, message):
    rc, out, err = run_inprocess("extract", image, *argv, "-o", str(tmp_path / "x"))
    assert rc == 2
    assert out == ""
    assert len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "x").exists()


def test_missing_output_parent_is_one_line(image, tmp_path):
    rc, out, err = run_inprocess("extract", image, "/etc/motd", "-o", str(tmp_path / "no" / "such" / "f"))
    assert rc == 2 and err.splitlines() == [f"explorer: {tmp_path / 'no' / 'such'}: no such folder"]


def test_symlinked_folders_in_path_are_followed_inside_the_image(tmp_path):
    spec = ImageSpec(layers=[Layer([Entry.file("/usr/bin/tool", b"tool"), Entry.symlink("/bin", "usr/bin"),
                                    Entry.symlink("/usr/lib/loop", "/usr/lib/loop/x")])])
    image = write_image(spec, tmp_path / "img.tar")
    rc, _out, err = run_inprocess("extract", image, "/bin/tool", "-o", str(tmp_path / "t"))
    assert rc == 0, err
    assert (tmp_path / "t").read_bytes() == b"tool"
    rc, _out, err = run_inprocess("extract", image, "/usr/lib/loop/y", "-o", str(tmp_path / "l"))
    assert rc == 2 and "too many levels of symbolic links" in err and len(err.splitlines()) == 1


def test_each_layer_blob_is_read_once(image, tmp_path, monkeypatch):
    opened = []
    original = ImageSource.open_layer

    def counting(self, ref):
        opened.append(ref.index)
        return original(self, ref)

    monkeypatch.setattr(ImageSource, "open_layer", counting)
    rc, _out, err = run_inprocess("extract", image, "/", "-o", str(tmp_path / "all"))
    assert rc == 0, err
    # the analysis reads 0, 1, 2 once; the extraction reads each layer holding wanted content once
    assert sorted(opened) == [0, 0, 1, 1, 2, 2]


def test_large_file_is_streamed_not_held(tmp_path):
    data = hashlib.sha256(b"seed").digest() * (40 * 1024 * 1024 // 32)
    image = write_image(ImageSpec(layers=[Layer([Entry.file("/big", data)], compression="gzip")]),
                        tmp_path / "big.tar")
    del data
    dest = tmp_path / "big"
    with open_image(image) as source:
        analysis = analyze(source)
        plan = extract_cmd.make_plan(analysis.final, analysis.final.get("/big"), str(dest))
        tracemalloc.start()
        try:
            extract_cmd.extract(analysis, plan, extract_cmd.Tally())
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert dest.stat().st_size == 40 * 1024 * 1024
    assert peak < 16 * 1024 * 1024


def test_subprocess_extract(image, tmp_path):
    rc, out, err = run_subprocess("extract", image, "/srv/c.txt", "--output", str(tmp_path / "c"))
    assert rc == 0, err
    assert out == ""
    assert (tmp_path / "c").read_bytes() == b"c\n"
    assert err.splitlines()[-1].startswith("explorer: extracted /srv/c.txt (layer 2)")


def test_hard_link_to_a_lower_layer_file_is_a_copy(tmp_path):
    spec = ImageSpec(layers=[Layer([Entry.file("/usr/bin/python3.11", b"\x7fELF py")]),
                             Layer([Entry.hardlink("/usr/bin/python3", "/usr/bin/python3.11")])])
    image = write_image(spec, tmp_path / "img.tar")
    rc, _out, err = run_inprocess("extract", image, "/usr/bin", "-o", str(tmp_path / "bin"))
    assert rc == 0, err
    assert (tmp_path / "bin" / "python3").read_bytes() == b"\x7fELF py"
    assert "2 files" in err and "0 skipped" in err


def test_blob_cut_between_the_two_passes_leaves_no_partial_file(tmp_path):
    big = random.Random(7).randbytes(300_000)
    spec = ImageSpec(layers=[Layer([Entry.file("/a", b"small"), Entry.file("/b", big)], compression="none")])
    image = write_image(spec, tmp_path / "img.tar")
    dest = tmp_path / "out"
    with open_image(image) as source:
        analysis = analyze(source)
        plan = extract_cmd.make_plan(analysis.final, analysis.final.get("/"), str(dest))
        data = open(image, "rb").read()
        with open(image, "r+b") as fh:
            fh.truncate(data.index(big[:64]) + 100_000)
        tally = extract_cmd.Tally()
        extract_cmd.extract(analysis, plan, tally)
    assert sorted(os.listdir(dest)) == ["a"]
    assert (dest / "a").read_bytes() == b"small"
    assert tally.files == 1 and tally.skipped == 1
    assert tally.warnings[0].startswith("skipped b: layer 0 cannot be read")
