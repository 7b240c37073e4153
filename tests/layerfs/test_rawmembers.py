"""The raw member listing: names as stored, what each .wh. member means, caps and damage."""

from __future__ import annotations

import io

from explorer.demo.imagewriter import Entry, compress, layer_tar
from explorer.layerfs.rawmembers import meaning, read_raw_members, shown_path
from explorer.core.limits import Limits
from explorer.core.model import LayerRef

REF = LayerRef(index=3, blob="x", digest=None, media_type="", compressed_size=0, diff_id=None)


def listing(entries, compression="gzip", limits=Limits(), cut=None):
    blob = compress(layer_tar(entries), compression)
    return read_raw_members(io.BytesIO(blob[:cut] if cut else blob), REF, limits)


def test_meaning_of_each_kind_of_marker():
    assert meaning("etc/.wh.foo") == ("whiteout", "deletes /etc/foo from lower layers")
    assert meaning("./var/cache/.wh..wh..opq") == (
        "opaque", "hides everything lower layers had in /var/cache (only this layer's content stays)")
    assert meaning(".wh..wh.plnk") == ("aufs", "aufs bookkeeping: Docker ignores it")
    assert meaning("etc/foo.wh.bar") == ("", "")


def test_members_as_stored_with_types_modes_links_and_meanings():
    got = listing([Entry.dir("/etc"), Entry.file("/etc/passwd", b"root\n", 0o600, 1, 2),
                   Entry.symlink("/etc/mtab", "../proc/mounts"), Entry.hardlink("/etc/pw", "/etc/passwd"),
                   Entry.fifo("/run/f"), Entry.whiteout("/etc/shadow"), Entry.opaque("/var/cache")])
    assert got.compression == "gzip" and not got.problems and got.whiteouts == 2
    rows = [(m.position, m.name, m.type, m.kind, m.mode, m.uid, m.gid, m.size, m.linkname) for m in got.members]
    assert rows == [(0, "etc", "5", "dir", 0o755, 0, 0, 0, ""),
                    (1, "etc/passwd", "0", "file", 0o600, 1, 2, 5, ""),
                    (2, "etc/mtab", "2", "symlink", 0o777, 0, 0, 0, "../proc/mounts"),
                    (3, "etc/pw", "1", "hardlink", 0o644, 0, 0, 0, "etc/passwd"),
                    (4, "run/f", "6", "fifo", 0o644, 0, 0, 0, ""),
                    (5, "etc/.wh.shadow", "0", "whiteout", 0o644, 0, 0, 0, ""),
                    (6, "var/cache/.wh..wh..opq", "0", "opaque", 0o644, 0, 0, 0, "")]
    assert got.members[5].meaning == "deletes /etc/shadow from lower layers"
    assert [shown_path(m) for m in got.members] == ["/etc", "/etc/passwd", "/etc/mtab", "/etc/pw", "/run/f",
                                                    "/etc/shadow", "/var/cache"]


def test_a_cut_layer_lists_the_members_before_the_cut_and_says_so():
    entries = [Entry.file(f"/f{i}", bytes(range(256)) * 20) for i in range(30)]
    whole = compress(layer_tar(entries), "gzip")
    got = listing(entries, cut=len(whole) // 2)
    assert 0 < len(got.members) < 30
    assert got.problems == [got.problems[0]] and "layer 3 is cut short" in got.problems[0]
    assert got.problems[0].endswith(f"{len(got.members)} members read")


def test_the_member_cap_stops_the_listing_and_says_which_cap():
    got = listing([Entry.file(f"/f{i}", b"x") for i in range(10)], limits=Limits(max_entries=4))
    assert len(got.members) == 4
    assert "more than 4 tar members" in got.problems[0] and got.problems[0].endswith("4 members read")
