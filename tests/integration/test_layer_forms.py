"""One image, built by a real dockerd, read in every form the reader supports, must give one answer.

The image comes from `contexts/layers/Dockerfile` (add, change content, mode and owner, delete a file
and a folder, recreate a folder, symlink, hard link, ENV, LABEL) plus one hand-made layer with an
opaque whiteout (the vfs builder never writes one). It is then read from the daemon by reference,
from `docker save`, and after skopeo copies to an OCI layout and to oci-archives (zstd, gzip).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from explorer.layerfs import analyze
from explorer.core.model import EntryKind
from explorer.sources import open_image

pytestmark = pytest.mark.docker

CONTEXT = Path(__file__).resolve().parent / "contexts" / "layers"
BUILT = "explorer-it/layers:built"
FINAL = "explorer-it/layers:opaque"
OPAQUE_CREATED_BY = "hand-made: opaque whiteout over /app/work"

BASE_PATHS = {"/bin", "/etc", "/tmp", "/bin/busybox", "/etc/passwd", "/etc/group"}

EXPECTED_CHANGES = {
    # layer: (added, modified, deleted)
    1: ({"/app", "/app/config.txt", "/app/removed.txt", "/app/run.sh", "/app/work", "/app/work/old1.txt",
         "/app/work/old2.txt"}, set(), set()),
    2: (set(), {"/app/config.txt"}, set()),
    3: (set(), {"/app/config.txt", "/app/run.sh"}, set()),
    4: ({"/app/cache", "/app/cache/blob", "/app/cache/note"}, set(), set()),
    5: (set(), set(), {"/app/removed.txt", "/app/cache"}),
    6: ({"/app/work/new.txt"}, set(), {"/app/work/old1.txt", "/app/work/old2.txt"}),
    7: ({"/app/config.link", "/app/tool", "/app/tool.hard", "/app/run.hard"}, set(), set()),
    8: ({"/app/work/again.txt"}, set(), {"/app/work/new.txt"}),
}

CREATED_BY = {
    1: "COPY dir:",
    2: "COPY file:",
    3: "chmod 0700 /app/run.sh && chown 1000:1000 /app/config.txt",
    4: "mkdir /app/cache && dd if=/dev/zero of=/app/cache/blob",
    5: "rm /app/removed.txt && rm -rf /app/cache",
    6: "rm -rf /app/work && mkdir /app/work",
    7: "ln -s config.txt /app/config.link && echo tool > /app/tool && ln /app/tool /app/tool.hard",
    8: OPAQUE_CREATED_BY,
}

CONFIG_V1 = b"mode=v1\nlevel=low\n"
CONFIG_V2 = b"mode=v2\nlevel=high\nextra=yes\n"

FORM_NAMES = ["daemon-transport", "daemon-bare", "docker-save", "docker-save-transport", "oci-layout",
              "oci-layout-from-daemon", "oci-archive-zstd", "oci-archive-gzip", "oci-layout-uncompressed",
              "docker-save-oci-flavoured"]
OCI_LAYER = {"none": "application/vnd.oci.image.layer.v1.tar",
             "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
             "zstd": "application/vnd.oci.image.layer.v1.tar+zstd"}
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
MEDIA_TYPE = {"oci-layout": OCI_LAYER["gzip"], "oci-layout-from-daemon": OCI_LAYER["gzip"],
              "oci-archive-zstd": OCI_LAYER["zstd"], "oci-archive-gzip": OCI_LAYER["gzip"],
              # skopeo 1.9 labels the layers it keeps uncompressed `+gzip`: the reader must sniff
              "oci-layout-uncompressed": OCI_LAYER["gzip"],
              "docker-save-oci-flavoured": OCI_LAYER["none"]}
COMPRESSION = {"oci-layout": "gzip", "oci-layout-from-daemon": "gzip", "oci-archive-zstd": "zstd",
               "oci-archive-gzip": "gzip"}


# -- the image, once per session --------------------------------------------------------------------

@pytest.fixture(scope="session")
def layers_image(build_image, extend_image) -> str:
    built = build_image(CONTEXT, tag=BUILT)
    members = [("app/work", None), ("app/work/.wh..wh..opq", b""), ("app/work/again.txt", b"again\n")]
    return extend_image(built, members, OPAQUE_CREATED_BY, FINAL)


@pytest.fixture(scope="session")
def forms(layers_image, save_image, skopeo_copy, tmp_path_factory) -> dict[str, str]:
    """Every way to name the same image: IMAGE arguments for `open_image` and the CLI."""
    out = tmp_path_factory.mktemp("forms")
    saved = save_image(layers_image, out / "saved.tar")
    skopeo_copy(f"docker-archive:{saved}", f"oci:{out}/layout:v1")
    skopeo_copy(f"docker-daemon:{layers_image}", f"oci:{out}/from-daemon:v1")
    skopeo_copy(f"docker-archive:{saved}", f"oci-archive:{out}/zstd.tar", "--dest-compress-format", "zstd")
    skopeo_copy(f"docker-archive:{saved}", f"oci-archive:{out}/gzip.tar", "--dest-compress-format", "gzip")
    skopeo_copy(f"docker-archive:{saved}", f"oci:{out}/plain:v1", "--dest-oci-accept-uncompressed-layers")
    docker25 = oci_flavoured_docker_archive(out / "plain", out / "docker25.tar", layers_image)
    return {
        "daemon-transport": f"docker-daemon:{layers_image}",
        "daemon-bare": layers_image,
        "docker-save": str(saved),
        "docker-save-transport": f"docker-archive:{saved}",
        "oci-layout": f"oci:{out}/layout:v1",
        "oci-layout-from-daemon": f"oci:{out}/from-daemon",
        "oci-archive-zstd": f"oci-archive:{out}/zstd.tar",
        "oci-archive-gzip": str(out / "gzip.tar"),
        "oci-layout-uncompressed": f"oci:{out}/plain",
        "docker-save-oci-flavoured": str(docker25),
    }


def oci_flavoured_docker_archive(layout: Path, dest: Path, tag: str) -> Path:
    """What `docker save` writes since Docker 25 (the daemon here is older): an OCI layout with
    uncompressed layers labelled `…layer.v1.tar`, plus a manifest.json naming blobs/sha256/… paths."""
    folder = dest.with_suffix(".d")
    shutil.copytree(layout, folder)
    blobs = folder / "blobs" / "sha256"
    index = json.loads((folder / "index.json").read_text())
    manifest = json.loads((blobs / index["manifests"][0]["digest"].split(":", 1)[1]).read_text())
    for layer in manifest["layers"]:
        layer["mediaType"] = OCI_LAYER["none"]
    raw = json.dumps(manifest).encode()
    digest = hashlib.sha256(raw).hexdigest()
    (blobs / digest).write_bytes(raw)
    index["manifests"][0].update(digest=f"sha256:{digest}", size=len(raw))
    (folder / "index.json").write_text(json.dumps(index))
    name = lambda d: "blobs/sha256/" + d["digest"].split(":", 1)[1]  # noqa: E731
    docker_manifest = [{"Config": name(manifest["config"]), "RepoTags": [tag],
                        "Layers": [name(layer) for layer in manifest["layers"]]}]
    (folder / "manifest.json").write_text(json.dumps(docker_manifest))
    with tarfile.open(dest, "w") as tar:
        for item in ("blobs", "oci-layout", "index.json", "manifest.json"):
            tar.add(folder / item, arcname=item)
    return dest


class Collect:
    """A layer visitor that takes every regular file and hard link, as a detector would."""

    def __init__(self, seen: list):
        self.seen = seen

    def wants(self, entry) -> bool:
        return entry.kind in (EntryKind.FILE, EntryKind.HARDLINK)

    def visit(self, entry, data: bytes) -> None:
        self.seen.append((entry.layer, entry.path, entry.kind, entry.digest, hashlib.sha256(data).hexdigest()))


class Read:
    """What one form gave: the source's kind/config/layer refs, the analysis and what a visitor saw."""

    def __init__(self, arg: str):
        self.visited: list[tuple] = []
        with open_image(arg) as source:
            self.kind = source.kind
            self.config = source.config
            self.refs = list(source.layers)
            self.analysis = analyze(source, visitor_for=lambda _ref: Collect(self.visited))
            self.content = {}
            for path in ("/app/config.txt", "/app/work/again.txt"):
                entry = self.analysis.final.get(path)
                self.content[path] = self.analysis.read(entry)
            old = [e for e in self.analysis.history("/app/config.txt") if e.layer == 1]
            self.content["/app/config.txt@1"] = self.analysis.read(old[0]) if old else None


@pytest.fixture(scope="session")
def reads(forms):
    cache: dict[str, Read] = {}

    def get(name: str) -> Read:
        if name not in cache:
            cache[name] = Read(forms[name])
        return cache[name]

    return get


def layer_signature(read: Read) -> list[tuple]:
    return [(r.index, r.stats.diff_id, r.ref.diff_id, r.stats.size, r.stats.entries, r.ref.created_by,
             r.stats.complete) for r in read.analysis.layers]


def change_sets(report) -> tuple[set, set, set]:
    ch = report.changes
    return ({e.path for e in ch.added}, {new.path for _old, new in ch.modified}, {e.path for e in ch.deleted})


def numbers(read: Read) -> tuple:
    a = read.analysis
    return a.total_size, a.final_size, a.wasted_bytes, a.efficiency


# -- the reference form, checked against the Dockerfile ------------------------------------------------

def test_docker_save_matches_the_dockerfile(reads):
    read = reads("docker-save")
    a = read.analysis
    assert a.problems == []
    assert len(a.layers) == 9
    assert read.config.diff_ids == tuple(r.stats.diff_id for r in a.layers)
    base_added, base_modified, base_deleted = change_sets(a.layers[0])
    assert BASE_PATHS <= base_added and "/bin/sh" in base_added
    assert (base_modified, base_deleted) == (set(), set())
    for index, expected in EXPECTED_CHANGES.items():
        assert change_sets(a.layers[index]) == expected, f"layer {index}"
        assert CREATED_BY[index] in a.layers[index].ref.created_by, f"layer {index}"


def test_entry_details_follow_the_dockerfile(reads):
    a = reads("docker-save").analysis
    final = a.final
    config = final.get("/app/config.txt")
    assert (config.layer, config.uid, config.gid, config.mode, config.size) == (3, 1000, 1000, 0o644, len(CONFIG_V2))
    run = final.get("/app/run.sh")
    assert run.mode == 0o700 and run.kind == EntryKind.FILE
    link = final.get("/app/config.link")
    assert (link.kind, link.linkname, link.layer) == (EntryKind.SYMLINK, "config.txt", 7)
    tool, hard = final.get("/app/tool"), final.get("/app/tool.hard")
    assert (hard.kind, hard.linkname, hard.size, hard.layer) == (EntryKind.HARDLINK, "/app/tool", 0, 7)
    assert hard.digest == tool.digest and tool.size == len(b"tool\n")
    # a hard link to a file of a lower layer: the layer tar holds a full copy
    cross = final.get("/app/run.hard")
    assert (cross.kind, cross.size, cross.digest) == (EntryKind.FILE, run.size, run.digest)
    for gone in ("/app/removed.txt", "/app/cache", "/app/cache/blob", "/app/work/old1.txt", "/app/work/new.txt"):
        assert final.get(gone) is None, gone
    assert sorted(e.path for e in final.list("/app/work")) == ["/app/work/again.txt"]
    # what was deleted or replaced still ships, and is known to be hidden
    blob = next(e for e in a.layers[4].entries if e.path == "/app/cache/blob")
    assert blob.size == 8192 and not a.in_final(blob)
    assert a.fates[(4, "/app/cache/blob")].layer == 5
    assert a.fates[(6, "/app/work/new.txt")].layer == 8
    assert a.in_final(config) and a.in_final(final.get("/app/work/again.txt"))
    # the opaque layer holds a real opaque marker
    assert [e.kind for e in a.layers[8].entries if e.path == "/app/work"].count(EntryKind.OPAQUE) == 1


def test_history_config_and_numbers(reads):
    read = reads("docker-save")
    cfg = read.config
    assert "APP_MODE=integration" in cfg.env
    assert ("org.example.purpose", "explorer layer diff test") in cfg.labels
    empty = [h for h in cfg.history if h.empty_layer]
    assert any("ENV APP_MODE=integration" in h.created_by for h in empty)
    assert any("LABEL org.example.purpose" in h.created_by for h in empty)
    assert [h.layer for h in cfg.history if not h.empty_layer] == list(range(9))
    a = read.analysis
    # what the layers hide: config v1 (layer 1) and v2 (layer 2, restated by chown in 3), run.sh of
    # layer 1 (chmod in 3), removed.txt, the cache folder, old1/old2, new.txt
    hidden = (len(CONFIG_V1) + len(CONFIG_V2) + len(b"#!/bin/sh\necho run\n")
              + len(b"this file is deleted in layer 5\n") + 8192 + len(b"note\n")
              + len(b"old one\n") + len(b"old two, longer\n") + len(b"fresh\n"))
    assert a.wasted_bytes == hidden
    assert a.total_size == a.final_size + hidden
    assert a.total_size == sum(r.stats.size for r in a.layers)
    assert 0 < a.efficiency < 1
    assert read.content == {"/app/config.txt": CONFIG_V2, "/app/work/again.txt": b"again\n",
                            "/app/config.txt@1": CONFIG_V1}


# -- every other form gives the same answer ----------------------------------------------------------

@pytest.mark.parametrize("name", FORM_NAMES)
def test_every_form_reads_the_same_image(reads, name):
    ref, read = reads("docker-save"), reads(name)
    assert read.analysis.problems == []
    assert layer_signature(read) == layer_signature(ref)
    assert read.config.diff_ids == ref.config.diff_ids
    assert [(h.created_by, h.empty_layer, h.layer) for h in read.config.history] == \
        [(h.created_by, h.empty_layer, h.layer) for h in ref.config.history]
    assert (read.config.env, read.config.labels) == (ref.config.env, ref.config.labels)
    for mine, theirs in zip(read.analysis.layers, ref.analysis.layers):
        assert mine.entries == theirs.entries, f"layer {mine.index} entries"
        assert change_sets(mine) == change_sets(theirs), f"layer {mine.index} changes"
    assert numbers(read) == numbers(ref)
    assert sorted(read.analysis.final.entries) == sorted(ref.analysis.final.entries)
    assert read.content == ref.content
    assert read.visited == ref.visited


def test_visitor_gets_every_file_once_with_its_content(reads):
    read = reads("docker-save")
    files = [(e.layer, e.path) for e in read.analysis.entries() if e.kind == EntryKind.FILE]
    assert sorted((layer, path) for layer, path, kind, _d, _h in read.visited if kind == EntryKind.FILE) == sorted(files)
    for layer, path, kind, digest, content_hash in read.visited:
        if kind == EntryKind.FILE:
            assert digest == content_hash, (layer, path)
    blob = [v for v in read.visited if v[1] == "/app/cache/blob"]
    assert blob and blob[0][4] == hashlib.sha256(bytes(8192)).hexdigest()


@pytest.mark.parametrize("name", FORM_NAMES)
def test_blobs_as_stored(forms, reads, name):
    read = reads(name)
    compression = COMPRESSION.get(name, "none")
    for ref, report in zip(read.refs, read.analysis.layers):
        stats = report.stats
        assert stats.compression == compression
        if compression == "none":
            assert stats.digest == stats.diff_id
            assert ref.digest in (None, stats.digest)
        else:
            assert stats.digest != stats.diff_id
            assert stats.digest == ref.digest
            assert stats.compressed_size == ref.compressed_size < stats.size + 10240 * stats.entries
    # Docker >= 25 saves OCI-flavoured archives (uncompressed OCI layers); older daemons the legacy form
    with tarfile.open(forms["docker-save"]) as saved:
        saved_media = OCI_LAYER["none"] if "index.json" in saved.getnames() else DOCKER_LAYER
    assert {r.media_type for r in read.refs} == {MEDIA_TYPE.get(name, saved_media)}
    expected_kind = {"daemon-transport": "docker-daemon", "daemon-bare": "docker-daemon",
                     "docker-save": "docker-archive", "docker-save-transport": "docker-archive",
                     "docker-save-oci-flavoured": "docker-archive", "oci-layout": "oci",
                     "oci-layout-from-daemon": "oci", "oci-layout-uncompressed": "oci"}.get(name, "oci-archive")
    assert read.kind == expected_kind


def test_compressed_forms_differ_only_in_blob_digests(reads):
    zstd, gzip = reads("oci-archive-zstd"), reads("oci-archive-gzip")
    for a, b in zip(zstd.analysis.layers, gzip.analysis.layers):
        assert a.stats.diff_id == b.stats.diff_id
        assert a.stats.digest != b.stats.digest


def test_daemon_image_as_built_by_the_dockerfile(layers_image, reads):
    with open_image(BUILT) as source:
        a = analyze(source)
    full = reads("docker-save").analysis
    assert len(a.layers) == 8
    for mine, theirs in zip(a.layers, full.layers):
        assert mine.entries == theirs.entries
        assert change_sets(mine) == change_sets(theirs)
    assert sorted(e.path for e in a.final.list("/app/work")) == ["/app/work/new.txt"]


# -- the command line -------------------------------------------------------------------------------

def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "explorer", *args], capture_output=True, text=True,
                          timeout=300, env=env or dict(os.environ))


@pytest.mark.parametrize("name", ["daemon-bare", "oci-archive-zstd"])
def test_cli_layers_json(forms, reads, name):
    done = run_cli("layers", forms[name], "--format", "json")
    assert done.returncode == 0, done.stderr
    # a bare reference says where it was read from (the daemon has it; else it would be the registry)
    assert done.stderr == (f"explorer: {forms[name]}: from the Docker daemon\n" if name == "daemon-bare" else "")
    doc = json.loads(done.stdout)
    a = reads(name).analysis
    assert (doc["total_size"], doc["final_size"], doc["wasted_bytes"]) == numbers(reads("docker-save"))[:3]
    assert doc["efficiency"] == pytest.approx(a.efficiency, abs=1e-9)
    assert doc["image"]["reference"] == forms[name]
    assert "APP_MODE" in doc["image"]["env_names"]
    assert [layer["index"] for layer in doc["layers"]] == list(range(9))
    for layer, report in zip(doc["layers"], a.layers):
        added, modified, deleted = (len(s) for s in change_sets(report))
        assert (layer["diff_id"], layer["size"], layer["entries"], layer["created_by"]) == \
            (report.stats.diff_id, report.stats.size, report.stats.entries, report.ref.created_by)
        assert (layer["added"], layer["modified"], layer["deleted"]) == (added, modified, deleted)
    assert doc["layers"][5]["deleted"] == 2 and doc["layers"][8]["added"] == 1


def test_cli_tree_changes_of_the_opaque_layer(forms):
    done = run_cli("tree", forms["oci-archive-zstd"], "--layer", "8", "--changes", "--format", "json")
    assert done.returncode == 0, done.stderr
    rows = {(row["change"], row["path"]) for row in json.loads(done.stdout)}
    assert rows == {("A", "/app/work/again.txt"), ("D", "/app/work/new.txt")}


def test_cli_missing_reference_through_the_daemon(docker_daemon):
    done = run_cli("layers", "docker-daemon:explorer-it/no-such-image:nope", "--format", "json")
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("explorer: ") and "explorer-it/no-such-image:nope" in lines[0]
    assert "Traceback" not in done.stderr


def test_cli_unreachable_daemon(docker_daemon, tmp_path):
    env = dict(os.environ, DOCKER_HOST=f"unix://{tmp_path}/nothing.sock")
    done = run_cli("layers", "docker-daemon:explorer-it/layers:opaque", env=env)  # bare: the registry next
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "Docker daemon" in lines[0], done.stderr


def test_cli_daemon_export_progress(docker_daemon, busybox_base):
    """`--progress plain`: the export from the daemon says so on stderr (then one line per layer read)."""
    done = run_cli("--progress", "plain", "layers", f"docker-daemon:{busybox_base}", "--format", "json")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    exported = [line for line in lines if line.startswith("explorer: export")]
    assert exported == [line for line in lines if "Docker daemon" in line] and len(exported) >= 1
    assert exported[-1].startswith(f"explorer: exported {busybox_base} from the Docker daemon: ")
    assert int(exported[-1].rsplit(": ", 1)[1].split()[0]) > sum(layer["size"] for layer in
                                                                json.loads(done.stdout)["layers"])
    others = [line for line in lines if line not in exported]
    assert len(others) == 1 and others[0].startswith("explorer: layer 0: ") and others[0].endswith(" bytes read")
    quiet = run_cli("layers", f"docker-daemon:{busybox_base}", "--format", "json")
    assert quiet.returncode == 0 and quiet.stderr == ""
