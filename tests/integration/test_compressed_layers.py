"""Compressed layer streams Docker's engine loads, and ones it refuses, against explorer.

Each variant of tests/hostile/corpus.py's STREAM_VARIANTS (gzip headers with every flag, several
members, trailing bytes, bzip2, xz and zstd forms) is one layer holding a miner config. The real
dockerd loads the image (or refuses it); where it loads, a container of it is exported and
explorer must show and extract the same files with the same bytes; where it refuses, explorer
reports the layer damaged (exit status 2), never a traceback. (Not the zstd variants: the engine
here, Docker 20.10, reads no zstd layer at all.)
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hostile"))

from corpus import MINER, STREAM_VARIANTS, stream_variant, write  # noqa: E402
from hostile_images import TRACEBACK, run_inprocess  # noqa: E402

pytestmark = pytest.mark.docker


def _docker_files(client, tag: str) -> dict[str, bytes]:
    """Regular files of a container of `tag`, as `docker export` writes them."""
    container = client.containers.create(tag, command=["/none"])
    try:
        data = b"".join(container.export())
    finally:
        container.remove(force=True)
    files = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for info in tar:
            if info.isreg() and not info.name.startswith((".dockerenv", "dev/", "etc/hostname", "etc/hosts",
                                                           "etc/resolv.conf")):
                files["/" + info.name] = tar.extractfile(info).read()
    return files


@pytest.mark.parametrize("name", sorted(n for n in STREAM_VARIANTS if not n.startswith("zstd")))
def test_explorer_reads_what_docker_loads(name, docker_client, tmp_path):
    layer = stream_variant(name)
    image = write(tmp_path, [layer])
    tag = f"explorer-it/stream:{name}"
    manifest = image  # a docker-archive whose RepoTags is hostile:latest; retag on load
    try:
        with open(manifest, "rb") as fh:
            loaded = docker_client.images.load(fh.read())
        docker_loads = True
    except Exception as exc:  # noqa: BLE001 - docker.errors.APIError or ImageLoadError
        docker_loads, loaded = False, []
        reason = str(exc)
    assert docker_loads == STREAM_VARIANTS[name][1], (name, docker_loads, "" if docker_loads else reason)
    rc, out, err = run_inprocess("tree", image, "--format", "json")
    assert TRACEBACK not in err
    if not docker_loads:
        assert rc == 2, err
        assert "layer 0" in err
        return
    assert rc == 0, err
    loaded[0].tag(tag)
    theirs = _docker_files(docker_client, tag)
    assert theirs["/etc/xmrig.json"] == MINER
    dest = tmp_path / "out"
    rc, out, err = run_inprocess("extract", image, "/", "-o", str(dest))
    assert rc == 0 and TRACEBACK not in err, err
    ours = {"/" + str(p.relative_to(dest)): p.read_bytes() for p in dest.rglob("*") if p.is_file()}
    assert ours == theirs
    rc, out, err = run_inprocess("scan", image, "--format", "json")
    assert TRACEBACK not in err
    assert any(f["path"] == "/etc/xmrig.json" for f in json.loads(out)["findings"]), "the miner is seen"
