"""SecretConfigDetector: ENV values, labels and history lines (build args, RUN lines, ENV/ARG)."""

from __future__ import annotations

import random
import string

import pytest

from explorer.detectors.base import HistoryItem, ScanOptions
from explorer.detectors.secrets import SecretConfigDetector, secret_name, secret_rule_catalog
from explorer.core.model import ImageConfig
from explorer.detectors.token_checksums import with_checksum

ALNUM = string.ascii_letters + string.digits
_rng = random.Random(7)


def rs(n: int, alphabet: str = ALNUM) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


def config(env=(), labels=()) -> ImageConfig:
    return ImageConfig(id="sha256:" + "0" * 64, env=tuple(env), labels=tuple(labels))


def history(line: str, position: int = 3) -> list:
    return SecretConfigDetector().scan_history(HistoryItem(position=position, created_by=line, layer=2))


def ids(matches) -> list[str]:
    return [m.rule_id for m in matches]


def assert_masked(matches, *secrets: str) -> None:
    for m in matches:
        assert m.category == "secret"
        for s in secrets:
            assert s not in m.evidence and s[: max(9, len(s) // 2)] not in m.evidence, m.evidence


# --- ENV and labels ------------------------------------------------------------------------------

def test_env_token_by_format_with_position():
    token = with_checksum("ghp_", rs(36))
    found = SecretConfigDetector().scan_config(config(["PATH=/usr/bin", "LANG=C.UTF-8", f"GITHUB_TOKEN={token}"]))
    assert [(m.rule_id, m.severity, m.line) for m in found] == [("secret.github-pat", "high", 3)]
    assert found[0].evidence == "GITHUB_TOKEN=" + token[:8] + "*" * 24


def test_env_aws_pair():
    key_id = "AKIA" + rs(16, string.ascii_uppercase + "234567")
    secret = rs(40, ALNUM + "/+")
    found = SecretConfigDetector().scan_config(config([f"AWS_ACCESS_KEY_ID={key_id}",
                                                      f"AWS_SECRET_ACCESS_KEY={secret}"]))
    assert [(m.rule_id, m.severity, m.line) for m in found] == [
        ("secret.aws-access-key-id", "high", 1), ("secret.aws-secret-access-key", "critical", 2)]
    assert_masked(found, key_id, secret)


@pytest.mark.parametrize("name,value,severity", [
    ("DB_PASSWORD", "hunter42xyz", "medium"),
    ("API_TOKEN", None, "high"),
    ("DJANGO_SECRET_KEY", None, "high"),
    ("STRIPE_APIKEY", None, "high"),
    ("SMTP_PASS", "s3cr3t-pw", "medium"),
])
def test_env_secret_names(name, value, severity):
    value = value or rs(32)
    found = SecretConfigDetector().scan_config(config(["PATH=/usr/bin", f"{name}={value}"]))
    assert [(m.rule_id, m.severity, m.line) for m in found] == [("secret.env-secret-name", severity, 2)]
    assert found[0].evidence.startswith(name + "=") and value not in found[0].evidence
    assert_masked(found, value)


@pytest.mark.parametrize("item", [
    "PATH=/usr/local/sbin:/usr/local/bin", "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
    "PYTHON_GPG_KEY=7169605F62C751356D054A26A821E680E5FA6305", "PASSWORD_FILE=/run/secrets/db",
    "DB_PASSWORD=", "DB_PASSWORD=changeme", "API_TOKEN=${API_TOKEN}", "SECRET_KEY=<set me>", "PWD=/app",
    "TOKEN_TTL=3600", "AUTH=basic", "NGINX_GPGKEY=573BFD6B3D8FBC641079A6ABABF5BD827BD9BF62",
    "JAVA_HOME=/opt/java", "PHP_SHA256=" + "ab" * 32, "SSH_AUTH_SOCK=/tmp/agent",
])
def test_env_benign(item):
    assert SecretConfigDetector().scan_config(config(["LANG=C", item])) == []


def test_secret_name():
    for name in ("DB_PASSWORD", "GITHUB_TOKEN", "aws.secret", "my-api-key", "SECRET", "PRIVATE_KEY", "X_APIKEY"):
        assert secret_name(name), name
    for name in ("PATH", "GPG_KEY", "PUBLIC_KEY", "KEY", "PWD", "TOKEN_URL", "PASSWORD_FILE", "KEYRING"):
        assert not secret_name(name), name


def test_labels():
    value = rs(24)
    found = SecretConfigDetector().scan_config(config(labels=[("maintainer", "a@b.c"),
                                                              ("com.example.deploy-token", value)]))
    assert [(m.rule_id, m.line) for m in found] == [("secret.label-secret-name", 2)]
    assert_masked(found, value)


def test_disabled_config_rules():
    det = SecretConfigDetector(ScanOptions(disabled=frozenset({"secret.env-secret-name", "secret.github-pat"})))
    token = with_checksum("ghp_", rs(36))
    assert det.scan_config(config([f"GITHUB_TOKEN={token}", f"DB_PASSWORD={rs(20)}"])) == []


# --- history -------------------------------------------------------------------------------------

def test_build_arg_with_token_format():
    token = with_checksum("npm_", rs(36))
    found = history(f"|2 NPM_TOKEN={token} NODE_ENV=production /bin/sh -c npm ci", position=5)
    assert [(m.rule_id, m.severity, m.line) for m in found] == [("secret.npm-token", "high", 5)]
    assert_masked(found, token)


def test_build_arg_by_name_buildkit_form():
    value = rs(24)
    found = history(f"RUN |2 DB_PASSWORD={value} VERSION=1.2 /bin/sh -c ./setup.sh # buildkit")
    assert [(m.rule_id, m.severity) for m in found] == [("secret.build-arg", "high")]
    assert found[0].evidence.startswith("DB_PASSWORD=") and found[0].line == 3
    assert_masked(found, value)


def test_arg_default_and_env_in_nop_lines():
    value = rs(24)
    found = history(f"/bin/sh -c #(nop)  ARG API_TOKEN={value}")
    assert ids(found) == ["secret.build-arg"]
    found = history(f"/bin/sh -c #(nop)  ENV SERVICE_TOKEN={value}")
    assert ids(found) == ["secret.env-secret-name"]
    found = history(f"/bin/sh -c #(nop)  ENV SERVICE_TOKEN {value}")
    assert ids(found) == ["secret.env-secret-name"]
    secret = rs(40, ALNUM + "/+")
    found = history(f"/bin/sh -c #(nop)  ENV AWS_SECRET_ACCESS_KEY={secret}")
    assert [(m.rule_id, m.severity) for m in found] == [("secret.aws-secret-access-key", "critical")]
    assert_masked(found, value, secret)


def test_run_line_secrets():
    token = with_checksum("ghp_", rs(36))
    found = history(f'/bin/sh -c echo "{token}" > /root/.gh_token')
    assert ids(found) == ["secret.github-pat"]
    assert_masked(found, token)
    pw = rs(14)
    found = history(f"/bin/sh -c curl -fsSL -u deploy:{pw} https://repo.internal.net/pkg.tgz | tar xz")
    assert [(m.rule_id, m.severity) for m in found] == [("secret.command-line-credential", "high")]
    assert_masked(found, pw)
    found = history(f"RUN /bin/sh -c ./install --password {pw} --yes # buildkit")
    assert ids(found) == ["secret.command-line-credential"]
    found = history(f"/bin/sh -c mysql -uroot -p{pw} < /init.sql")
    assert ids(found) == ["secret.command-line-credential"]
    found = history(f"/bin/sh -c echo 'root:{pw}' | chpasswd")
    assert ids(found) == ["secret.command-line-credential"]
    assert_masked(found, pw)
    found = history(f"/bin/sh -c git clone https://bot:{pw}@git.internal.net/app.git /app")
    assert ids(found) == ["secret.url-credentials"]
    assert_masked(found, pw)


def test_run_line_variable_is_low():
    found = history('/bin/sh -c echo "//registry.npmjs.org/:_authToken=${NPM_TOKEN}" > .npmrc')
    assert [(m.rule_id, m.severity, m.reason) for m in found] == [
        ("secret.command-line-credential", "low", "placeholder value")]


@pytest.mark.parametrize("line", [
    "/bin/sh -c apt-get update && apt-get install -y --no-install-recommends curl ca-certificates",
    "/bin/sh -c #(nop)  ENV PATH=/usr/local/bin:/usr/bin LANG=C.UTF-8",
    "/bin/sh -c #(nop)  ENV GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
    '/bin/sh -c echo "$PASS" | docker login -u bot --password-stdin registry.internal.net',
    "/bin/sh -c useradd -u 1000 -m app && mkdir -p /app",
    '/bin/sh -c adduser --disabled-password --gecos "" appuser',
    "/bin/sh -c adduser --disabled-password appuser && passwd --delete appuser",
    "/bin/sh -c ./configure --without-password-check --no-password app",
    "RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci # buildkit",
    "|1 VERSION=1.2.3 /bin/sh -c make install",
    "/bin/sh -c #(nop) ADD file:0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5061728394a5b6c7d8e9f in / ",
    "/bin/sh -c set -eux; gpg --batch --keyserver hkps://keys.openpgp.org --recv-keys "
    "A035C8C19219BA821ECEA86B64E628F8D684696D",
])
def test_history_benign(line):
    assert history(line) == []


def test_config_ids_are_in_catalog():
    catalog = {item.id for item in secret_rule_catalog()}
    token = with_checksum("ghp_", rs(36))
    found = SecretConfigDetector().scan_config(config([f"A_TOKEN={token}", f"B_PASSWORD={rs(20)}"],
                                                      [("x.secret", rs(20))]))
    found += history(f"|1 C_TOKEN={rs(20)} /bin/sh -c x") + history(f"/bin/sh -c curl -u a:{rs(12)} http://x")
    assert len(found) == 5 and {m.rule_id for m in found} <= catalog
