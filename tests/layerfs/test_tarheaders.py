"""The hand-written tar header reader gives what tarfile gives, and refuses what tarfile skips silently."""

from __future__ import annotations

import io
import tarfile

import pytest

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


def test_pax_global_header_applies_to_every_later_member():
    data = build([(dict(name="a"), b"1"), (dict(name="b"), b"2")], pax_headers={"uname": "everyone"})
    assert [m["uname"] for m, _ in ours(data)] == ["everyone", "everyone"] == [m["uname"] for m, _ in theirs(data)]


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


def test_a_cut_inside_a_header_or_after_an_extended_header_is_an_error():
    data = build([(dict(name="a"), b"1"), (dict(name="b" * 200), b"2")])
    with pytest.raises(TarHeaderError, match="inside the tar header"):
        ours(data[:BLOCK * 2 + 100])
    pax_only = data[:BLOCK * 2] + data[BLOCK * 2:BLOCK * 4]  # member b's pax header, then nothing
    with pytest.raises(TarHeaderError, match="extended header"):
        ours(pax_only + bytes(1024))


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
