"""Tracebacks are bugs: whatever a document, a blob or the walker throws while an image is read
becomes one clear line and exit status 2 (the image) or a damaged-layer report (one layer, the
others still shown), in every command."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from explorer.layerfs import walker

from corpus import LAST, OK, L, sha, write
from hostile_images import TRACEBACK, config_doc, docker_archive, member, oci_layout, run_inprocess, tar_bytes

OK_LAYER = tar_bytes([member("etc/ok", data=b"ok")])
MAN = "application/vnd.oci.image.manifest.v1+json"


def _layers(image: str, *more: str) -> tuple[int, dict | None, str]:
    rc, out, err = run_inprocess("layers", image, "--format", "json", *more)
    assert TRACEBACK not in err
    return rc, json.loads(out) if out else None, err


def test_a_config_with_bytes_that_are_not_utf8_is_read_as_docker_reads_it(tmp_path):
    """Go's encoding/json takes an invalid byte as U+FFFD; Docker loads such an image."""
    raw = json.dumps(config_doc([OK_LAYER], ["RUN echo CAFE"])).encode().replace(b"CAFE", b"caf\xe9")
    rc, doc, err = _layers(docker_archive(tmp_path / "image.tar", [OK_LAYER], config=raw))
    assert rc == 0, err
    assert doc["layers"][0]["created_by"] == "RUN echo caf\ufffd"


def test_duplicate_keys_take_the_last_value_as_go_does(tmp_path):
    good = json.dumps(config_doc([OK_LAYER], ["RUN real"]))
    raw = ('{"history": [{"created_by": "RUN decoy"}], ' + good[1:]).encode()
    rc, doc, err = _layers(docker_archive(tmp_path / "image.tar", [OK_LAYER], config=raw))
    assert rc == 0, err
    assert doc["layers"][0]["created_by"] == "RUN real"


def test_a_huge_document_is_refused_before_it_is_parsed(tmp_path):
    doc = config_doc([OK_LAYER])
    doc["padding"] = [{}] * (3 << 20)  # 12 MB of `{}, `: ~200 MB once parsed
    rc, out, err = run_inprocess("layers", docker_archive(tmp_path / "image.tar", [OK_LAYER],
                                                          config=json.dumps(doc).encode()))
    assert rc == 2 and out == "" and TRACEBACK not in err
    assert len(err.splitlines()) == 1 and "'config.json' is too large" in err


WRONG_TYPES = [
    ("config-is-a-list", {"config": [1], "layers": []}),
    ("layers-is-an-object", {"config": {"digest": "CONFIG"}, "layers": {"a": 1}}),
    ("layer-digest-is-a-number", {"config": {"digest": "CONFIG"}, "layers": [{"digest": 5, "size": 1}]}),
    ("config-digest-is-an-object", {"config": {"digest": {"x": 1}}, "layers": []}),
    ("manifest-is-a-string", "manifest"),
]


@pytest.mark.parametrize("name, manifest", WRONG_TYPES, ids=[w[0] for w in WRONG_TYPES])
def test_documents_of_the_wrong_shape_are_one_line(tmp_path, name, manifest):
    config = json.dumps(config_doc([OK_LAYER])).encode()
    raw = json.dumps(manifest).replace('"CONFIG"', json.dumps(sha(config))).encode()
    layout = oci_layout(tmp_path / "layout", {"manifests": [{"mediaType": MAN, "digest": sha(raw)}]},
                        {sha(raw): raw, sha(config): config})
    rc, out, err = run_inprocess("layers", layout)
    assert TRACEBACK not in err
    assert rc == 2 and out == "" and len(err.splitlines()) == 1 and err.startswith("explorer: "), err


def _layout_with_blob(tmp_path: Path) -> tuple[str, Path]:
    """An OCI layout of OK, a middle layer and LAST; and the path of the middle layer's blob."""
    middle = L.of([member("mid/file", data=b"m")], "gzip")
    layout = write(tmp_path, [OK, middle, LAST], "oci")
    return layout, Path(layout) / "blobs" / "sha256" / sha(middle.blob)[7:]


@pytest.mark.parametrize("kind", ["folder", "symlink-outside", "symlink-loop", "unreadable-fifo"])
def test_a_blob_that_is_not_a_file_is_a_missing_layer_and_the_rest_is_shown(tmp_path, kind):
    layout, blob = _layout_with_blob(tmp_path)
    blob.unlink()
    if kind == "folder":
        blob.mkdir()
    elif kind == "symlink-outside":
        (tmp_path / "outside").write_bytes(b"x")
        blob.symlink_to(tmp_path / "outside")
    elif kind == "symlink-loop":
        blob.symlink_to(blob)
    else:
        os.mkfifo(blob)
    for command in ("layers", "scan", "tree"):
        rc, out, err = run_inprocess(command, layout)
        assert TRACEBACK not in err and rc == 2, (command, err)
        assert "layer 1" in err
        if command == "layers":
            assert "RUN first" in out and "RUN last" in out


def test_an_error_the_walker_did_not_expect_is_a_damaged_layer(tmp_path, monkeypatch):
    """Whatever escapes the walker (here a KeyError on one member) costs that layer, not the run."""
    real = walker._entry

    def entry(member, *args, **kwargs):
        if member.name == "mid/file":
            raise KeyError("surprise")
        return real(member, *args, **kwargs)

    monkeypatch.setattr(walker, "_entry", entry)
    layout, _ = _layout_with_blob(tmp_path)
    for command in ("layers", "scan"):
        rc, doc, err = _layers(layout) if command == "layers" else (None, None, None)
        if command == "scan":
            rc, out, err = run_inprocess("scan", layout, "--format", "json")
            assert TRACEBACK not in err
            doc = json.loads(out)
            assert "integrity.corrupt-layer" in {f["rule_id"] for f in doc["findings"]}
        assert rc == 2
        assert "layer 1: cannot be read (KeyError: 'surprise')" in err
        assert [layer["created_by"] for layer in doc["layers"]][::2] == ["RUN first", "RUN last"]
