"""Every source keeps the raw JSON documents it read (for the config view): manifest, config, index."""

from __future__ import annotations

import hashlib
import json

import pytest

from explorer.demo.imagewriter import Entry, ImageSpec, Layer, write_image
from explorer.sources import open_image


@pytest.mark.parametrize("fmt, suffix, expected", [
    ("docker-archive", ".tar", {"manifest", "config", "index"}),
    ("docker-archive-legacy", ".tar", {"manifest", "config"}),
    ("oci", "", {"manifest", "config", "index"}),
    ("oci-archive", ".tar", {"manifest", "config", "index"}),
])
def test_sources_keep_their_raw_json_documents(tmp_path, fmt, suffix, expected):
    spec = ImageSpec(layers=[Layer([Entry.file("/a", b"x")], created_by="COPY a /")], env=["A=1"])
    with open_image(write_image(spec, str(tmp_path / f"image{suffix}"), format=fmt)) as source:
        assert set(source.documents) == expected
        config = json.loads(source.documents["config"])
        assert config["config"]["Env"] == ["A=1"]
        assert source.config.id == "sha256:" + hashlib.sha256(source.documents["config"]).hexdigest()
        manifest = json.loads(source.documents["manifest"])
        assert manifest  # a list (docker-archive) or an object (OCI)
