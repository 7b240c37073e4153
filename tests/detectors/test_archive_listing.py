"""An archive's members as the UI's archive view lists them (explorer.detectors.archivelisting): names as
stored (escaped) and as the scan's findings name them, sizes, kinds, member archives opened in turn, a
member's bytes, and the scan's caps said where they stop a listing or a read. Real zips and tars written by
the stdlib, read in memory."""

from __future__ import annotations

import gzip
import os

import pytest

from explorer.detectors import archives
from explorer.detectors.archivelisting import (ArchiveError, list_members, open_nested, open_top, read_member,
                                               split_archive_path, walk_to)
from tests.detectors.test_archives import PROPERTIES, tar_of, zip_of

EVIL = "evil\x1b[31m[bold]red\x07.txt"


def jar() -> bytes:
    inner = zip_of({"deep/.env": b"TOKEN=1\n"})
    return zip_of({"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\n", "config/application.properties": PROPERTIES,
                   "lib/inner.zip": inner, "../../etc/x": b"slip\n", EVIL: b"x"})


def test_a_jar_lists_its_members_with_sizes_kinds_and_safe_names():
    listing = list_members(jar())
    assert listing.kind == "zip" and not listing.problems
    by_name = {m.name: m for m in listing.members}
    props = by_name["config/application.properties"]
    assert props.kind == "file" and props.size == len(PROPERTIES) and 0 < props.stored <= len(PROPERTIES) + 8
    assert props.mtime == "2024-01-01 00:00" and props.shown == "/config/application.properties" and not props.unsafe
    assert by_name["lib/inner.zip"].archive and not props.archive
    slip = by_name["../../etc/x"]
    assert slip.unsafe and slip.shown == "/etc/x"  # as the scan's finding names it
    [evil] = [m for m in listing.members if m.name.startswith("evil")]
    assert "\x1b" not in evil.name + evil.shown and "\x07" not in evil.name and "\\x1b[31m[bold]red\\x07" in evil.name


def test_a_tar_gz_lists_links_and_folders_and_reads_a_member():
    data = tar_of({"app/.env": b"A=1\n", "/abs/x": b"z"})
    listing = list_members(data)
    assert listing.kind == "tar (gzip)" and [m.shown for m in listing.members] == ["/app/.env", "/abs/x"]
    assert listing.members[0].stored is None and listing.members[1].unsafe
    assert read_member(data, listing.members[0], 100) == b"A=1\n"
    assert read_member(data, listing.members[0], 2) == b"A="


def test_walk_to_follows_a_findings_path_through_a_member_archive():
    data = tar_of({"app/billing.jar": jar()})
    top = open_top(data, len(data))
    levels, member, why = walk_to(top, "!/app/billing.jar!/lib/inner.zip!/deep/.env")
    assert not why and [lv.path for lv in levels] == ["", "!/app/billing.jar", "!/app/billing.jar!/lib/inner.zip"]
    assert [lv.depth for lv in levels] == [1, 2, 3] and member.name == "deep/.env"
    assert read_member(levels[-1].data, member, 1000) == b"TOKEN=1\n"
    levels, member, why = walk_to(top, "!/app/billing.jar!/nothere")
    assert member is None and "no member /nothere in !/app/billing.jar" in why


def test_the_archive_path_of_a_finding_is_the_first_file_before_a_bang():
    files = {"/a/x.jar", "/a/odd!/name.zip"}
    assert split_archive_path("/a/x.jar!/b/c.zip!/d", files.__contains__) == ("/a/x.jar", "!/b/c.zip!/d")
    assert split_archive_path("/a/odd!/name.zip!/m", files.__contains__) == ("/a/odd!/name.zip", "!/m")
    assert split_archive_path("/a/none!/m", files.__contains__) is None


def test_caps_are_said_depth_members_size_bomb_and_prefix(monkeypatch):
    data = zip_of({"deep.properties": PROPERTIES})
    for level in range(4):
        data = zip_of({f"level{level}.zip": data})
    levels, member, why = walk_to(open_top(data, len(data)), "!/level3.zip!/level2.zip!/level1.zip!/level0.zip")
    assert len(levels) == 3 and member.name == "level1.zip" and "depth cap 3" in why
    with pytest.raises(ArchiveError, match="depth cap 3"):
        open_nested(levels[-1], levels[-1].listing.members[0])

    monkeypatch.setattr(archives, "MAX_MEMBERS", 5)
    many = list_members(zip_of({f"f{i}.txt": b"x" for i in range(6)}))
    assert not many.members and "lists 6 members, more than the cap of 5" in many.problems[0]
    many = list_members(tar_of({f"f{i}.txt": b"x" for i in range(6)}))
    assert len(many.members) == 5 and "more than 5 members: the members past the cap are not listed" in many.problems[0]

    bomb = zip_of({"zeros.bin": b"\0" * (16 << 20)})
    with pytest.raises(ArchiveError, match="decompression bomb"):
        read_member(bomb, list_members(bomb).members[0], 16 << 20)
    tar_bomb = gzip.compress(tar_of({"zeros": b"\0" * (100 << 20)}, "w"), 1)
    assert "decompression bomb" in list_members(tar_bomb).problems[0]

    monkeypatch.setattr(archives, "MAX_MEMBER", 1000)
    big = zip_of({"big.jar": zip_of({"r.bin": os.urandom(2000)}, method=0)})
    top = open_top(big, len(big))
    with pytest.raises(ArchiveError, match="member archive of 0 MiB or more"):
        open_nested(top, top.listing.members[0])
    assert "larger than the --max-file-scan prefix" in open_top(big[:100], len(big)).listing.problems[0]


def test_damage_and_not_an_archive_are_said():
    data = tar_of({"a/app.env": b"A=1\n", "b/big.bin": os.urandom(400_000)})
    cut = list_members(data[: len(data) // 2])
    assert [m.name for m in cut.members] == ["a/app.env", "b/big.bin"]  # its header came before the cut
    assert cut.problems == ["damaged (EOFError: Compressed file ended before the end-of-stream marker was reached): "
                            "the members before the damage are listed"]
    assert list_members(b"just text, no archive").problems == ["not a zip or tar archive (its first bytes say otherwise)"]
