"""Opening images: transports, auto-detection, tags, platforms, and the errors that name the choices."""

from __future__ import annotations

import gzip
import os
import tarfile

import pytest

from explorer.main import main
from explorer.core.errors import SourceError
from explorer.demo.imagewriter import Entry, ImageSpec, Layer
from explorer.sources import open_image, split_transport

F = Entry.file


def one(name: str, **kw) -> ImageSpec:
    return ImageSpec(layers=[Layer([F(f"/{name}", name.encode())], created_by=f"COPY {name} /")], **kw)


def final_files(image: str, platform: str | None = None) -> list[str]:
    from explorer.layerfs import analyze
    with open_image(image, platform) as source:
        return sorted(e.path for e in analyze(source).final.walk("/"))


@pytest.mark.parametrize("fmt, kind", [("docker-archive", "docker-archive"), ("docker-archive-legacy", "docker-archive"),
                                       ("oci", "oci"), ("oci-archive", "oci-archive")])
def test_auto_detection(fmt, kind, make_image):
    path = make_image(one("a"), fmt)
    with open_image(path) as source:
        assert source.kind == kind
        assert source.reference == path
        assert [ref.created_by for ref in source.layers] == ["COPY a /"]
    assert final_files(path) == ["/a"]


def test_explicit_transports(make_image):
    oci_dir = make_image(one("a", tag="img:v1"), "oci")
    oci_tar = make_image(one("b", tag="img:v2"), "oci-archive")
    docker = make_image(one("c"), "docker-archive")
    assert final_files(f"oci:{oci_dir}:v1") == ["/a"]
    assert final_files(f"oci:{oci_dir}") == ["/a"]
    assert final_files(f"oci-archive:{oci_tar}:v2") == ["/b"]
    assert final_files(f"oci-archive:{oci_tar}") == ["/b"]
    assert final_files(f"docker-archive:{docker}") == ["/c"]
    with open_image(f"oci:{oci_dir}:v1") as source:
        assert source.kind == "oci"


def test_explicit_transport_wins_over_detection(make_image):
    """An oci-archive read as docker-archive fails: the transport is not second-guessed."""
    oci_tar = make_image(one("b"), "oci-archive")
    with pytest.raises(SourceError, match="manifest.json"):
        open_image(f"docker-archive:{oci_tar}")


def test_split_transport():
    assert split_transport("docker://alpine:3.19") == ("registry", "alpine:3.19", None)
    assert split_transport("registry:127.0.0.1:5000/a/b:1") == ("registry", "127.0.0.1:5000/a/b:1", None)
    assert split_transport("docker-daemon:alpine:3.19") == ("docker-daemon", "alpine:3.19", None)
    assert split_transport("oci:/no/such/dir:v1") == ("oci", "/no/such/dir", "v1")
    assert split_transport("./image.tar") == (None, "./image.tar", None)


def test_oci_unknown_tag_lists_the_tags(make_image):
    layout = make_image([one("a", tag="img:v1"), one("b", tag="img:v2")], "oci")
    with pytest.raises(SourceError) as err:
        open_image(f"oci:{layout}:v3")
    assert "v3" in str(err.value) and "v1" in str(err.value) and "v2" in str(err.value)
    with pytest.raises(SourceError, match=":TAG"):
        open_image(layout)
    assert final_files(f"oci:{layout}:v2") == ["/b"]


@pytest.mark.parametrize("nest", [False, True], ids=["flat-index", "nested-index"])
@pytest.mark.parametrize("fmt", ["oci", "oci-archive"])
def test_multi_platform_index_needs_platform(fmt, nest, make_image):
    specs = [one("amd", architecture="amd64"), one("arm", architecture="arm64", variant="v8")]
    path = make_image(specs, fmt, nest_index=nest)
    with pytest.raises(SourceError) as err:
        open_image(path)
    message = str(err.value)
    assert "--platform" in message and "linux/amd64" in message and "linux/arm64/v8" in message
    assert final_files(path, "linux/arm64") == ["/arm"]
    assert final_files(path, "linux/arm64/v8") == ["/arm"]
    assert final_files(path, "linux/amd64") == ["/amd"]
    with open_image(path, "linux/amd64") as source:
        assert source.config.architecture == "amd64"
    with pytest.raises(SourceError) as err:
        open_image(path, "linux/s390x")
    assert "s390x" in str(err.value) and "linux/amd64" in str(err.value)


def test_multi_platform_error_through_the_cli(make_image, capsys):
    path = make_image([one("amd"), one("arm", architecture="arm64")], "oci-archive")
    assert main(["layers", path, "--format", "json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("explorer: ")
    assert "linux/amd64" in err and "linux/arm64" in err and "Traceback" not in err
    assert main(["layers", path, "--platform", "linux/arm64", "--format", "json"]) == 0
    assert '"architecture": "arm64"' in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["docker-archive", "docker-archive-legacy"])
def test_multi_image_docker_archive_needs_a_tag(fmt, make_image):
    path = make_image([one("a", tag="first:latest"), one("b", tag="second:v2")], fmt)
    with pytest.raises(SourceError) as err:
        open_image(path)
    assert ":TAG" in str(err.value) and "first:latest" in str(err.value) and "second:v2" in str(err.value)
    assert final_files(f"{path}:v2") == ["/b"]
    assert final_files(f"docker-archive:{path}:v2") == ["/b"]
    assert final_files(f"docker-archive:{path}:latest") == ["/a"]
    with pytest.raises(SourceError) as err:
        open_image(f"docker-archive:{path}:v9")
    assert "v9" in str(err.value) and "second:v2" in str(err.value)


def test_multi_image_docker_archive_full_reference(make_image):
    path = make_image([one("a", tag="first:latest"), one("b", tag="second:v2")], "docker-archive")
    assert final_files(f"docker-archive:{path}:second:v2") == ["/b"]
    assert final_files(f"{path}:second:v2") == ["/b"]


def test_shared_layers_in_a_multi_image_archive_are_stored_once(make_image):
    base = Layer([F("/base", b"shared")], compression="none")
    a = ImageSpec(layers=[base, Layer([F("/a", b"a")])], tag="a:one")
    b = ImageSpec(layers=[base, Layer([F("/b", b"b")])], tag="b:two")
    path = make_image([a, b], "docker-archive")
    with tarfile.open(path) as tar:
        blobs = [m.name for m in tar if m.isfile() and m.name.startswith("blobs/")]
    # 2 configs + 2 manifests + 3 distinct layers
    assert len(blobs) == len(set(blobs)) == 7
    assert final_files(f"{path}:one") == ["/a", "/base"]
    assert final_files(f"{path}:two") == ["/b", "/base"]


def test_bad_inputs_are_one_line_errors(tmp_path, make_image):
    missing = tmp_path / "missing.tar"
    with pytest.raises(SourceError, match="no such file"):
        open_image(str(missing))
    with pytest.raises(SourceError, match="no such file"):
        open_image(f"oci:{tmp_path / 'nope'}")
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(SourceError, match="not a tar"):
        open_image(str(junk))
    gz = tmp_path / "image.tar.gz"
    gz.write_bytes(gzip.compress(open(make_image(one("a")), "rb").read()))
    with pytest.raises(SourceError, match="compressed archive"):
        open_image(str(gz))
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    with pytest.raises(SourceError, match="neither"):
        open_image(str(empty_dir))


def test_extracted_docker_archive_folder(make_image, tmp_path):
    """A `docker save` tar unpacked into a folder still opens (manifest.json at its top)."""
    path = make_image(one("a"), "docker-archive")
    folder = tmp_path / "unpacked"
    with tarfile.open(path) as tar:
        tar.extractall(folder, filter="data")
    with open_image(str(folder)) as source:
        assert source.kind == "docker-archive"
    assert final_files(str(folder)) == ["/a"]


def test_missing_layer_blob(make_image):
    """OCI: the layer is reported missing and the others still read; docker-archive: refused on open."""
    from explorer.layerfs import analyze
    layout = make_image(ImageSpec(layers=[Layer([F("/a", b"a")]), Layer([F("/b", b"b")])]), "oci")
    with open_image(layout) as source:
        blob = source.layers[1].blob
    os.remove(os.path.join(layout, blob))
    with open_image(layout) as source:
        a = analyze(source)
        assert [(p.layer, p.kind) for p in a.problems] == [(1, "missing")]
        assert [e.path for e in a.layers[0].entries] == ["/a"] and a.layers[1].entries == []
        assert a.layers[1].stats.complete is False
    unpacked = make_image(one("a"), "docker-archive")
    folder = os.path.join(os.path.dirname(unpacked), "unpacked-missing")
    with tarfile.open(unpacked) as tar:
        tar.extractall(folder, filter="data")
    with open_image(folder) as source:
        blob = source.layers[0].blob
    os.remove(os.path.join(folder, blob))
    with pytest.raises(SourceError, match="missing"):
        open_image(folder)
