"""A path's timeline across layers, and how a copy's bytes are presented (text, hex, diffs, masking)."""

from __future__ import annotations

import pytest

from explorer.demo.imagewriter import Entry, ImageSpec, Layer, write_image
from explorer.layerfs import analyze
from explorer.layerfs.content import (DIFF_CAP, diff_copies, guess_language, hex_row, looks_binary,
                                      text_lines)
from explorer.layerfs.timeline import readable_versions, timeline
from explorer.detectors.redact import MASK_CHUNK, mask_in_place
from explorer.sources import open_image

TOKEN = b"ghp_Zq8ZkX4mP2vR7tY9wB3nL6hJ1sD5fG0aQ2eC"


def history_image(tmp_path) -> str:
    return write_image(ImageSpec(layers=[
        Layer([Entry.dir("/etc"), Entry.file("/etc/a.conf", b"v1\n"), Entry.dir("/opt"),
               Entry.file("/opt/tool", b"x"), Entry.dir("/srv"), Entry.file("/srv/f", b"s")], created_by="base"),
        Layer([Entry.dir("/etc"), Entry.file("/etc/a.conf", b"v2\n")], created_by="edit"),
        Layer([Entry.whiteout("/etc/a.conf"), Entry.whiteout("/opt")], created_by="rm"),
        Layer([Entry.dir("/etc"), Entry.file("/etc/a.conf", b"v3\n"), Entry.opaque("/srv")], created_by="again"),
        Layer([Entry.file("/srv", b"now a file")], created_by="replace the folder by a file"),
    ]), str(tmp_path / "history.tar"))


def test_timeline_says_added_modified_deleted_and_how(tmp_path):
    with open_image(history_image(tmp_path)) as source:
        analysis = analyze(source)
        events = [(v.layer, v.change, v.detail) for v in timeline(analysis, "/etc/a.conf")]
        assert events == [(0, "added", ""), (1, "modified", ""), (2, "deleted", "whiteout"), (3, "added", "")]
        assert [(v.layer, v.change, v.detail) for v in timeline(analysis, "/opt/tool")] == [
            (0, "added", ""), (2, "deleted", "with /opt")]
        assert [(v.layer, v.change, v.detail) for v in timeline(analysis, "/srv/f")] == [
            (0, "added", ""), (3, "deleted", "opaque /srv")]
        readable = readable_versions(timeline(analysis, "/etc/a.conf"))
        assert [analysis.read(v.entry) for v in readable] == [b"v1\n", b"v2\n", b"v3\n"]


@pytest.mark.parametrize("compression", ["gzip", "none"])
def test_read_from_an_offset(tmp_path, compression):
    """Uncompressed layers are read at the copy's data offset, compressed ones by walking the tar."""
    files = [Entry.file(f"/f{i}", bytes([65 + i]) * (1000 + i)) for i in range(5)]
    path = write_image(ImageSpec(layers=[Layer(files, compression=compression)]), str(tmp_path / "x.tar"))
    with open_image(path) as source:
        analysis = analyze(source)
        assert analysis.layers[0].stats.compression == compression
        for i in range(5):
            entry = analysis.final.get(f"/f{i}")
            data = bytes([65 + i]) * (1000 + i)
            assert analysis.read(entry) == data
            assert analysis.read(entry, 3, 998) == data[998:1001] and analysis.read(entry, offset=1000) == data[1000:]


def test_text_binary_and_hex_rows():
    assert not looks_binary("héllo\n".encode()) and looks_binary(b"\x7fELF\x00") and looks_binary(b"\xff\xfe\xfa" * 10)
    assert not looks_binary("ab\n".encode() * 10 + "é".encode()[:1])  # a character cut by the window
    assert text_lines(b"a\tb\r\n\x1b[31mred\n") == ["a   b", "\\x1b[31mred"]
    assert hex_row(b"ABC\x00", 0x20) == "00000020  " + "41 42 43 00".ljust(48) + "  |ABC.|"
    assert hex_row(bytes(range(65, 81)), 0)[10:58] == "41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50"
    assert guess_language("/srv/app.py", b"") == "python" and guess_language("/x/run", b"#!/usr/bin/env bash\n") == "bash"
    assert guess_language("/x/data", b"plain") is None


def test_mask_in_place_keeps_offsets_and_finds_secrets_across_chunks():
    line = b"GITHUB_TOKEN=" + TOKEN + b"\n"
    data = (b"x" * 99 + b"\n") * (MASK_CHUNK // 100 - 1) + line + (b"y" * 99 + b"\n") * 2000 + line
    masked, spans = mask_in_place(data)
    assert len(masked) == len(data) and TOKEN not in masked and masked.count(b"ghp_Zq8Z***") == 2
    assert len(spans) == 2 and all(masked[s:e].startswith(b"ghp_Zq8Z") for s, e in spans)


def test_diff_is_masked_and_bounded():
    old = b"port = 80\nmode = safe\n"
    new = b"port = 8080\nmode = safe\ntoken = " + TOKEN + b"\n"
    kinds = [(d.kind, d.text) for d in diff_copies(old, new, "a", "b")]
    assert ("-", "-port = 80") in kinds and ("+", "+port = 8080") in kinds and (" ", " mode = safe") in kinds
    assert not any(TOKEN.decode() in text for _k, text in kinds)
    big = b"line\n" * (DIFF_CAP // 5 + 10)
    notes = [d.text for d in diff_copies(big, big + b"more\n", "old", "new", len(big), len(big) + 5) if d.kind == "!"]
    assert any("compared its first" in n for n in notes)
    binary = [d for d in diff_copies(b"\x00AB", b"\x00AC", "x", "y") if d.kind in "+-!"]
    assert binary[0].text.startswith("binary content") and binary[1].text.startswith("-00000000")


def test_a_huge_line_is_cut():
    from explorer.layerfs.content import MAX_LINE

    [line] = text_lines(b"a" * (MAX_LINE + 10))
    assert line == "a" * MAX_LINE + " … (10 more characters)"


def test_a_private_key_is_masked_whole_wherever_the_chunks_cut():
    import base64
    import random

    body = base64.b64encode(random.Random(7).randbytes(2300))
    lines = b"\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    key = b"-----BEGIN RSA PRIVATE KEY-----\n" + lines + b"\n-----END RSA PRIVATE KEY-----\n"
    probes = [lines[i:i + 40] for i in range(100, len(lines) - 40, 300)]
    for before in range(MASK_CHUNK // 100 - 40, MASK_CHUNK // 100 + 5, 3):
        data = (b"y" * 99 + b"\n") * before + key + (b"q" * 99 + b"\n") * 700
        masked, _spans = mask_in_place(data)
        assert len(masked) == len(data) and masked.count(b"\n") == data.count(b"\n")
        assert not any(p in masked for p in probes) and b"-----END RSA PRIVATE KEY-----" in masked
