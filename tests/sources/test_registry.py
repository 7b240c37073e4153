"""Images read straight from a registry (docker://REF, registry:REF, a bare reference the daemon
lacks): real `docker-registry` processes on loopback, images pushed with skopeo, a fault-injecting
proxy in front. No daemon is reachable here (DOCKER_HOST names a missing socket)."""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys
import time

import pytest

from explorer.main import main
from explorer.demo import write_demo
from explorer.demo.imagewriter import Entry, ImageSpec, Layer, write_image
from explorer.sources.platforms import host_platform
from registrykit import (BlobHost, FaultProxy, TokenServer, free_port, htpasswd, make_tls, manifest_digest, push,
                         start_registry)

USER, PASSWORD = "responder", "s3cret-pw"


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{tool} is not installed (.ci/setup installs it)", pytrace=False)
        pytest.skip(f"{tool} is not installed")


@pytest.fixture(autouse=True)
def _no_daemon(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "EXPLORER_REGISTRY_USERNAME",
                 "EXPLORER_REGISTRY_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def demo_tar(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    return write_demo(str(folder))


@pytest.fixture(scope="module")
def registry(tmp_path_factory, demo_tar):
    """A plain-HTTP registry on loopback holding the demo image (the docker-archive pushed as is:
    gzip layers, a Docker schema2 manifest)."""
    _need("docker-registry")
    _need("skopeo")
    reg = start_registry(tmp_path_factory.mktemp("registry"))
    try:
        push(f"docker-archive:{demo_tar}", f"{reg.host}/demo/app:1")
        yield reg
    finally:
        reg.stop()


@pytest.fixture(scope="module")
def zstd_registry(tmp_path_factory, demo_tar):
    """Another one holding the demo image as OCI with zstd layers (in a registry of its own: skopeo
    reuses blobs a registry already has in another compression)."""
    _need("docker-registry")
    _need("skopeo")
    reg = start_registry(tmp_path_factory.mktemp("zstd-registry"))
    try:
        push(f"docker-archive:{demo_tar}", f"{reg.host}/demo/zstd:1", "--format", "oci", "--dest-compress",
             "--dest-compress-format", "zstd")
        yield reg
    finally:
        reg.stop()


@pytest.fixture
def proxy(registry):
    p = FaultProxy(registry.port)
    yield p
    p.stop()


def run(capsys, *argv, stdin: str | None = None, monkeypatch=None) -> tuple[int, dict | None, str]:
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    try:
        doc = json.loads(out)
    except ValueError:
        doc = None
    return code, doc, err


def comparable(doc: dict) -> dict:
    """A scan report without what names where the bytes came from (reference, stored blobs)."""
    doc = json.loads(json.dumps(doc))
    doc["image"].pop("reference")
    for layer in doc["layers"]:
        for key in ("digest", "media_type", "compressed_size"):
            layer.pop(key)
    return doc


def archive_scan(capsys, demo_tar) -> dict:
    code, doc, _ = run(capsys, "scan", f"docker-archive:{demo_tar}", "--format", "json", "--no-cache")
    assert code == 0
    return doc


# -- reading, in every form ---------------------------------------------------------------------

@pytest.mark.parametrize("repo", ["demo/app:1", "demo/zstd:1"])
def test_registry_scan_equals_docker_archive_scan(capsys, request, demo_tar, repo):
    registry = request.getfixturevalue("zstd_registry" if "zstd" in repo else "registry")
    want = archive_scan(capsys, demo_tar)
    code, doc, err = run(capsys, "scan", f"docker://{registry.host}/{repo}", "--format", "json", "--no-cache")
    assert (code, err) == (0, "")
    assert doc["image"]["reference"] == f"docker://{registry.host}/{repo}"
    media_types = {layer["media_type"] for layer in doc["layers"]}
    assert media_types == ({"application/vnd.oci.image.layer.v1.tar+zstd"} if "zstd" in repo
                           else {"application/vnd.docker.image.rootfs.diff.tar.gzip"})
    assert len(doc["findings"]) == len(want["findings"]) >= 10
    doc, want = comparable(doc), comparable(want)
    if "zstd" in repo:  # skopeo rewrote the config as an OCI one: another image id, the same image
        assert doc["image"].pop("id") != want["image"].pop("id")
    assert doc == want


def test_registry_alias_and_bare_reference_without_daemon(capsys, registry, demo_tar):
    want = comparable(archive_scan(capsys, demo_tar))
    code, doc, err = run(capsys, "scan", f"registry:{registry.host}/demo/app:1", "--format", "json", "--no-cache")
    assert (code, err, comparable(doc)) == (0, "", want)
    code, doc, err = run(capsys, "scan", f"{registry.host}/demo/app:1", "--format", "json", "--no-cache")
    assert code == 0 and comparable(doc) == want
    assert "not in the Docker daemon (unreachable at unix://" in err
    assert f"from the registry {registry.host}" in err


def test_digest_reference_is_pinned_and_checked(capsys, registry, proxy, demo_tar):
    digest = manifest_digest(registry.host, "demo/app:1")
    code, doc, err = run(capsys, "scan", f"docker://{registry.host}/demo/app@{digest}", "--format", "json",
                         "--no-cache")
    assert code == 0 and comparable(doc) == comparable(archive_scan(capsys, demo_tar))
    # the same request through a proxy that serves another manifest body for it
    other = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                        "config": {}, "layers": []}).encode()
    proxy.faults.manifest_body = other
    code, doc, err = run(capsys, "scan", f"docker://{proxy.host}/demo/app@{digest}", "--no-cache")
    assert code == 2 and doc is None
    assert err.count("\n") == 1 and f"not {digest} (tampered or damaged)" in err


def test_multi_platform_index_takes_platform(capsys, registry, tmp_path):
    specs = [ImageSpec(layers=[Layer([Entry.file("/arch", arch.encode())], created_by=f"ADD {arch}")],
                       architecture=arch, tag="multi:1") for arch in ("amd64", "arm64")]
    layout = write_image(specs, str(tmp_path / "layout"), format="oci", nest_index=True)
    push(f"oci:{layout}", f"{registry.host}/multi/app:1", "--all")
    code, doc, err = run(capsys, "layers", f"docker://{registry.host}/multi/app:1", "--platform", "linux/arm64",
                         "--format", "json", "--no-cache")
    assert code == 0 and doc["image"]["architecture"] == "arm64"
    code, doc, err = run(capsys, "layers", f"docker://{registry.host}/multi/app:1", "--format", "json", "--no-cache")
    host = host_platform().split("/")[1]
    assert host in ("amd64", "arm64")  # the machines this runs on
    assert code == 0 and doc["image"]["architecture"] == host  # the default: this machine's, as docker pulls


def test_index_without_the_host_platform_names_it(capsys, registry, tmp_path):
    others = [a for a in ("s390x", "ppc64le", "riscv64") if a != host_platform().split("/")[1]][:2]
    specs = [ImageSpec(layers=[Layer([Entry.file("/arch", arch.encode())], created_by=f"ADD {arch}")],
                       architecture=arch, tag="other:1") for arch in others]
    layout = write_image(specs, str(tmp_path / "layout"), format="oci", nest_index=True)
    push(f"oci:{layout}", f"{registry.host}/multi/other:1", "--all")
    code, doc, err = run(capsys, "layers", f"docker://{registry.host}/multi/other:1", "--no-cache")
    assert code == 2 and f"no image for platform {host_platform()}" in err
    assert all(f"linux/{a}" in err for a in others) and "--platform" in err and err.count("\n") == 1
    code, doc, err = run(capsys, "layers", f"docker://{registry.host}/multi/other:1", "--platform",
                         f"linux/{others[1]}", "--format", "json", "--no-cache")
    assert code == 0 and doc["image"]["architecture"] == others[1]


@pytest.mark.parametrize("machine, platform", [("x86_64", "linux/amd64"), ("aarch64", "linux/arm64"),
                                               ("armv7l", "linux/arm/v7"), ("i686", "linux/386"),
                                               ("ppc64le", "linux/ppc64le")])
def test_host_platform_in_go_names(machine, platform):
    assert host_platform(machine) == platform


# -- bad input ----------------------------------------------------------------------------------

def test_missing_tag_and_repository_are_named(capsys, registry):
    code, _, err = run(capsys, "scan", f"docker://{registry.host}/demo/app:nope")
    assert code == 2 and err == (f"explorer: {registry.host}/demo/app: tag 'nope' not found "
                                 "(no such repository, tag or digest)\n")
    code, _, err = run(capsys, "scan", f"docker://{registry.host}/no/such:1")
    assert code == 2 and f"{registry.host}/no/such: tag '1' not found" in err


@pytest.mark.parametrize("status, message", [
    (403, "demo/app: access denied to tag '1' (as anonymous)"),
    (500, "demo/app: the registry answered HTTP 500 for tag '1'"),
])
def test_refusals_are_one_line(capsys, proxy, status, message):
    proxy.faults.manifest_status = status
    code, _, err = run(capsys, "scan", f"docker://{proxy.host}/demo/app:1", "--no-cache")
    assert code == 2 and err == f"explorer: {proxy.host}/{message}\n"
    manifest_gets = [s for s in proxy.seen if "/manifests/" in s.path]
    assert len(manifest_gets) == (5 if status == 500 else 1)  # a 5xx is tried again, with backoff


@pytest.mark.parametrize("text, host, repository, tag, digest", [
    ("alpine", "docker.io", "library/alpine", "latest", None),
    ("alpine:3.19", "docker.io", "library/alpine", "3.19", None),
    ("bitnami/redis:7", "docker.io", "bitnami/redis", "7", None),
    ("localhost/app", "localhost", "app", "latest", None),
    ("127.0.0.1:5000/a/b/c:v1.2", "127.0.0.1:5000", "a/b/c", "v1.2", None),
    ("ghcr.io/o/r@sha256:" + "0" * 64, "ghcr.io", "o/r", None, "sha256:" + "0" * 64),
    ("ghcr.io/o/r:t@sha256:" + "0" * 64, "ghcr.io", "o/r", "t", "sha256:" + "0" * 64),
])
def test_references_are_normalised_as_docker_does(text, host, repository, tag, digest):
    from explorer.sources.registry import parse_reference
    ref = parse_reference(text)
    assert (ref.host, ref.repository, ref.tag, ref.digest) == (host, repository, tag, digest)


@pytest.mark.parametrize("text, message", [
    ("ghcr.io/o/r@sha256:abc", "invalid digest"),
    ("ghcr.io/O/R:1", "not a valid image reference"),
    ("ghcr.io/o/r:-bad", "invalid tag"),
])
def test_bad_references(capsys, text, message):
    code, _, err = run(capsys, "layers", f"docker://{text}")
    assert code == 2 and err.count("\n") == 1 and message in err


def test_refused_connection_is_one_line(capsys):
    port = free_port()
    code, _, err = run(capsys, "scan", f"docker://127.0.0.1:{port}/x/y:1")
    assert code == 2 and err == f"explorer: 127.0.0.1:{port}: connection refused (no registry listening there)\n"


@pytest.mark.parametrize("body, media, message", [
    (b"{" + b" " * (5 << 20) + b"}", "application/vnd.oci.image.manifest.v1+json", "larger than 4194304 bytes"),
    (json.dumps({"schemaVersion": 2, "mediaType": "application/x-unknown"}).encode(), "application/x-unknown",
     "unknown manifest media type 'application/x-unknown'"),
    (json.dumps({"schemaVersion": 1, "name": "demo/app", "fsLayers": []}).encode(),
     "application/vnd.docker.distribution.manifest.v1+prettyjws", "Docker schema 1 manifest, not supported"),
    (json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                 "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2,
                            "digest": "sha256:" + "a" * 64},
                 "layers": [{"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                             "size": 10, "digest": "sha256:" + "b" * 64, "urls": ["https://example.com/x"]}]}
                ).encode(), "application/vnd.docker.distribution.manifest.v2+json", "foreign (non-distributable)"),
], ids=["too-large", "unknown-media-type", "schema-1", "foreign-layer"])
# short ids: pytest puts the test's id in PYTEST_CURRENT_TEST, and a 5 MiB one made the environment too big
# for the fixture's `skopeo` push whenever this test was the first to ask for the registry (E2BIG)
def test_bad_manifests(capsys, proxy, body, media, message):
    proxy.faults.manifest_body, proxy.faults.manifest_type = body, media
    code, doc, err = run(capsys, "scan", f"docker://{proxy.host}/demo/app:1", "--no-cache")
    assert code == 2 and doc is None and err.count("\n") == 1 and message in err, err


# -- faults on the way --------------------------------------------------------------------------

def test_dropped_connection_resumes_with_range(capsys, registry, proxy, demo_tar):
    proxy.faults.drop_blob = 2
    code, doc, err = run(capsys, "scan", f"docker://{proxy.host}/demo/app:1", "--format", "json", "--no-cache")
    assert (code, err) == (0, "")
    assert comparable(doc) == comparable(archive_scan(capsys, demo_tar))
    resumed = [s for s in proxy.blob_gets() if s.range]
    assert len(resumed) == 2 and all(s.status == 206 and s.range.startswith("bytes=") for s in resumed)
    assert all(int(s.range[6:].rstrip("-")) > 0 for s in resumed)


def test_429_and_503_are_retried(capsys, registry, proxy, demo_tar):
    proxy.faults.statuses = [429, 503, 503]
    code, doc, err = run(capsys, "scan", f"docker://{proxy.host}/demo/app:1", "--format", "json", "--no-cache")
    assert (code, err) == (0, "")
    assert comparable(doc) == comparable(archive_scan(capsys, demo_tar))
    assert [s.status for s in proxy.seen[:3]] == [429, 503, 503]


def test_corrupted_blob_is_an_integrity_finding(capsys, registry, proxy):
    """A changed byte inside a gzip layer's deflate data breaks its stream; in its header's MTIME
    field (which no decompressor reads) it changes only the digest. Both are integrity findings on
    that layer, and exit 2."""
    code, doc, _ = run(capsys, "scan", f"docker://{registry.host}/demo/app:1", "--format", "json", "--no-cache")
    proxy.faults.corrupt_blob = {doc["layers"][3]["digest"]: 100, doc["layers"][0]["digest"]: 4}
    code, doc, err = run(capsys, "scan", f"docker://{proxy.host}/demo/app:1", "--format", "json", "--no-cache")
    assert code == 2
    integrity = {(f["rule_id"], f["layer"]) for f in doc["findings"] if f["category"] == "integrity"}
    assert integrity == {("integrity.truncated-layer", 3), ("integrity.digest-mismatch", 0)}, err
    assert "warning: layer 0" in err and "warning: layer 3" in err, err


def test_redirect_to_blob_storage_drops_authorization(capsys, monkeypatch, tmp_path, demo_tar):
    """Token auth: the registry's blob GETs are redirected to a second loopback host, which must
    not see the registry's bearer token."""
    _need("docker-registry")
    tokens = TokenServer(tmp_path / "token", {USER: PASSWORD})
    reg = start_registry(tmp_path / "reg", token=tokens.registry_config())
    proxy, storage = FaultProxy(reg.port), None
    try:
        push(f"docker-archive:{demo_tar}", f"{reg.host}/demo/app:1", f"--dest-creds={USER}:{PASSWORD}")
        storage = BlobHost(reg)
        proxy.faults.redirect_blobs = storage.base
        tokens.requests.clear()
        code, doc, err = run(capsys, "scan", f"docker://{proxy.host}/demo/app:1", "--format", "json",
                             "--no-cache", "--username", USER, "--password-stdin",
                             stdin=PASSWORD + "\n", monkeypatch=monkeypatch)
        assert (code, err) == (0, ""), err
        assert comparable(doc) == comparable(archive_scan(capsys, demo_tar))
        assert len(storage.seen) == 1 + len(doc["layers"])  # the config and every layer
        assert not any(s.authorization for s in storage.seen)
        assert all(s.authorization for s in proxy.seen if "/manifests/" in s.path)
        assert tokens.requests and all(r["user"] == USER for r in tokens.requests)
        assert tokens.requests[0]["query"]["scope"] == "repository:demo/app:pull"
    finally:
        for part in (proxy, storage, tokens):
            if part is not None:
                part.stop()
        reg.stop()


def test_token_refetched_after_401(capsys, tmp_path, demo_tar, monkeypatch):
    _need("docker-registry")
    tokens = TokenServer(tmp_path / "token", {USER: PASSWORD})
    reg = start_registry(tmp_path / "reg", token=tokens.registry_config())
    try:
        push(f"docker-archive:{demo_tar}", f"{reg.host}/demo/app:1", f"--dest-creds={USER}:{PASSWORD}")
        monkeypatch.setenv("EXPLORER_REGISTRY_USERNAME", USER)
        monkeypatch.setenv("EXPLORER_REGISTRY_PASSWORD", PASSWORD)
        tokens.requests.clear()
        tokens.spoil_next = 1
        code, doc, err = run(capsys, "layers", f"docker://{reg.host}/demo/app:1", "--format", "json", "--no-cache")
        assert (code, err) == (0, "") and len(doc["layers"]) == 6
        assert len(tokens.requests) == 2
        monkeypatch.delenv("EXPLORER_REGISTRY_PASSWORD")
        code, _, err = run(capsys, "layers", f"docker://{reg.host}/demo/app:1", "--no-cache")
        assert code == 2 and "authentication required for tag '1' (tried: anonymous" in err
        assert "--password-stdin" in err
        # an identity token (what `docker login` keeps for an OAuth2 registry) is traded for a token
        tokens.refresh_tokens["refresh-me"] = USER
        monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
        (tmp_path / "docker").mkdir()
        (tmp_path / "docker" / "config.json").write_text(json.dumps({"auths": {reg.host: {"identitytoken":
                                                                                            "refresh-me"}}}))
        tokens.requests.clear()
        code, doc, err = run(capsys, "layers", f"docker://{reg.host}/demo/app:1", "--format", "json", "--no-cache")
        assert (code, err) == (0, "") and len(doc["layers"]) == 6
        assert [(r.get("method"), r["user"], r["query"]["grant_type"]) for r in tokens.requests] == [
            ("POST", USER, "refresh_token")]
    finally:
        tokens.stop()
        reg.stop()


# -- TLS and Basic auth -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tls_registry(tmp_path_factory, demo_tar):
    _need("docker-registry")
    folder = tmp_path_factory.mktemp("tls")
    tls = make_tls(folder / "tls")
    reg = start_registry(folder / "reg", tls=tls, htpasswd=htpasswd(folder / "htpasswd", {USER: PASSWORD}))
    try:
        push(f"docker-archive:{demo_tar}", f"{reg.host}/demo/app:1", f"--dest-cert-dir={tls.folder}",
             f"--dest-creds={USER}:{PASSWORD}")
        yield reg, tls
    finally:
        reg.stop()


def test_basic_auth_over_tls(capsys, monkeypatch, tls_registry, demo_tar):
    reg, tls = tls_registry
    ref = f"docker://{reg.host}/demo/app:1"
    want = comparable(archive_scan(capsys, demo_tar))
    code, doc, err = run(capsys, "scan", ref, "--format", "json", "--no-cache", "--ca-cert", str(tls.ca),
                         "--username", USER, "--password-stdin", stdin=PASSWORD + "\n", monkeypatch=monkeypatch)
    assert (code, err) == (0, "") and comparable(doc) == want
    code, _, err = run(capsys, "scan", ref, "--no-cache")
    assert code == 2 and err.count("\n") == 1
    assert f"explorer: {reg.host}: TLS failure (certificate verify failed" in err and "--ca-cert FILE" in err
    code, _, err = run(capsys, "scan", ref, "--no-cache", "--ca-cert", str(tls.ca))
    assert code == 2 and f"{reg.host}/demo/app: authentication required for tag '1' (tried: anonymous" in err
    code, _, err = run(capsys, "scan", ref, "--no-cache", "--ca-cert", str(tls.ca), "--username", USER,
                       "--password-stdin", stdin="wrong\n", monkeypatch=monkeypatch)
    assert code == 2 and f"(tried: --username {USER})" in err
    # --insecure-registry: the certificate is not checked (the same TLS registry, no CA given)
    code, doc, err = run(capsys, "scan", ref, "--format", "json", "--no-cache", "--insecure-registry", reg.host,
                         "--username", USER, "--password-stdin", stdin=PASSWORD + "\n", monkeypatch=monkeypatch)
    assert (code, err) == (0, "") and comparable(doc) == want


def test_credentials_from_auth_files_and_helpers(capsys, monkeypatch, tmp_path, tls_registry):
    reg, tls = tls_registry
    ref = f"docker://{reg.host}/demo/app:1"

    def layers() -> tuple[int, str]:
        code, doc, err = run(capsys, "layers", ref, "--format", "json", "--no-cache", "--ca-cert", str(tls.ca))
        return code, err

    import base64
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    containers = tmp_path / "run" / "containers" / "auth.json"
    containers.parent.mkdir(parents=True)
    containers.write_text(json.dumps({"auths": {reg.host: {"auth": auth}}}))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    assert layers() == (0, "")
    monkeypatch.delenv("XDG_RUNTIME_DIR")

    docker = tmp_path / "docker"
    docker.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(docker))
    (docker / "config.json").write_text(json.dumps({"auths": {reg.host: {"auth": auth}}}))
    assert layers() == (0, "")

    helper = tmp_path / "bin" / "docker-credential-explorertest"
    helper.parent.mkdir()
    helper.write_text(f"#!/bin/sh\nread host\n[ \"$host\" = \"{reg.host}\" ] || exit 1\n"
                      f"printf '{{\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}'\n")
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{helper.parent}:{os.environ['PATH']}")
    (docker / "config.json").write_text(json.dumps({"credHelpers": {reg.host: "explorertest"}}))
    assert layers() == (0, "")
    (docker / "config.json").write_text(json.dumps({"credsStore": "explorertest"}))
    assert layers() == (0, "")
    (docker / "config.json").write_text(json.dumps({"auths": {reg.host: {"auth": base64.b64encode(
        f"{USER}:nope".encode()).decode()}}}))
    code, err = layers()
    assert code == 2 and f"(tried: {docker / 'config.json'})" in err


# -- the layer cache across sources ------------------------------------------------------------

def test_warm_scan_downloads_no_layer(capsys, monkeypatch, tmp_path, registry, proxy, demo_tar):
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    ref = f"docker://{proxy.host}/demo/app:1"
    code, cold, _ = run(capsys, "scan", ref, "--format", "json")
    layer_digests = {layer["digest"] for layer in cold["layers"]}
    assert code == 0 and len(proxy.blob_gets(layer_digests)) == len(layer_digests) == 6
    proxy.seen.clear()
    code, warm, _ = run(capsys, "scan", ref, "--format", "json")
    assert code == 0 and warm == cold
    assert proxy.blob_gets(layer_digests) == []
    assert len(proxy.blob_gets()) == 1  # the config


def test_cold_scan_starts_the_first_layer_before_the_detectors_load(capsys, monkeypatch, tmp_path, registry,
                                                                    proxy):
    """The first layer's download runs while the detectors load (0.1-0.2 s of imports and rules), on
    a cold cache; on a warm one nothing is fetched (test above)."""
    import explorer.detectors.registry as detector_registry

    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    ref = f"docker://{proxy.host}/demo/app:1"
    blob_gets_then = []
    build = detector_registry.build_detectors

    def noting(*args, **kwargs):
        deadline = time.monotonic() + 10  # the download runs on a thread of its own: its GET may be on the way
        while len(proxy.blob_gets()) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        blob_gets_then.append(len(proxy.blob_gets()))
        return build(*args, **kwargs)

    monkeypatch.setattr(detector_registry, "build_detectors", noting)
    code, doc, _ = run(capsys, "scan", ref, "--format", "json")
    assert code == 0 and blob_gets_then == [2]  # the config, and the first layer
    assert proxy.blob_gets()[1].path.endswith(doc["layers"][0]["digest"])


def test_rebuilt_image_downloads_only_new_layers(capsys, monkeypatch, tmp_path, registry, proxy):
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    base = [Layer([Entry.file(f"/base/{i}", os.urandom(20_000))], created_by=f"ADD base {i}") for i in range(3)]
    old = ImageSpec(layers=[*base, Layer([Entry.file("/app", b"v1")], created_by="COPY app")])
    new = ImageSpec(layers=[*base, Layer([Entry.file("/app", b"v2 AKIAIOSFODNN7EXAMPLE")], created_by="COPY app"),
                            Layer([Entry.file("/more", b"x")], created_by="COPY more")])
    for name, spec in (("old", old), ("new", new)):
        push(f"docker-archive:{write_image(spec, str(tmp_path / f'{name}.tar'))}", f"{registry.host}/rebuilt/{name}:1")
    assert main(["scan", f"docker://{proxy.host}/rebuilt/old:1", "--output", os.devnull]) == 0
    proxy.seen.clear()
    code, doc, _ = run(capsys, "scan", f"docker://{proxy.host}/rebuilt/new:1", "--format", "json")
    fetched = {s.path.rsplit("/", 1)[-1] for s in proxy.blob_gets()}
    layers = [layer["digest"] for layer in doc["layers"]]
    assert fetched & set(layers) == set(layers[3:])
    assert len(fetched - set(layers)) == 1  # the config


def test_worker_processes_read_registry_blobs_once(capsys, registry, proxy):
    """`layers --jobs 2` reads layers in worker processes, each opening its blobs itself (the store
    is pickled without its connections); a worker that failed would leave its layer to be fetched
    again here, so every layer blob is fetched exactly once."""
    code, one, _ = run(capsys, "layers", f"docker://{proxy.host}/demo/app:1", "--format", "json", "--no-cache",
                       "--jobs", "1")
    proxy.seen.clear()
    code, two, err = run(capsys, "layers", f"docker://{proxy.host}/demo/app:1", "--format", "json", "--no-cache",
                         "--jobs", "2")
    assert (code, err) == (0, "") and two == one
    fetched = [s.path.rsplit("/", 1)[-1] for s in proxy.blob_gets()]
    assert sorted(fetched) == sorted([layer["digest"] for layer in one["layers"]] + [one["image"]["id"]])


def test_cache_is_shared_across_sources(capsys, monkeypatch, tmp_path, registry, proxy):
    """Layers scanned from an OCI layout (a copy of the pushed image, same blobs) are not downloaded
    when the registry's manifest names the same blob digests."""
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    layout = tmp_path / "layout"
    push_back = ["skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{registry.host}/demo/app:1",
                 f"oci:{layout}:app"]
    assert subprocess.run(push_back, capture_output=True).returncode == 0
    code, from_layout, _ = run(capsys, "scan", f"oci:{layout}:app", "--format", "json")
    assert code == 0
    proxy.seen.clear()
    code, from_registry, _ = run(capsys, "scan", f"docker://{proxy.host}/demo/app:1", "--format", "json")
    assert code == 0 and from_registry["findings"] == from_layout["findings"]
    layer_digests = {layer["digest"] for layer in from_registry["layers"]}
    assert layer_digests == {layer["digest"] for layer in from_layout["layers"]}
    assert proxy.blob_gets(layer_digests) == [] and len(proxy.blob_gets()) == 1


def test_extract_fetches_again_only_the_layer_it_writes_from(capsys, tmp_path, registry, proxy):
    """The scan's read-ahead plan is used up by the pass: the second read, of the one layer the file
    is in, starts no download of another layer."""
    code, doc, _ = run(capsys, "layers", f"docker://{registry.host}/demo/app:1", "--format", "json", "--no-cache")
    proxy.seen.clear()
    code, _, err = run(capsys, "extract", f"docker://{proxy.host}/demo/app:1", "/srv/app/app.py",
                       "-o", str(tmp_path / "app.py"))
    assert code == 0 and b"GITHUB_TOKEN" in (tmp_path / "app.py").read_bytes()
    fetched = [s.path.rsplit("/", 1)[-1] for s in proxy.blob_gets()]
    layers = [layer["digest"] for layer in doc["layers"]]
    again = [d for d in set(fetched) if fetched.count(d) > 1]
    assert len(again) == 1 and again[0] in layers and fetched.count(again[0]) == 2
    assert sorted(set(fetched)) == sorted(layers + [doc["image"]["id"]])
