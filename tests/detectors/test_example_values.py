"""Precision on example values (issue 18, part 7): documented example keys, placeholders, values in package
documentation, TypeScript declarations and test fixtures, and tokens whose provider checksum fails are
lowered to `low` with the reason, never dropped; a token that passes its checksum keeps its severity.
Real parts: the real secret and YARA detectors over one image written in-process, through the engine."""

from __future__ import annotations

import pytest

from explorer.detectors.base import ScanOptions
from explorer.detectors.registry import build_detectors
from explorer.detectors.token_checksums import checksum_holds, with_checksum
from explorer.scan.engine import scan
from explorer.demo.imagewriter import Entry, Layer
from explorer.sources import open_image

REAL_GITHUB = with_checksum("ghp_", "Vq7LmX2pR9tK4wB8nC3jH6dF1sG5aZ")
BAD_GITHUB = REAL_GITHUB[:-1] + ("A" if REAL_GITHUB[-1] != "A" else "B")
REAL_NPM = with_checksum("npm_", "Jd8Kq2Lm5Np7Rs9Tv3Wx6Yz1Ab4Cd0")
AZURE_SAS = "sv=2021-06-08&ss=b&srt=co&sp=rl&se=2030-01-01T00:00:00Z&sig=" + "kJ8sLq2mX9vP4tR7wN1bC6hF3dG5aZ0yE2uQ8oI4rT0%3D"

FILES = {
    # AWS's documented example pair, in an app's own config: lowered by value
    "/app/config/aws.env": b"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n"
                           b"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
    # placeholders and dummies
    "/app/config/db.env": b"DB_PASSWORD=changeme\nAPI_TOKEN=dummy-token-value-here\nSECRET_KEY=${SECRET_KEY}\n",
    # botocore-style docs inside an installed package
    "/usr/local/lib/python3.11/site-packages/botocore/docs/examples.py":
        b"client = boto3.client('s3', aws_access_key_id='AKIAZ3MHALR7QJ4NV2XT')\n",
    # aws-sdk's bundled TypeScript declarations (the clean Node image's high azure-sas-token)
    "/usr/local/lib/node_modules/aws-sdk/clients/storage.d.ts":
        f"/** e.g. https://acct.blob.core.windows.net/c?{AZURE_SAS} */\nexport interface X {{}}\n".encode(),
    # a test fixture of an installed package
    "/usr/local/lib/python3.11/site-packages/github/tests/ReplayData/auth.txt":
        f"Authorization: token {REAL_GITHUB}\n".encode(),
    # a made-up GitHub token in an app (checksum fails) and a well-formed one (checksum holds)
    "/app/src/settings.py": f"GITHUB_TOKEN = '{BAD_GITHUB}'\n".encode(),
    "/app/.env": f"GITHUB_TOKEN={REAL_GITHUB}\nNPM_TOKEN={REAL_NPM}\n".encode(),
}


@pytest.fixture(scope="module")
def findings(tmp_path_factory):
    from explorer.demo.imagewriter import write_image, ImageSpec

    dirs = sorted({p.rsplit("/", i)[0] for p in FILES for i in range(1, p.count("/")) if p.rsplit("/", i)[0]})
    layer = Layer([Entry.dir(d) for d in dirs] + [Entry.file(p, c) for p, c in FILES.items()], created_by="COPY")
    path = write_image(ImageSpec(layers=[layer]), tmp_path_factory.mktemp("img") / "image.tar", "docker-archive")
    source = open_image(str(path))
    try:
        result = scan(source, build_detectors(ScanOptions()), ScanOptions())
    finally:
        source.close()
    return [f for f in result.findings if f.category == "secret"]


def at(findings, path):
    return {(f.rule_id, f.severity, f.reason) for f in findings if f.path == path}


def test_checksums_of_github_and_npm_tokens():
    assert checksum_holds("secret.github-pat", "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") is True  # a published vector
    assert checksum_holds("secret.github-pat", "ghp_M7H4jxUDDWHP4kZ6A4dxlQYsQIWJuq11T4V3") is False
    assert checksum_holds("secret.npm-token", REAL_NPM) is True
    assert checksum_holds("secret.slack-bot-token", REAL_GITHUB) is None


def test_example_values_are_low_with_a_reason_never_dropped(findings):
    assert at(findings, "/app/config/aws.env") >= {
        ("secret.aws-access-key-id", "low", "documented example value")}
    assert all(f.severity == "low" for f in findings if f.path == "/app/config/aws.env")
    db = at(findings, "/app/config/db.env")
    assert db and all(sev == "low" and why in ("placeholder value", "documented example value") for _, sev, why in db)
    assert at(findings, "/usr/local/lib/python3.11/site-packages/botocore/docs/examples.py") == {
        ("secret.aws-access-key-id", "low", "documentation path")}
    assert at(findings, "/usr/local/lib/node_modules/aws-sdk/clients/storage.d.ts") == {
        ("secret.azure-sas-token", "low", "documentation path")}
    assert at(findings, "/usr/local/lib/python3.11/site-packages/github/tests/ReplayData/auth.txt") == {
        ("secret.github-pat", "low", "test fixture path")}
    assert at(findings, "/app/src/settings.py") == {
        ("secret.github-pat", "low", "fails the token format's checksum (never issued: an example or made-up value)")}


def test_a_token_whose_checksum_holds_keeps_its_severity(findings):
    assert at(findings, "/app/.env") == {("secret.github-pat", "high", ""), ("secret.npm-token", "high", "")}


def test_nothing_here_is_high_but_the_real_tokens(findings):
    high = {(f.path, f.rule_id) for f in findings if f.severity in ("high", "critical")}
    assert high == {("/app/.env", "secret.github-pat"), ("/app/.env", "secret.npm-token")}
