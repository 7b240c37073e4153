"""Bad input at the command line: one clear line on stderr, exit status 2, never a traceback.

Each case is run in-process through `explorer.cli.parser.main` (an escaping exception fails the test) and
the contract's own list is also run as `python -m explorer` in a subprocess.
"""

from __future__ import annotations

import copy
import gzip
import json
import os
import random

import pytest

from explorer.demo.imagewriter import Entry, ImageSpec, Layer, write_image

from hostile_images import (TRACEBACK, config_doc, docker_archive, error_lines, member, oci_layout,
                            run_inprocess, run_subprocess, tar_bytes)

OK_LAYER = tar_bytes([member("etc/ok", data=b"ok")])
IDX = "application/vnd.oci.image.index.v1+json"
MAN = "application/vnd.oci.image.manifest.v1+json"
H = {c: f"sha256:{c * 64}" for c in "abcde"}


def _archive(**kw):
    return lambda tmp: docker_archive(tmp / "image.tar", [OK_LAYER], **kw)


def _config(**over):
    doc = config_doc([OK_LAYER])
    for key, value in over.items():
        if key.startswith("config_"):
            doc["config"][key[len("config_"):]] = value
        else:
            doc[key] = value
    return _archive(config=copy.deepcopy(doc))


def _file(data: bytes, name: str = "image.tar"):
    def make(tmp):
        (tmp / name).write_bytes(data)
        return str(tmp / name)
    return make


def _oci(index, blobs=None):
    return lambda tmp: oci_layout(tmp / "layout", index, blobs or {})


def _empty_dir(tmp):
    (tmp / "empty").mkdir()
    return str(tmp / "empty")


def _cut_archive(tmp):
    """A docker-archive cut off in the middle of its second layer blob."""
    layers = [Layer([Entry.file(f"/f{i}", os.urandom(20000))], compression="none") for i in range(3)]
    path = write_image(ImageSpec(layers=layers), tmp / "image.tar", "docker-archive-legacy")
    data = open(path, "rb").read()
    with open(path, "wb") as fh:
        fh.write(data[: len(data) // 2])
    return path


def _deep_index(tmp):
    blobs = {f"sha256:{i:064x}": json.dumps({"manifests": [{"mediaType": IDX, "digest": f"sha256:{i + 1:064x}"}]}).encode()
             for i in range(10)}
    return oci_layout(tmp / "layout", {"manifests": [{"mediaType": IDX, "digest": f"sha256:{0:064x}"}]}, blobs)


BAD_INPUT = [
    pytest.param(lambda tmp: str(tmp / "nope.tar"), "no such file or folder", id="missing-file"),
    pytest.param(lambda tmp: "oci:" + str(tmp / "nope"), "no such file or folder", id="missing-oci-layout"),
    pytest.param(_file(os.urandom(4096)), "not a tar archive", id="random-bytes"),
    pytest.param(_file(b""), "not a tar archive", id="empty-file"),
    pytest.param(_file(gzip.compress(b"x" * 4096)), "compressed archive", id="gzip-file"),
    pytest.param(_file(tar_bytes([member("hello.txt", data=b"hi")])), "not a container image", id="plain-tar"),
    pytest.param(_empty_dir, "neither an OCI layout", id="empty-folder"),
    pytest.param(_archive(manifest=b"{not json"), "manifest.json", id="manifest-not-json"),
    pytest.param(_archive(manifest={"Config": "config.json"}), "does not list any image", id="manifest-not-list"),
    pytest.param(_archive(manifest=[]), "does not list any image", id="manifest-empty-list"),
    pytest.param(_archive(manifest=["x"]), "does not list any image", id="manifest-list-of-strings"),
    pytest.param(_archive(manifest=[{"Config": "config.json", "Layers": ["layer0.tar", "gone.tar"]}]),
                 "'gone.tar' named in manifest.json is missing", id="manifest-names-missing-layer"),
    pytest.param(_archive(manifest=[{"Layers": ["layer0.tar"]}]), "names no config", id="manifest-no-config"),
    pytest.param(_archive(manifest=[{"Config": "config.json", "Layers": 5}]), "manifest.json",
                 id="manifest-layers-not-list"),
    pytest.param(_archive(config=b"not json"), "image config is not valid JSON", id="config-not-json"),
    pytest.param(_archive(config=[1, 2]), "not a JSON object", id="config-not-object"),
    pytest.param(_config(rootfs=["x"]), "config", id="config-rootfs-list"),
    pytest.param(_config(rootfs={"diff_ids": 5}), "config", id="config-diff-ids-int"),
    pytest.param(_config(history=5), "config", id="config-history-int"),
    pytest.param(_config(config_Volumes=5), "config", id="config-volumes-int"),
    pytest.param(_config(config_ExposedPorts=5), "config", id="config-ports-int"),
    pytest.param(_cut_archive, "truncated", id="archive-cut-in-a-layer"),
    pytest.param(_oci(b"{"), "not valid JSON", id="index-not-json"),
    pytest.param(_oci([1]), "not a JSON object", id="index-not-object"),
    pytest.param(_oci({"manifests": "x"}), "no manifests list", id="index-manifests-not-list"),
    pytest.param(_oci({"manifests": [{"mediaType": IDX, "digest": H["a"]}]},
                      {H["a"]: json.dumps({"manifests": [{"mediaType": IDX, "digest": H["a"]}]}).encode()}),
                 "nested too deeply", id="index-cycle"),
    pytest.param(_deep_index, "nested too deeply", id="index-deep-nesting"),
    pytest.param(_oci({"manifests": [{"mediaType": MAN, "digest": "md5:abc"}]}), "invalid digest", id="index-bad-digest"),
    pytest.param(_oci({"manifests": [{"mediaType": MAN, "digest": H["b"]}]}), "is missing", id="index-missing-manifest"),
    pytest.param(_oci({"manifests": [{"digest": H["c"], "annotations": ["x"]}]}, {H["c"]: b"{}"}), "index",
                 id="index-annotations-list"),
    pytest.param(_oci({"manifests": [{"digest": H["c"], "mediaType": ["x"]}]}, {H["c"]: b"{}"}), "index",
                 id="index-media-type-list"),
    pytest.param(_oci({"manifests": [{"digest": H["c"]}]},
                      {H["c"]: json.dumps({"config": {"digest": H["d"]},
                                           "layers": [{"digest": H["e"], "size": "big"}]}).encode(),
                       H["d"]: b"{}"}),
                 "manifest", id="manifest-layer-size-not-int"),
]


@pytest.mark.parametrize("make, fragment", BAD_INPUT)
def test_bad_input_is_one_line_exit_2(tmp_path, make, fragment):
    image = make(tmp_path)
    rc, out, err = run_inprocess("layers", image)
    assert rc == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("explorer: ") and fragment in lines[0]
    assert TRACEBACK not in err


TOLERATED_CONFIGS = [
    pytest.param(dict(history=[5, "x", None]), id="history-items-not-objects"),
    pytest.param(dict(history=[{"created_by": ["x"], "empty_layer": "no"}]), id="history-wrong-field-types"),
    pytest.param(dict(config_Env={"A": 1}), id="env-object"),
    pytest.param(dict(config_Labels=["x"]), id="labels-list"),
    pytest.param(dict(config=[1]), id="config-list"),
    pytest.param(dict(os=["linux"], architecture=5), id="platform-not-strings"),
    pytest.param(dict(config_Entrypoint=5, config_Cmd={"a": 1}, config_User=["root"]), id="process-fields"),
]


@pytest.mark.parametrize("over", TOLERATED_CONFIGS)
def test_config_with_wrong_types_still_lists_layers(tmp_path, over):
    rc, out, err = run_inprocess("layers", _config(**over)(tmp_path), "--format", "json")
    assert rc == 0, err
    assert TRACEBACK not in err
    doc = json.loads(out)
    assert [layer["index"] for layer in doc["layers"]] == [0]
    assert all(isinstance(v, str) for v in doc["image"]["entrypoint"] + doc["image"]["cmd"])


@pytest.mark.parametrize("command", [["layers"], ["tree"], ["extract", "/etc/ok", "-o", "OUT"]])
@pytest.mark.parametrize("arg", ["docker-daemon:alpine:3.19", "127.0.0.1:9/alpine:3.19", "docker://127.0.0.1:9/busybox"])
def test_unreachable_daemon_in_process(tmp_path, monkeypatch, command, arg):
    """The daemon transport names the daemon; a bare reference then goes to its registry (here a
    loopback port nobody listens on), docker:// straight there."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
    argv = [command[0], arg] + [str(tmp_path / "out") if a == "OUT" else a for a in command[1:]]
    rc, out, err = run_inprocess(*argv)
    assert rc == 2 and out == ""
    lines = err.splitlines()
    if arg.startswith("docker-daemon:"):
        assert lines == ["explorer: cannot reach the Docker daemon at unix:///nonexistent.sock: "
                         + lines[0].split("unix:///nonexistent.sock: ", 1)[-1]]
    else:
        if not arg.startswith("docker://"):
            assert lines.pop(0) == (f"explorer: {arg}: not in the Docker daemon (unreachable at "
                                    "unix:///nonexistent.sock); from the registry 127.0.0.1:9")
        assert lines == ["explorer: 127.0.0.1:9: connection refused (no registry listening there)"]
    assert not (tmp_path / "out").exists()


def _content(i: int) -> bytes:
    """Incompressible, so that a cut blob really cuts the file."""
    return b"content %d " % i + random.Random(i).randbytes(3000)


def _damaged(tmp, **kw):
    layers = [Layer([Entry.file(f"/f{i}", _content(i))], created_by=f"RUN step {i}",
                    **(kw if i == 1 else {})) for i in range(3)]
    return write_image(ImageSpec(layers=layers), tmp / "image.tar")


def _flipped(tmp):
    """A plausible corruption: one bit flipped inside a file of an uncompressed layer."""
    path = _damaged(tmp, compression="none")
    data = bytearray(open(path, "rb").read())
    data[data.index(b"content 1 ")] ^= 1
    open(path, "wb").write(bytes(data))
    return path


DAMAGED = [
    pytest.param(lambda tmp: _damaged(tmp, truncate=100), "layer 1: cannot be read to its end", id="truncated-gzip"),
    pytest.param(lambda tmp: _damaged(tmp, blob=os.urandom(3000), compression="none"),
                 "layer 1: cannot be read to its end", id="layer-not-a-tar"),
    pytest.param(lambda tmp: _damaged(tmp, wrong_digest=True), "layer 1: blob hashes to", id="digest-mismatch"),
    pytest.param(lambda tmp: _damaged(tmp, wrong_diff_id=True), "layer 1: uncompressed stream hashes to",
                 id="diff-id-mismatch"),
    pytest.param(_flipped, "layer 1: blob hashes to", id="bit-flip-uncompressed"),
]


@pytest.mark.parametrize("make, fragment", DAMAGED)
def test_damaged_layer_one_line_and_other_layers_shown(tmp_path, make, fragment, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    image = make(tmp_path)
    rc, out, err = run_inprocess("layers", image)
    assert TRACEBACK not in err
    assert err.splitlines() == [err.rstrip("\n")] and err.startswith(f"explorer: warning: {fragment}")
    for i in range(3):
        assert f"RUN step {i}" in out
    rc, out, err = run_inprocess("layers", image, "--format", "json")
    doc = json.loads(out)
    assert [layer["index"] for layer in doc["layers"]] == [0, 1, 2]
    assert doc["layers"][0]["added"] == 1 and doc["layers"][2]["added"] == 1


@pytest.mark.parametrize("kw", [dict(truncate=100), dict(wrong_digest=True)], ids=["truncated", "digest"])
def test_damaged_layer_exit_status_is_2(tmp_path, kw):
    rc, out, _err = run_inprocess("layers", _damaged(tmp_path, **kw))
    assert "RUN step 2" in out
    assert rc == 2


def test_extract_from_a_damaged_image_writes_readable_layers_and_exits_2(tmp_path):
    image = _damaged(tmp_path, truncate=100)
    rc, _out, err = run_inprocess("extract", image, "/", "-o", str(tmp_path / "out"))
    assert rc == 2
    assert sorted(os.listdir(tmp_path / "out")) == ["f0", "f2"]
    assert (tmp_path / "out" / "f2").read_bytes() == _content(2)
    assert err.splitlines()[0].startswith("explorer: warning: layer 1: cannot be read to its end")
    assert "2 files" in err.splitlines()[-1]


def test_size_counts_only_bytes_present(tmp_path):
    cut = tar_bytes([member("small", data=b"s"), member("big", data=b"x" * 100, size=10 ** 12)], end=False)
    image = docker_archive(tmp_path / "image.tar", [OK_LAYER, cut])
    rc, out, err = run_inprocess("layers", image, "--format", "json")
    assert "layer 1: cannot be read to its end" in err
    assert json.loads(out)["total_size"] < 1000


SUBPROCESS_CASES = [
    pytest.param(lambda tmp: (str(tmp / "missing.tar"),), {}, "no such file or folder", id="missing-file"),
    pytest.param(lambda tmp: (_file(os.urandom(2048))(tmp),), {}, "not a tar archive", id="not-an-image"),
    pytest.param(lambda tmp: (_archive(manifest=b"[")(tmp),), {}, "not valid JSON", id="broken-manifest"),
    pytest.param(lambda tmp: ("docker-daemon:alpine:3.19",), {"DOCKER_HOST": "unix:///nonexistent.sock"},
                 "cannot reach the Docker daemon", id="unreachable-daemon"),
]


@pytest.mark.parametrize("make, env, fragment", SUBPROCESS_CASES)
def test_bad_input_subprocess(tmp_path, make, env, fragment):
    for command in (["layers"], ["tree"], ["extract", "/etc/ok", "-o", str(tmp_path / "out")]):
        args = make(tmp_path)
        rc, out, err = run_subprocess(command[0], *args, *command[1:], env=env)
        assert rc == 2, err
        assert out == ""
        assert len(err.splitlines()) == 1 and err.startswith("explorer: ") and fragment in err
        assert TRACEBACK not in err
        assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("make, fragment", [DAMAGED[0], DAMAGED[2]])
def test_damaged_layer_subprocess(tmp_path, make, fragment):
    rc, out, err = run_subprocess("layers", make(tmp_path))
    assert TRACEBACK not in err
    assert error_lines(err) == []
    assert len(err.splitlines()) == 1 and fragment in err
    assert all(f"RUN step {i}" in out for i in range(3))


@pytest.mark.parametrize("name, kind", [(".", b"0"), ("./", b"0"), ("/", b"0"), ("", b"0"), (".", b"2"), (".wh.", b"0")],
                         ids=["file-dot", "file-dot-slash", "file-slash", "file-empty", "symlink-dot", "whiteout-root"])
def test_member_naming_the_root_is_not_a_crash(tmp_path, name, kind):
    bad = tar_bytes([member(name, kind, linkname="/etc" if kind == b"2" else ""), member("x", data=b"x")])
    image = docker_archive(tmp_path / "image.tar", [OK_LAYER, bad])
    rc, out, err = run_inprocess("layers", image, "--format", "json")
    assert rc in (0, 2)
    assert [layer["index"] for layer in json.loads(out)["layers"]] == [0, 1]


def _fifo(tmp):
    os.mkfifo(tmp / "image.tar")
    return str(tmp / "image.tar")


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize("make, fragment", [
    pytest.param(_archive(config=DEEP), "image config is JSON nested too deeply", id="config-deeply-nested"),
    pytest.param(_archive(manifest=DEEP), "manifest.json 'manifest.json' is JSON nested too deeply",
                 id="manifest-deeply-nested"),
    pytest.param(_oci(b'{"manifests": ' + DEEP + b"}"), "index 'index.json' is JSON nested too deeply",
                 id="index-deeply-nested"),
    pytest.param(_fifo, "not a file or folder", id="image-is-a-fifo"),
    pytest.param(lambda tmp: "docker-archive:" + _fifo(tmp), "not a file or folder", id="transport-to-a-fifo"),
])
def test_more_bad_input_is_one_line_exit_2(tmp_path, make, fragment):
    test_bad_input_is_one_line_exit_2(tmp_path, make, fragment)


def test_a_fifo_blob_in_a_layout_is_reported_not_waited_for(tmp_path):
    ok = tar_bytes([member("x", data=b"x")])
    config = json.dumps(config_doc([ok, ok])).encode()
    digest = "sha256:" + "f" * 64
    manifest = json.dumps({"config": {"digest": H["d"]}, "layers": [
        {"digest": H["e"], "size": len(ok)}, {"digest": digest, "size": 1}]}).encode()
    layout = oci_layout(tmp_path / "layout", {"manifests": [{"mediaType": MAN, "digest": H["c"]}]},
                        {H["c"]: manifest, H["d"]: config, H["e"]: ok})
    os.mkfifo(tmp_path / "layout" / "blobs" / "sha256" / ("f" * 64))
    rc, out, err = run_subprocess("layers", layout, "--format", "json")
    assert rc == 2 and TRACEBACK not in err
    assert err.splitlines()[-1] == (f"explorer: warning: layer 1: {layout}: blob 'blobs/sha256/{'f' * 64}' is "
                                    "not a regular file")
    assert [layer["added"] for layer in json.loads(out)["layers"]] == [1, 0]


def test_an_index_of_thousands_of_images_names_a_few_in_its_one_line(tmp_path):
    index = {"manifests": [{"mediaType": MAN, "digest": f"sha256:{i:064x}",
                            "annotations": {"org.opencontainers.image.ref.name": f"t{i}"}} for i in range(3000)]}
    layout = oci_layout(tmp_path / "layout", index, {})
    for arg, fragment in ((layout, "holds 3000 images (:t0; :t1;"), ("oci:" + layout + ":nope", "(tags: t0, t1")):
        rc, out, err = run_inprocess("layers", arg)
        assert rc == 2 and out == ""
        assert len(err.splitlines()) == 1 and fragment in err and len(err) < 600
        assert "… 2988 more" in err


def test_an_archive_of_too_many_members_is_refused_early(tmp_path, monkeypatch):
    from explorer.sources import blobstore
    monkeypatch.setattr(blobstore, "MAX_ARCHIVE_MEMBERS", 50)
    junk = {f"junk/{i}": b"" for i in range(60)}
    image = docker_archive(tmp_path / "image.tar", [OK_LAYER], extra=junk)
    rc, out, err = run_inprocess("layers", image)
    assert rc == 2 and out == ""
    assert err == f"explorer: {image}: holds more than 50 members; not a container image archive\n"
    image = docker_archive(tmp_path / "fine.tar", [OK_LAYER], extra=dict(list(junk.items())[:40]))
    assert run_inprocess("layers", image)[0] == 0
