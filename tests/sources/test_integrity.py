"""Broken and hostile inputs: digests that lie, truncated blobs, unsafe member names, lying media types."""

from __future__ import annotations

import os
import random

import pytest

from explorer.main import main
from explorer.demo.imagewriter import FORMATS, OCI_LAYER, Entry, ImageSpec, Layer
from explorer.core.model import EntryKind

F = Entry.file
NOISE = random.Random(7).randbytes(3_000_000)
"""Incompressible, so that a cut in the stored blob is a cut in the middle of /big."""


def broken(compression: str = "gzip", **hooks) -> ImageSpec:
    return ImageSpec(layers=[
        Layer([F("/ok", b"fine")], created_by="ADD ok /"),
        Layer([F("/first", b"before the cut"), F("/big", NOISE), F("/last", b"after the cut")],
              created_by="COPY big /", compression=compression, **hooks),
        Layer([F("/after", b"next layer")], created_by="COPY after /"),
    ])


def kinds(a) -> list[tuple[int, str]]:
    return [(p.layer, p.kind) for p in a.problems]


@pytest.mark.parametrize("fmt", ["docker-archive", "oci", "oci-archive"])
def test_wrong_manifest_digest_is_reported_and_the_layer_still_read(fmt, analysis_of):
    a = analysis_of(broken(wrong_digest=True), fmt)
    assert kinds(a) == [(1, "digest-mismatch")]
    layer = a.layers[1]
    assert [e.path for e in layer.entries] == ["/first", "/big", "/last"] and layer.stats.complete
    assert layer.stats.digest != layer.ref.digest
    assert layer.ref.digest in a.problems[0].message and layer.stats.digest in a.problems[0].message
    assert a.read(a.final.get("/last")) == b"after the cut"
    assert a.final.get("/after") is not None


@pytest.mark.parametrize("fmt", FORMATS)
def test_wrong_diff_id_is_reported_and_the_layer_still_read(fmt, analysis_of):
    a = analysis_of(broken(wrong_diff_id=True), fmt)
    assert kinds(a) == [(1, "diff-id-mismatch")]
    assert a.layers[1].stats.diff_id != a.layers[1].ref.diff_id
    assert [e.path for e in a.layers[1].entries] == ["/first", "/big", "/last"]
    assert a.final_size == 4 + 14 + len(NOISE) + 13 + 10


@pytest.mark.parametrize("compression", ["none", "zstd", "gzip"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_layer_after_the_first_mebibyte(fmt, compression, analysis_of):
    a = analysis_of(broken(compression, truncate=2_000_000), fmt)
    assert kinds(a) == [(1, "truncated")]
    layer = a.layers[1]
    assert layer.stats.complete is False
    assert [e.path for e in layer.entries] == ["/first"]
    assert a.read(layer.entries[0]) == b"before the cut"
    # the cut layer says nothing about digests (it could not be hashed to its end); the next layer is read
    assert [e.path for e in a.layers[2].entries] == ["/after"]
    assert sorted(e.path for e in a.final.walk("/")) == ["/after", "/first", "/ok"]


@pytest.mark.parametrize("compression", ["none", "zstd", "gzip"])
def test_truncated_layer_early_keeps_the_entries_before_the_cut(compression, analysis_of):
    a = analysis_of(broken(compression, truncate=100_000), "oci-archive")
    assert kinds(a) == [(1, "truncated")]
    assert [e.path for e in a.layers[1].entries] == ["/first"]


def test_truncated_layer_warns_through_the_cli(make_image, capsys):
    path = make_image(broken("none", truncate=2_000_000))
    main(["layers", path, "--format", "json"])
    captured = capsys.readouterr()
    assert "layer 1" in captured.err and "cannot be read to its end" in captured.err
    assert "Traceback" not in captured.err


def test_digest_mismatch_warns_through_the_cli(make_image, capsys):
    path = make_image(broken(wrong_digest=True), "oci-archive")
    main(["layers", path, "--format", "json"])
    err = capsys.readouterr().err
    assert err.startswith("explorer: warning: layer 1: blob hashes to sha256:")
    assert err.count("\n") == 1


def test_garbage_and_empty_blobs(analysis_of):
    a = analysis_of(ImageSpec(layers=[Layer(blob=b""), Layer(blob=b"\x00garbage" * 1000),
                                      Layer([F("/x", b"x")])]), "oci")
    assert a.layers[0].entries == [] and a.layers[0].stats.complete
    assert len(a.problems) == 1 and a.problems[0].layer == 1
    assert a.problems[0].kind in ("corrupt", "truncated")  # garbage: which word is the reader's call
    assert a.layers[1].entries == [] and a.layers[1].stats.complete is False
    assert a.final.get("/x") is not None


def test_media_types_lie(analysis_of):
    """A zstd blob declared as gzip (and a gzip blob declared uncompressed) is sniffed, not trusted."""
    a = analysis_of(ImageSpec(layers=[
        Layer([F("/z", b"zstd")], compression="zstd", media_type=OCI_LAYER["gzip"]),
        Layer([F("/g", b"gzip")], compression="gzip", media_type=OCI_LAYER["none"]),
    ]), "oci")
    assert [r.stats.compression for r in a.layers] == ["zstd", "gzip"]
    assert a.problems == []
    assert sorted(e.path for e in a.final.walk("/")) == ["/g", "/z"]


def test_unsafe_member_names_are_reported_and_contained(analysis_of, tmp_path):
    a = analysis_of([Layer([
        F("/etc/abs", b"absolute", raw=True),
        F("../../escape", b"dot-dot", raw=True),
        F("usr/../../../climb", b"climb", raw=True),
        F("fine/name", b"fine"),
    ])])
    assert [p.kind for p in a.problems] == ["unsafe-path"] * 3
    assert all(p.layer == 0 for p in a.problems)
    assert [e.path for e in a.layers[0].entries] == ["/etc/abs", "/escape", "/climb", "/fine/name"]
    assert a.read(a.final.get("/escape")) == b"dot-dot"
    # reading never wrote the members anywhere
    assert not (tmp_path.parent / "escape").exists() and not os.path.exists("/escape")


def test_hard_link_target_climbing_out_is_reported(analysis_of):
    a = analysis_of([Layer([F("/etc/shadow", b"root:*:"), Entry.hardlink("x", "../../etc/shadow", raw=True)])])
    assert [p.kind for p in a.problems] == ["unsafe-path"]


def test_control_characters_in_names_are_kept_verbatim(analysis_of):
    """The reader keeps hostile names as they are; escaping is the printer's job."""
    name = "/tmp/\x1b[31mred\x07\n.txt"
    a = analysis_of([Layer([F(name, b"x")])])
    entry = a.layers[0].entries[0]
    assert entry.path == name and entry.kind == EntryKind.FILE


def test_whiteout_of_something_that_never_existed(analysis_of):
    a = analysis_of([Layer([F("/a", b"a")]), Layer([Entry.whiteout("/nothing"), Entry.opaque("/nodir")])])
    assert a.problems == []
    assert a.layers[1].changes.deleted == []
    # Docker makes an opaque marker's folder when it is not there (MkdirAll of the marker's parent, checked
    # against dockerd by test_docker_oracle's "opaque marker in a missing folder"); a whiteout of a
    # top-level name has the root as its parent, so nothing more appears
    assert sorted(e.path for e in a.final.walk("/")) == ["/a", "/nodir"]
