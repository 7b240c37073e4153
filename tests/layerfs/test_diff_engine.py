"""The diff engine on small images written in-process: what each layer added, modified, deleted."""

from __future__ import annotations

import pytest

from explorer.demo.imagewriter import Entry, ImageSpec, Layer
from explorer.core.model import EntryKind

F = Entry.file
D = Entry.dir


def paths(entries) -> list[str]:
    return sorted(e.path for e in entries)


def changes(analysis, layer: int) -> dict[str, list[str]]:
    ch = analysis.layers[layer].changes
    return {"added": paths(ch.added), "modified": paths(new for _old, new in ch.modified),
            "deleted": paths(ch.deleted), "unchanged": paths(ch.unchanged)}


def final_paths(analysis) -> list[str]:
    return sorted(e.path for e in analysis.final.walk("/"))


BASE = Layer([D("/etc"), F("/etc/passwd", b"root:x:0:0::/root:/bin/sh\n"),
              F("/etc/motd", b"hello\n"), D("/srv"), F("/srv/app.py", b"print('v1')\n", 0o755)],
             created_by="ADD rootfs.tar /")


def test_added(analysis_of):
    a = analysis_of([BASE, Layer([F("/srv/new.txt", b"new")], created_by="COPY new.txt /srv/")])
    assert changes(a, 0)["added"] == ["/etc", "/etc/motd", "/etc/passwd", "/srv", "/srv/app.py"]
    assert changes(a, 1) == {"added": ["/srv/new.txt"], "modified": [], "deleted": [], "unchanged": []}
    assert a.layers[1].ref.created_by == "COPY new.txt /srv/"


@pytest.mark.parametrize("new, why", [
    (F("/srv/app.py", b"print('v2')\n", 0o755), "content"),
    (F("/srv/app.py", b"print('v1')\n", 0o700), "mode"),
    (F("/srv/app.py", b"print('v1')\n", 0o755, uid=1000), "uid"),
    (F("/srv/app.py", b"print('v1')\n", 0o755, gid=1000), "gid"),
    (F("/srv/app.py", b"print('v1')\n", 0o4755), "setuid bit"),
    (Entry.symlink("/srv/app.py", "/usr/bin/python3"), "file -> symlink"),
    (D("/srv/app.py"), "file -> directory"),
])
def test_modified(new, why, analysis_of):
    a = analysis_of([BASE, Layer([new])])
    ch = a.layers[1].changes
    assert [(old.path, old.layer, n.path, n.layer) for old, n in ch.modified] == \
        [("/srv/app.py", 0, "/srv/app.py", 1)], why
    assert ch.added == [] and ch.deleted == [] and ch.unchanged == []
    assert a.final.get("/srv/app.py") is ch.modified[0][1]


def test_symlink_target_change_is_a_modification(analysis_of):
    a = analysis_of([Layer([Entry.symlink("/lib", "usr/lib")]), Layer([Entry.symlink("/lib", "usr/lib64")]),
                     Layer([Entry.symlink("/lib", "usr/lib64", mtime=1)])])
    assert changes(a, 1)["modified"] == ["/lib"]
    assert changes(a, 2)["unchanged"] == ["/lib"] and changes(a, 2)["modified"] == []
    assert a.final.get("/lib").linkname == "usr/lib64"


def test_mtime_only_change_is_not_a_modification(analysis_of):
    again = Layer([D("/etc", mtime=1), F("/etc/passwd", b"root:x:0:0::/root:/bin/sh\n", mtime=42),
                   F("/etc/motd", b"bye\n", mtime=42)])
    a = analysis_of([BASE, again])
    assert changes(a, 1) == {"added": [], "modified": ["/etc/motd"], "deleted": [],
                             "unchanged": ["/etc", "/etc/passwd"]}
    # the restated copy is what the final image shows, and the old one is replaced
    assert a.final.get("/etc/passwd").layer == 1
    assert a.fates[(0, "/etc/passwd")].how == "replaced"


def test_file_whiteout(analysis_of):
    a = analysis_of([BASE, Layer([Entry.whiteout("/etc/motd")], created_by="RUN rm /etc/motd")])
    ch = a.layers[1].changes
    assert [(e.path, e.layer, e.kind) for e in ch.deleted] == [("/etc/motd", 0, EntryKind.FILE)]
    assert a.final.get("/etc/motd") is None and a.final.get("/etc/passwd") is not None
    wh = a.layers[1].entries[0]
    assert (wh.kind, wh.path) == (EntryKind.WHITEOUT, "/etc/motd")
    assert a.layers[1].stats.entries == 1 and a.layers[1].stats.size == 0


def test_directory_whiteout_removes_the_subtree(analysis_of):
    lower = Layer([D("/opt"), D("/opt/tool"), D("/opt/tool/bin"), F("/opt/tool/bin/run", b"#!/bin/sh\n", 0o755),
                   F("/opt/tool/README", b"docs"), F("/opt/keep", b"k")])
    a = analysis_of([lower, Layer([Entry.whiteout("/opt/tool")], created_by="RUN rm -rf /opt/tool")])
    # only the top of the removed subtree is listed as deleted
    assert changes(a, 1)["deleted"] == ["/opt/tool"]
    assert final_paths(a) == ["/opt", "/opt/keep"]
    for path in ("/opt/tool", "/opt/tool/bin", "/opt/tool/bin/run", "/opt/tool/README"):
        assert a.fates[(0, path)].layer == 1 and a.fates[(0, path)].how == "deleted"
    assert (0, "/opt/keep") not in a.fates


@pytest.mark.parametrize("marker_first", [True, False], ids=["opaque-before-own", "opaque-after-own"])
def test_opaque_whiteout_hides_lower_children_and_keeps_its_own(marker_first, analysis_of):
    """dive drops `.wh..wh..opq`; the overlay rule hides the lower layers' children, whatever the tar order."""
    lower = Layer([D("/data"), F("/data/a", b"aaa"), D("/data/sub"), F("/data/sub/b", b"bb"), F("/keep", b"k")])
    own = [D("/data"), F("/data/c", b"c")]
    upper = [Entry.opaque("/data"), *own] if marker_first else [*own, Entry.opaque("/data")]
    a = analysis_of([lower, Layer(upper)])
    assert final_paths(a) == ["/data", "/data/c", "/keep"]
    ch = changes(a, 1)
    assert ch["deleted"] == ["/data/a", "/data/sub"]
    assert ch["added"] == ["/data/c"]
    assert [e.kind for e in a.layers[1].entries if e.is_whiteout] == [EntryKind.OPAQUE]
    assert a.fates[(0, "/data/sub/b")].how == "deleted"
    assert a.tree_at(0).get("/data/a") is not None


def test_opaque_in_a_later_layer_does_not_hide_the_same_layers_files(analysis_of):
    a = analysis_of([Layer([D("/d"), F("/d/x", b"x")]),
                     Layer([D("/d"), F("/d/y", b"y"), Entry.opaque("/d"), F("/d/z", b"z")])])
    assert final_paths(a) == ["/d", "/d/y", "/d/z"]


def test_hard_links_carry_the_targets_digest(analysis_of):
    body = b"\x7fELF busybox" * 100
    a = analysis_of([Layer([D("/bin"), F("/bin/busybox", body, 0o755), Entry.hardlink("/bin/sh", "/bin/busybox"),
                            Entry.hardlink("/bin/ls", "/bin/busybox")])])
    target = a.final.get("/bin/busybox")
    for name in ("/bin/sh", "/bin/ls"):
        link = a.final.get(name)
        assert link.kind == EntryKind.HARDLINK and link.linkname == "/bin/busybox"
        assert link.digest == target.digest and link.size == 0
        assert a.read(link) == body
    assert a.layers[0].stats.size == len(body) and a.final_size == len(body)


def test_symlinks_are_kept_as_symlinks(analysis_of):
    a = analysis_of([Layer([D("/etc"), F("/etc/shadow", b"root:*:"), Entry.symlink("/etc/link", "/etc/shadow"),
                            Entry.symlink("/etc/rel", "../etc/shadow"), Entry.symlink("/dangling", "/nowhere")])])
    link = a.final.get("/etc/link")
    assert (link.kind, link.linkname, link.digest, link.size) == (EntryKind.SYMLINK, "/etc/shadow", None, 0)
    assert a.final.get("/etc/rel").linkname == "../etc/shadow"
    assert a.final.get("/dangling").linkname == "/nowhere"
    assert a.read(link) == b""


def test_special_files(analysis_of):
    a = analysis_of([Layer([D("/dev"), Entry.char("/dev/null", 1, 3), Entry.block("/dev/sda", 8, 0),
                            Entry.fifo("/dev/fifo")])])
    null = a.final.get("/dev/null")
    assert (null.kind, null.devmajor, null.devminor) == (EntryKind.CHAR, 1, 3)
    assert a.final.get("/dev/sda").kind == EntryKind.BLOCK
    assert a.final.get("/dev/fifo").kind == EntryKind.FIFO
    assert a.total_size == 0


def test_a_file_replacing_a_directory_drops_its_subtree(analysis_of):
    a = analysis_of([Layer([D("/app"), D("/app/lib"), F("/app/lib/x.so", b"x" * 10), F("/app/main", b"m")]),
                     Layer([F("/app", b"now a file")])])
    assert final_paths(a) == ["/app"]
    assert a.final.get("/app").kind == EntryKind.FILE
    assert [(o.kind, n.kind) for o, n in a.layers[1].changes.modified] == [(EntryKind.DIR, EntryKind.FILE)]
    for path in ("/app/lib", "/app/lib/x.so", "/app/main"):
        assert a.fates[(0, path)] .how == "replaced" and a.fates[(0, path)].layer == 1
    assert a.wasted_bytes == 11


def test_a_directory_replacing_a_file(analysis_of):
    a = analysis_of([Layer([F("/cfg", b"old")]), Layer([F("/cfg/new.conf", b"n")])])
    assert a.final.get("/cfg").kind == EntryKind.DIR
    assert a.final.get("/cfg/new.conf").layer == 1
    assert a.fates[(0, "/cfg")].how == "replaced"


def test_tree_at_each_layer(analysis_of):
    a = analysis_of([
        Layer([D("/a"), F("/a/one", b"1")]),
        Layer([F("/a/two", b"22")]),
        Layer([Entry.whiteout("/a/one"), F("/b", b"b")]),
        Layer([Entry.whiteout("/a")]),
    ])
    trees = [sorted(e.path for e in a.tree_at(n).walk("/")) for n in range(4)]
    assert trees == [
        ["/a", "/a/one"],
        ["/a", "/a/one", "/a/two"],
        ["/a", "/a/two", "/b"],
        ["/b"],
    ]
    assert a.tree_at(3) is a.final
    # asking again (and out of order) gives the same trees
    assert sorted(e.path for e in a.tree_at(1).walk("/")) == trees[1]
    assert sorted(e.path for e in a.tree_at(0).walk("/")) == trees[0]


def test_history_of_a_path(analysis_of):
    a = analysis_of([
        Layer([D("/srv"), F("/srv/key", b"v1")], created_by="COPY key /srv/"),
        Layer([F("/srv/key", b"v2")], created_by="COPY key2 /srv/key"),
        Layer([Entry.whiteout("/srv")], created_by="RUN rm -rf /srv"),
        Layer([D("/srv"), F("/srv/key", b"v3")], created_by="COPY key3 /srv/key"),
        Layer([F("/other", b"o")]),
    ])
    hist = a.history("/srv/key")
    assert [(e.layer, e.kind, e.path) for e in hist] == [
        (0, EntryKind.FILE, "/srv/key"), (1, EntryKind.FILE, "/srv/key"),
        (2, EntryKind.WHITEOUT, "/srv"), (3, EntryKind.FILE, "/srv/key")]
    assert [a.in_final(e) for e in hist] == [False, False, False, True]
    assert a.fates[(0, "/srv/key")].how == "replaced" and a.fates[(0, "/srv/key")].layer == 1
    assert a.fates[(1, "/srv/key")].how == "deleted" and a.fates[(1, "/srv/key")].layer == 2
    assert [a.read(e) for e in hist if e.kind == EntryKind.FILE] == [b"v1", b"v2", b"v3"]
    assert a.history("/nowhere") == []


def test_read_returns_the_content_of_a_deleted_copy(analysis_of):
    secret = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"
    a = analysis_of([
        Layer([D("/root"), D("/root/.ssh"), F("/root/.ssh/id_ed25519", secret, 0o600), F("/root/.profile", b"p")]),
        Layer([Entry.whiteout("/root/.ssh")], created_by="RUN rm -rf /root/.ssh"),
    ])
    copy = a.history("/root/.ssh/id_ed25519")[0]
    assert copy.layer == 0 and not a.in_final(copy)
    assert a.read(copy) == secret
    assert a.read(copy, limit=5) == secret[:5]
    assert a.final.get("/root/.ssh/id_ed25519") is None


def test_numbers_hand_computed(analysis_of):
    """total 180 = 100 + 50 + 30; the final image shows only the 30-byte /a."""
    a = analysis_of([
        Layer([F("/a", b"A" * 100), F("/b", b"B" * 50)]),
        Layer([F("/a", b"a" * 30)]),
        Layer([Entry.whiteout("/b")]),
    ])
    assert [r.stats.size for r in a.layers] == [150, 30, 0]
    assert a.total_size == 180 and a.final_size == 30 and a.wasted_bytes == 150
    # per path min/sum: /a 30/130, /b 0/50 (a file whiteout counts 0)
    assert a.efficiency == pytest.approx(30 / 180)


def test_the_kept_copy_is_not_wasted(analysis_of):
    """dive's issue 684 counts every copy of a path seen twice as wasted; only the hidden copies are."""
    a = analysis_of([Layer([F("/big", b"1" * 1000), F("/small", b"s")]), Layer([F("/big", b"2" * 1000)])])
    assert a.total_size == 2001 and a.final_size == 1001
    assert a.wasted_bytes == 1000
    assert a.efficiency == pytest.approx(1001 / 2001)


def test_directory_whiteout_counts_what_it_removes(analysis_of):
    a = analysis_of([Layer([D("/d"), F("/d/x", b"x" * 10), F("/d/y", b"y" * 20), F("/z", b"z" * 5)]),
                     Layer([Entry.whiteout("/d")])])
    assert a.total_size == 35 and a.final_size == 5 and a.wasted_bytes == 30
    # /d/x 10/10, /d/y 20/20, /z 5/5, and the whiteout of /d is seen once with the 30 bytes it removes
    assert a.efficiency == pytest.approx((10 + 20 + 5 + 30) / (10 + 20 + 5 + 30))


def test_opaque_counts_what_it_hides(analysis_of):
    a = analysis_of([Layer([D("/d"), F("/d/x", b"x" * 40)]), Layer([Entry.opaque("/d"), F("/d/y", b"y" * 10)])])
    assert a.wasted_bytes == 40 and a.final_size == 10
    # /d/x is seen twice: 40 in layer 0, 0 when the opaque marker hides it; /d/y 10/10
    assert a.efficiency == pytest.approx(10 / 50)


def test_empty_image_and_empty_layer(analysis_of):
    a = analysis_of(ImageSpec(layers=[Layer([]), Layer([F("/x", b"")])]))
    assert [r.stats.entries for r in a.layers] == [0, 1]
    assert a.total_size == 0 and a.efficiency == 1.0 and a.problems == []
    assert final_paths(a) == ["/x"]


def test_empty_layer_history_lines_are_not_layers(analysis_of):
    spec = ImageSpec(layers=[Layer([F("/a", b"a")], created_by="ADD a /"), Layer([F("/b", b"b")], created_by="COPY b /")],
                     extra_history=[(0, "ARG VERSION=1"), (2, 'ENV MODE=prod'), (4, 'CMD ["sh"]')])
    a = analysis_of(spec)
    assert [r.ref.created_by for r in a.layers] == ["ADD a /", "COPY b /"]
    hist = a.source.config.history
    assert [(h.created_by, h.empty_layer, h.layer) for h in hist] == [
        ("ARG VERSION=1", True, None), ("ADD a /", False, 0), ("ENV MODE=prod", True, None),
        ("COPY b /", False, 1), ('CMD ["sh"]', True, None)]


def test_hard_link_to_a_lower_layers_file(analysis_of):
    body = b"BB" * 50
    a = analysis_of([Layer([D("/bin"), F("/bin/busybox", body, 0o755)]),
                     Layer([Entry.hardlink("/bin/sh", "/bin/busybox")])])
    link = a.final.get("/bin/sh")
    assert link.kind == EntryKind.HARDLINK
    assert link.digest == a.final.get("/bin/busybox").digest
    assert a.read(link) == body
