"""The hand-written tar header reader reads as Go's archive/tar (Docker's reader) does: what tarfile
gives for ordinary archives, and Go's answer wherever the two differ."""

from __future__ import annotations

import io
import tarfile

import pytest

import rawtar as R
from explorer.layerfs.tarheaders import BLOCK, TarHeaders, TarHeaderError

FIELDS = ("name", "linkname", "size", "mode", "uid", "gid", "uname", "gname", "devmajor", "devminor",
          "offset_data")


def build(members, format=tarfile.PAX_FORMAT, encoding="utf-8", pax_headers=None) -> bytes:
    """members: (TarInfo kwargs, content bytes or None)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=format, encoding=encoding,
                      pax_headers=pax_headers or {}) as tar:
        for fields, data in members:
            info = tarfile.TarInfo(fields.pop("name"))
            for key, value in fields.items():
                setattr(info, key, value)
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def ours(data: bytes, read_content=True):
    reader = TarHeaders(io.BufferedReader(io.BytesIO(data)))
    out = []
    for m in reader:
        content = reader.read(m.size) if read_content and m.isreg() else None
        out.append(({f: getattr(m, f) for f in FIELDS} | {"mtime": int(m.mtime), "type": bytes([m.type])}, content))
    return out


def theirs(data: bytes):
    out = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:", encoding="utf-8", errors="surrogateescape") as tar:
        for m in tar:
            content = tar.extractfile(m).read() if m.isreg() else None
            out.append(({f: getattr(m, f) for f in FIELDS} | {"mtime": int(m.mtime), "type": m.type}, content))
    return out


LONG = "usr/lib/python3/dist-packages/" + "very-long-directory-name/" * 8 + "module.py"
MEMBERS = [
    (dict(name="etc", type=tarfile.DIRTYPE, mode=0o755), None),
    (dict(name="etc/passwd", mode=0o644, uid=0, gid=0, uname="root", gname="root", mtime=1_700_000_000),
     b"root:x:0:0::/root:/bin/sh\n"),
    (dict(name=LONG, mode=0o600, uid=1000, gid=1000, uname="ünïcode", gname="staff"), b"x" * 1000),
    (dict(name="bin/sh-link", type=tarfile.SYMTYPE, linkname="/" + LONG), None),
    (dict(name="bin/hard", type=tarfile.LNKTYPE, linkname="etc/passwd"), None),
    (dict(name="dev/null", type=tarfile.CHRTYPE, devmajor=1, devminor=3, mode=0o666), None),
    (dict(name="dev/sda", type=tarfile.BLKTYPE, devmajor=8, devminor=0), None),
    (dict(name="run/fifo", type=tarfile.FIFOTYPE), None),
    (dict(name="empty"), b""),
    (dict(name="big-ids", uid=3_000_000, gid=2_500_000, mtime=2**34), b"ids"),
    (dict(name="etc/.wh..wh..opq"), b""),
    (dict(name="exactly-512"), b"y" * 512),
]


@pytest.mark.parametrize("format", [tarfile.PAX_FORMAT, tarfile.GNU_FORMAT])
def test_same_members_as_tarfile(format):
    data = build([(dict(f), d) for f, d in MEMBERS], format=format)
    assert ours(data) == theirs(data)
    assert len(ours(data)) == len(MEMBERS)


def test_ustar_prefix_names_and_old_directories():
    name = "a" * 90 + "/" + "b" * 90
    data = bytearray(build([(dict(name=name), b"content")], format=tarfile.USTAR_FORMAT))
    assert ours(bytes(data)) == theirs(bytes(data))
    assert ours(bytes(data))[0][0]["name"] == name
    old = build([(dict(name="olddir/", type=tarfile.AREGTYPE), b"")], format=tarfile.USTAR_FORMAT)
    assert ours(old)[0][0]["type"] == tarfile.DIRTYPE and ours(old)[0][0]["name"] == "olddir"


def test_names_that_are_not_utf8_keep_their_bytes_as_surrogates():
    raw = b"caf\xe9/men\xfc.txt".decode("utf-8", "surrogateescape")
    for format in (tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT):
        data = build([(dict(name=raw), b"x")], format=format, encoding="utf-8")
        assert ours(data)[0][0]["name"] == raw == theirs(data)[0][0]["name"]


def test_pax_global_header_is_its_own_member_and_changes_nothing_after_it():
    # tarfile applies a global header to every later member; Go's reader (Docker's) returns it
    # as a member of its own, type 'g', and Docker ignores it
    data = build([(dict(name="a"), b"1"), (dict(name="b"), b"2")], pax_headers={"uname": "everyone",
                                                                                 "path": "etc/shadow"})
    assert [m["uname"] for m, _ in theirs(data)] == ["everyone", "everyone"]
    got = ours(data)
    assert [(m["type"], m["name"], m["uname"]) for m, _ in got] == [(b"g", "etc/shadow", ""), (b"0", "a", ""),
                                                                     (b"0", "b", "")]
    assert [c for _, c in got] == [None, b"1", b"2"]


def test_pax_overrides_size_uid_mtime_and_linkpath():
    data = build([(dict(name="x", uid=2**40, mtime=-5), b"abc"),
                  (dict(name="l", type=tarfile.SYMTYPE, linkname="t" * 300), None)])
    got = ours(data)
    assert got == theirs(data)
    assert got[0][0]["uid"] == 2**40 and got[0][0]["mtime"] == -5 and got[1][0]["linkname"] == "t" * 300


def test_base256_negative_numbers():
    data = build([(dict(name="neg", mtime=-(2**40)), b"")], format=tarfile.GNU_FORMAT)
    assert ours(data)[0][0]["mtime"] == -(2**40) == theirs(data)[0][0]["mtime"]


def test_skipping_content_without_reading_it():
    data = build([(dict(f), d) for f, d in MEMBERS])
    assert [m for m, _ in ours(data, read_content=False)] == [m for m, _ in theirs(data)]


def test_bad_checksum_is_an_error_where_tarfile_stops_silently():
    data = bytearray(build([(dict(name="a"), b"1" * 600), (dict(name="b"), b"2")], format=tarfile.USTAR_FORMAT))
    second = BLOCK + 1024  # header, two content blocks
    data[second + 10] ^= 0x20  # one bit of the second member's name
    assert len(theirs(bytes(data))) == 1  # tarfile: the archive just ends there
    with pytest.raises(TarHeaderError, match=f"byte {second}: bad checksum"):
        ours(bytes(data))


def test_a_cut_inside_a_header_is_an_error_an_extended_header_at_the_end_is_not():
    data = build([(dict(name="a"), b"1"), (dict(name="b" * 200), b"2")])
    with pytest.raises(TarHeaderError, match="inside the tar header"):
        ours(data[:BLOCK * 2 + 100])
    pax_only = data[:BLOCK * 2] + data[BLOCK * 2:BLOCK * 4]  # member b's pax header, then nothing
    # Go's reader ends the archive there (io.EOF from the next header read), as Docker does
    assert [m["name"] for m, _ in ours(pax_only + bytes(1024))] == ["a"]
    assert [m["name"] for m, _ in ours(pax_only)] == ["a"]


def test_garbage_and_empty_streams():
    assert ours(b"") == [] and ours(bytes(4096)) == []
    with pytest.raises(TarHeaderError):
        ours(b"\x00garbage" * 100)


def test_sparse_members_are_refused_by_name():
    data = bytearray(build([(dict(name="holes"), b"x")], format=tarfile.GNU_FORMAT))
    data[156] = ord("S")
    data[148:156] = b" " * 8
    data[148:156] = b"%06o\0 " % sum(data[:BLOCK])
    with pytest.raises(TarHeaderError, match="sparse member 'holes'"):
        ours(bytes(data))


# -- Go's archive/tar, rule by rule (Docker reads layers with it; tests/integration/test_docker_oracle.py
#    checks the same archives against a real dockerd) -----------------------------------------------

def names(data: bytes) -> list[tuple[str, bytes, bytes | None]]:
    return [(m["name"], m["type"], c) for m, c in ours(data)]


def test_prefix_is_joined_for_ustar_and_star_only():
    assert names(R.archive(R.member("cron", b"x", prefix=b"etc/cron.d"))) == [("etc/cron.d/cron", b"0", b"x")]
    assert names(R.archive(R.member("s", b"x", fmt="star", prefix=b"opt"))) == [("opt/s", b"0", b"x")]
    assert names(R.archive(R.member("doc", b"x", fmt="v7", prefix=b"etc"))) == [("doc", b"0", b"x")]
    # GNU: bytes 345.. are atime/ctime; only when they do not read as numbers are they a prefix (pre-1.8 Go)
    assert names(R.archive(R.member("x", b"1", fmt="gnu", prefix=b"00000000000\x0000000000000\x00"))) == [
        ("x", b"0", b"1")]
    assert names(R.archive(R.member("ld.so.preload", b"1", fmt="gnu", prefix=b"etc"))) == [
        ("etc/ld.so.preload", b"0", b"1")]


def test_numbers_as_go_parses_them():
    cron = b"* * * * * root sh\n"
    # NULs and spaces trimmed at both ends, then up to the first NUL
    for size in (b"\x00\x00\x00%08o" % len(cron), b" %o  " % len(cron), b"%o\x00777" % len(cron),
                 R.base256(len(cron), 12)):
        assert names(R.archive(R.member("c", cron, size=size))) == [("c", b"0", cron)], size
    for size in (b"0 100", b"00000000008\x00", b"+17", R.base256(-1, 12)):
        with pytest.raises(TarHeaderError):
            ours(R.archive(R.member("c", b"x" * 64, size=size)))
    # a negative size is fine on a member that has no content
    assert names(R.archive(R.member("d", type=b"5", size=R.base256(-1, 12)))) == [("d", b"5", None)]
    # every numeric field is checked, devmajor of a ustar header too (not of a V7 one)
    with pytest.raises(TarHeaderError):
        ours(R.archive(R.member("c", b"", devmajor=b"junk")))
    assert names(R.archive(R.member("c", b"", fmt="v7", uid=0, tail=b""))) == [("c", b"0", b"")]


def test_checksums_signed_unsigned_and_padded():
    for form in ("signed", "unsigned", " %o  ", "\x00%o\x00"):
        assert names(R.archive(R.member("\xe9", b"1", checksum=form))) == [("\xe9", b"0", b"1")], form
    with pytest.raises(TarHeaderError, match="bad checksum"):
        ours(R.archive(R.member("a", b"1", checksum=b"0000000\x00")))


def test_extended_headers_in_go_order():
    # the last `x` replaces the one before (no merging); an L long name beats a pax path
    data = R.archive(R.pax(("path", "usr/share/doc/first"), ("size", "0")), R.pax(("size", "4")),
                     R.member("etc/cron.d/chain", b"cron", size=0))
    assert names(data) == [("etc/cron.d/chain", b"0", b"cron")]
    data = R.archive(R.gnu_long("etc/long"), R.pax(("path", "usr/share/doc/b")), R.member("short", b"2"))
    assert names(data) == [("etc/long", b"0", b"2")]
    # empty values keep the header's own field; an empty long name is ignored; a long name ends at NUL
    assert names(R.archive(R.pax(("path", ""), ("size", "")), R.member("kept", b"k"))) == [("kept", b"0", b"k")]
    assert names(R.archive(R.gnu_long(""), R.member("short", b"s"))) == [("short", b"0", b"s")]
    assert names(R.archive(R.gnu_long(b"etc/real\x00usr/fake"), R.member("x", b"r"))) == [("etc/real", b"0", b"r")]


def test_pax_records_checked_as_go_checks_them():
    for pairs in ((("linkpath", b"a\x00b"),), (("mtime", str(2 ** 80)),), (("size", "1_0"),), (("uid", "x"),),
                  (("mtime", ".5"),)):
        with pytest.raises(TarHeaderError):
            ours(R.archive(R.pax(*pairs), R.member("f", b"f")))
    with pytest.raises(TarHeaderError, match="malformed pax record"):
        ours(R.archive(R.member("p", b"99 path=x\n", type=b"x"), R.member("f", b"f")))
    # a NUL in another record's value is fine, so are a + sign and a fraction
    assert names(R.archive(R.pax(("comment", b"a\x00b"), ("mtime", "17.123456789123")), R.member("f", b"f"))) == [
        ("f", b"0", b"f")]
    assert names(R.archive(R.pax(("size", "+3")), R.member("p", b"abc", size=0))) == [("p", b"0", b"abc")]


def test_old_type_nul_is_a_folder_when_its_final_name_ends_in_slash():
    data = R.archive(R.member("d/", type=b"\x00"), R.pax(("path", "pd/")), R.member("x", type=b"\x00"),
                     R.member("f0/", b"z", type=b"0"), R.member("plain", b"p", type=b"\x00"))
    assert names(data) == [("d", b"5", None), ("pd", b"5", None), ("f0/", b"0", b"z"), ("plain", b"0", b"p")]


def test_where_the_archive_ends():
    one = R.member("a", b"1")
    assert names(one + bytes(512)) == names(one) == names(one[:520]) == [("a", b"0", b"1")]
    assert names(one + R.end() + R.member("hidden", b"h")) == [("a", b"0", b"1")]  # never read by Docker
    with pytest.raises(TarHeaderError, match="false end of archive"):
        ours(one + bytes(512) + R.member("hidden", b"h"))
    with pytest.raises(EOFError):
        ours(one + bytes(512) + bytes(100))


def test_pax_sparse_files_read_as_go_expands_them():
    v01 = R.archive(R.pax(("GNU.sparse.numblocks", "2"), ("GNU.sparse.map", "0,3,1000,2"),
                          ("GNU.sparse.name", "etc/sparse"), ("GNU.sparse.realsize", "1200")),
                    R.member("GNUSparseFile.0/x", b"abcde"))
    assert names(v01) == [("etc/sparse", b"0", b"abc" + bytes(997) + b"de" + bytes(198))]
    v00 = R.archive(R.pax(("GNU.sparse.size", "600"), ("GNU.sparse.numblocks", "1"), ("GNU.sparse.offset", "512"),
                          ("GNU.sparse.numbytes", "4")), R.member("s00", b"DATA"))
    assert names(v00) == [("s00", b"0", bytes(512) + b"DATA" + bytes(84))]
    v10 = R.archive(R.pax(("GNU.sparse.major", "1"), ("GNU.sparse.minor", "0"), ("GNU.sparse.name", "s10"),
                          ("GNU.sparse.realsize", "3000")),
                    R.member("GNUSparseFile.0/y", R.pad(b"2\n10\n5\n2990\n10\n") + b"HELLO0123456789"))
    assert names(v10) == [("s10", b"0", bytes(10) + b"HELLO" + bytes(2975) + b"0123456789")]
    for extra, message in ((b"abcdef", "more data"), (b"a", "less data")):
        bad = R.archive(R.pax(("GNU.sparse.numblocks", "1"), ("GNU.sparse.map", "0,2"), ("GNU.sparse.realsize", "9")),
                        R.member("bad", extra))
        with pytest.raises(TarHeaderError, match=message):
            ours(bad)
