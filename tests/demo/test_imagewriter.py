"""The test image writer itself: real digests, deterministic bytes, the layouts other tools expect."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from explorer.demo.imagewriter import FORMATS, Entry, ImageSpec, Layer, build_layer, compress, layer_tar, write_image

F = Entry.file


def spec(compression: str = "gzip") -> ImageSpec:
    return ImageSpec(
        layers=[Layer([Entry.dir("/etc"), F("/etc/passwd", b"root:x:0:0\n"), Entry.symlink("/etc/mtab", "/proc/mounts")],
                      created_by="ADD rootfs /", compression=compression),
                Layer([Entry.whiteout("/etc/passwd"), Entry.opaque("/var/cache")], created_by="RUN rm",
                      compression=compression)],
        env=["PATH=/bin", "API_KEY=x"], user="1000", entrypoint=["/entry"], cmd=["serve"],
        labels={"maintainer": "me"}, volumes=["/data"], exposed_ports=["8080/tcp"], working_dir="/srv",
        extra_history=[(2, "CMD [\"serve\"]")], tag="example/app:1.2",
    )


def members(path: str) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}


def test_layer_members_are_written_as_declared():
    data = layer_tar(spec("none").layers[0].entries + spec("none").layers[1].entries)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        got = [(m.name, m.type, m.linkname, m.mtime) for m in tar]
    assert got == [("etc", tarfile.DIRTYPE, "", 1_700_000_000), ("etc/passwd", tarfile.REGTYPE, "", 1_700_000_000),
                   ("etc/mtab", tarfile.SYMTYPE, "/proc/mounts", 1_700_000_000),
                   ("etc/.wh.passwd", tarfile.REGTYPE, "", 1_700_000_000),
                   ("var/cache/.wh..wh..opq", tarfile.REGTYPE, "", 1_700_000_000)]


@pytest.mark.parametrize("fmt", ["docker-archive", "docker-archive-legacy", "oci-archive"])
def test_output_is_deterministic(fmt, tmp_path):
    one = write_image(spec(), tmp_path / "one.tar", fmt)
    two = write_image(spec(), tmp_path / "two.tar", fmt)
    assert Path(one).read_bytes() == Path(two).read_bytes()
    with tarfile.open(one) as tar:
        names = tar.getnames()
        assert names == sorted(names)
        assert {m.mtime for m in tar} == {1_700_000_000}


def test_docker_archive_layout(tmp_path):
    files = members(write_image(spec("zstd"), tmp_path / "img.tar", "docker-archive"))
    for name, data in files.items():
        if name.startswith("blobs/sha256/"):
            assert hashlib.sha256(data).hexdigest() == name.rsplit("/", 1)[1]
    manifest = json.loads(files["manifest.json"])
    assert manifest[0]["RepoTags"] == ["example/app:1.2"]
    assert manifest[0]["Config"] in files and all(n in files for n in manifest[0]["Layers"])
    index = json.loads(files["index.json"])
    annotations = index["manifests"][0]["annotations"]
    assert annotations == {"io.containerd.image.name": "example/app:1.2", "org.opencontainers.image.ref.name": "1.2"}
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    assert list(json.loads(files["repositories"])) == ["example/app"]
    config = json.loads(files[manifest[0]["Config"]])
    assert config["config"] == {"Env": ["PATH=/bin", "API_KEY=x"], "User": "1000", "Entrypoint": ["/entry"],
                                "Cmd": ["serve"], "Labels": {"maintainer": "me"}, "Volumes": {"/data": {}},
                                "ExposedPorts": {"8080/tcp": {}}, "WorkingDir": "/srv"}
    assert [h.get("empty_layer", False) for h in config["history"]] == [False, False, True]
    oci_manifest = json.loads(files["blobs/sha256/" + index["manifests"][0]["digest"][7:]])
    assert [d["mediaType"] for d in oci_manifest["layers"]] == ["application/vnd.oci.image.layer.v1.tar+zstd"] * 2
    assert config["rootfs"]["diff_ids"] == [
        "sha256:" + hashlib.sha256(layer_tar(layer.entries)).hexdigest() for layer in spec().layers]


def test_legacy_docker_archive_layout(tmp_path):
    files = members(write_image(spec("none"), tmp_path / "img.tar", "docker-archive-legacy"))
    manifest = json.loads(files["manifest.json"])
    layers = manifest[0]["Layers"]
    assert all(name.endswith("/layer.tar") for name in layers) and len(layers) == 2
    assert manifest[0]["Config"].endswith(".json") and "/" not in manifest[0]["Config"]
    assert hashlib.sha256(files[manifest[0]["Config"]]).hexdigest() + ".json" == manifest[0]["Config"]
    second = json.loads(files[layers[1].replace("layer.tar", "json")])
    assert second["parent"] == layers[0].split("/")[0]
    assert not any(name.startswith("blobs/") for name in files) and "index.json" not in files


def test_oci_layout_folder_and_archive_hold_the_same_files(tmp_path):
    folder = Path(write_image(spec(), tmp_path / "layout", "oci"))
    archive = members(write_image(spec(), tmp_path / "layout.tar", "oci-archive"))
    on_disk = {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert on_disk == archive
    assert set(archive) >= {"oci-layout", "index.json"}


def test_corruption_hooks_change_only_what_they_say(tmp_path):
    good = build_layer(Layer([F("/a", b"a" * 1000)]))
    bad_digest = build_layer(Layer([F("/a", b"a" * 1000)], wrong_digest=True))
    bad_diff = build_layer(Layer([F("/a", b"a" * 1000)], wrong_diff_id=True))
    cut = build_layer(Layer([F("/a", b"a" * 1000)], truncate=10))
    assert good.digest == good.true_digest and good.diff_id == good.true_diff_id
    assert bad_digest.digest != good.digest and bad_digest.stored == good.stored and bad_digest.diff_id == good.diff_id
    assert bad_diff.diff_id != good.diff_id and bad_diff.digest == good.digest
    assert cut.stored == good.stored[:10] and cut.digest == good.digest and cut.size == len(good.stored)


def test_bad_arguments():
    with pytest.raises(ValueError):
        write_image(spec(), "/nonexistent/x.tar", "tarball")
    with pytest.raises(ValueError):
        write_image([], "/nonexistent/x.tar")
    assert len(layer_tar([])) % 512 == 0  # an empty layer is fine, an unknown compression is not
    with pytest.raises(ValueError):
        compress(b"", "lz4")


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed")
@pytest.mark.parametrize("fmt", FORMATS)
def test_skopeo_accepts_every_format(fmt, tmp_path):
    path = write_image(spec(), tmp_path / ("layout" if fmt == "oci" else "img.tar"), fmt)
    transport = {"docker-archive": "docker-archive", "docker-archive-legacy": "docker-archive",
                 "oci": "oci", "oci-archive": "oci-archive"}[fmt]
    proc = subprocess.run(["skopeo", "inspect", "--config", f"{transport}:{path}"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    config = json.loads(proc.stdout)
    assert config["config"]["Cmd"] == ["serve"] and len(config["rootfs"]["diff_ids"]) == 2
