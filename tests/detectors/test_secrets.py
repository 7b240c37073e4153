"""Secret rule table and SecretFileDetector: one positive per rule, masking, precision downgrades.

Every token is built here at run time from a seeded random generator, so the repository itself holds
no string that a secret scanner or push protection would flag.
"""

from __future__ import annotations

import base64
import random
import re
import string

import pytest

from explorer.detectors.base import ScanOptions
from explorer.detectors.secret_rules import RULES, RULES_BY_ID
from explorer.detectors.token_checksums import with_checksum
from explorer.detectors.secrets import (EMBEDDED, EVIDENCE_MAX, PACKAGED, SecretFileDetector, build_evidence, mask, path_reason,
                                        secret_rule_catalog, value_reason)
from explorer.core.findings import CATEGORIES, SEVERITIES
from explorer.core.model import EntryKind, FileEntry

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "_-"
HEX = "0123456789abcdef"
UPNUM = string.ascii_uppercase + string.digits
_rng = random.Random(20261128)


def rs(n: int, alphabet: str = ALNUM) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


def pem(label: str, blank: bool = False) -> tuple[str, str]:
    body = "\n".join(rs(64, B64) for _ in range(6))
    return (f"-----BEGIN {label}-----\n" + ("\n" if blank else "") + body + f"\n-----END {label}-----\n", body)


def build_positives() -> dict[str, tuple[str, str, str]]:
    """rule id -> (path, file content, the secret that must never appear whole in evidence)."""
    p: dict[str, tuple[str, str, str]] = {}

    def add(rule_id: str, path: str, text: str, secret: str) -> None:
        assert secret in text.replace("\\n", "\n") or secret in text
        p[rule_id] = (path, text, secret)

    def tok(rule_id: str, value: str, path: str = "/srv/app/settings.py", name: str = "TOKEN",
            secret: str = "") -> None:
        add(rule_id, path, f'import os\n{name} = "{value}"\n', secret or value)

    tok("secret.aws-access-key-id", "AKIA" + rs(16, string.ascii_uppercase + "234567"), name="key_id")
    s = rs(40, B64)
    add("secret.aws-secret-access-key", "/srv/deploy.sh", f"#!/bin/sh\nexport AWS_SECRET_ACCESS_KEY={s}\n", s)
    s = rs(300, B64)
    add("secret.aws-session-token", "/srv/boto.sh", f"AWS_SESSION_TOKEN='{s}'\n", s)
    s = rs(64, B64)
    add("secret.gcp-service-account", "/srv/sa.json",
        '{"type": "service_account", "project_id": "p", "private_key_id": "' + rs(40, HEX) + '",\n'
        '"private_key": "-----BEGIN PRIVATE KEY-----\\n' + s + "\\n" + rs(64, B64)
        + '\\n-----END PRIVATE KEY-----\\n", "client_email": "a@p.iam.gserviceaccount.com"}\n', s)
    tok("secret.gcp-api-key", "AIza" + rs(35, URLSAFE))
    tok("secret.gcp-oauth-client-secret", "GOCSPX-" + rs(28, URLSAFE))
    s = rs(86, B64) + "=="
    add("secret.azure-storage-key", "/srv/app.cs",
        f'var c = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={s};EndpointSuffix=core.windows.net";\n', s)
    s = rs(43, B64) + "="
    add("secret.azure-shared-access-key", "/srv/app.cs",
        f'var c = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey={s}";\n', s)
    s = rs(43, B64) + "%3D"
    add("secret.azure-sas-token", "/srv/fetch.sh",
        "curl 'https://acct.blob.core.windows.net/c/f?sv=2021-06-08&ss=b&srt=sco&sp=rl"
        f"&se=2030-01-01T00:00:00Z&spr=https&sig={s}'\n", s)
    tok("secret.azure-ad-client-secret", rs(3) + "8Q~" + rs(34, ALNUM + "_~."))
    tok("secret.alibaba-access-key-id", "LTAI" + rs(20))
    tok("secret.digitalocean-token", "dop_v1_" + rs(64, HEX))
    tok("secret.heroku-api-key", "HRKU-" + rs(60, URLSAFE).replace("-", "x"))
    tok("secret.databricks-token", "dapi" + rs(32, HEX))
    tok("secret.hashicorp-vault-token", "hvs." + rs(90, URLSAFE))
    tok("secret.terraform-cloud-token", rs(14) + ".atlasv1." + rs(67, URLSAFE))
    tok("secret.github-pat", with_checksum("ghp_", rs(36)))
    tok("secret.github-fine-grained-pat", "github_pat_" + rs(22) + "_" + rs(59))
    tok("secret.github-oauth-token", with_checksum("gho_", rs(36)))
    tok("secret.github-app-token", with_checksum("ghs_", rs(36)))
    tok("secret.github-refresh-token", "ghr_" + rs(76))
    tok("secret.gitlab-pat", "glpat-" + rs(20, URLSAFE))
    tok("secret.gitlab-token", "glrt-" + rs(20, URLSAFE))
    tok("secret.npm-token", with_checksum("npm_", rs(36)))
    tok("secret.pypi-token", "pypi-AgEIcHlwaS5vcmc" + rs(70, URLSAFE))
    tok("secret.rubygems-api-key", "rubygems_" + rs(48, HEX))
    tok("secret.docker-hub-pat", "dckr_pat_" + rs(27, ALNUM))
    tok("secret.atlassian-api-token", "ATATT3" + rs(186, URLSAFE))
    tok("secret.slack-token", "xoxb-" + rs(12, string.digits) + "-" + rs(13, string.digits) + "-" + rs(24))
    s = "T" + rs(10, UPNUM) + "/B" + rs(10, UPNUM) + "/" + rs(24)
    tok("secret.slack-webhook", "https://hooks.slack.com/services/" + s, secret=s)
    tok("secret.discord-bot-token", "M" + rs(25, ALNUM) + "." + rs(6) + "." + rs(38), name="DISCORD_TOKEN")
    s = rs(68, URLSAFE)
    tok("secret.discord-webhook", "https://discord.com/api/webhooks/" + rs(18, string.digits) + "/" + s, secret=s)
    tok("secret.telegram-bot-token", rs(9, string.digits) + ":AA" + rs(33, URLSAFE))
    tok("secret.stripe-secret-key", "sk_live_" + rs(24))
    tok("secret.stripe-restricted-key", "rk_live_" + rs(24))
    tok("secret.square-access-token", "sq0atp-" + rs(22, URLSAFE))
    tok("secret.square-oauth-secret", "sq0csp-" + rs(43, URLSAFE))
    tok("secret.shopify-token", "shpat_" + rs(32, HEX))
    tok("secret.braintree-access-token",
        "access_token$production$" + rs(16, string.ascii_lowercase + string.digits) + "$" + rs(32, HEX))
    tok("secret.twilio-api-key", "SK" + rs(32, HEX), name="TWILIO_API_KEY")
    tok("secret.sendgrid-api-key", "SG." + rs(22, URLSAFE) + "." + rs(43, URLSAFE))
    tok("secret.mailgun-api-key", "key-" + rs(32, HEX), name="MAILGUN_KEY")
    tok("secret.mailchimp-api-key", rs(32, HEX) + "-us12")
    tok("secret.openai-api-key", "sk-proj-" + rs(74, URLSAFE) + "T3BlbkFJ" + rs(74, URLSAFE))
    tok("secret.anthropic-api-key", "sk-ant-api03-" + rs(93, URLSAFE) + "AA")
    tok("secret.huggingface-token", "hf_" + rs(34, string.ascii_letters))
    tok("secret.grafana-cloud-token", "glc_" + rs(120, B64) + "==")
    tok("secret.grafana-service-account-token", "glsa_" + rs(32) + "_" + rs(8, HEX))
    tok("secret.newrelic-key", "NRAK-" + rs(27, UPNUM))
    tok("secret.sentry-auth-token", "sntrys_" + rs(120))
    s = rs(32, HEX)
    add("secret.sentry-dsn", "/srv/app/settings.py", f'SENTRY_DSN = "https://{s}@o12345.ingest.sentry.io/123456"\n', s)
    tok("secret.linear-api-key", "lin_api_" + rs(40))
    tok("secret.jwt", "eyJhbGciOiJIUzI1NiJ9.eyJ" + rs(60, URLSAFE) + "." + rs(43, URLSAFE))
    tok("secret.age-secret-key", "AGE-SECRET-KEY-1" + rs(58, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"))
    tok("secret.doppler-token", "dp.pt." + rs(43))
    tok("secret.dynatrace-token", "dt0c01." + rs(24, UPNUM) + "." + rs(64, UPNUM))
    tok("secret.easypost-api-key", "EZAK" + rs(54))
    tok("secret.duffel-token", "duffel_live_" + rs(43, ALNUM))
    tok("secret.frameio-token", "fio-u-" + rs(64, ALNUM))
    tok("secret.planetscale-token", "pscale_tkn_" + rs(43, ALNUM))
    tok("secret.postman-api-key", "PMAK-" + rs(24, HEX) + "-" + rs(34, HEX))
    tok("secret.pulumi-token", "pul-" + rs(40, HEX))
    tok("secret.sendinblue-api-key", "xkeysib-" + rs(64, HEX) + "-" + rs(16))
    tok("secret.shippo-token", "shippo_live_" + rs(40, HEX))
    tok("secret.clojars-token", "CLOJARS_" + rs(60, string.ascii_lowercase + string.digits))
    tok("secret.adobe-client-secret", "p8e-" + rs(32))
    tok("secret.typeform-token", "tfp_" + rs(59, ALNUM))
    tok("secret.mapbox-secret-token", "sk.eyJ1Ijoi" + rs(40, ALNUM) + "." + rs(22, ALNUM))
    tok("secret.flutterwave-secret-key", "FLWSECK-" + rs(32, HEX) + "-X")
    tok("secret.grafana-api-key", "eyJrIjoi" + rs(80))
    tok("secret.facebook-secret", rs(32, HEX), name="facebook_app_secret")
    s = rs(120, B64) + "="
    add("secret.k8s-dockerconfig-secret", "/srv/k8s/pull-secret.yaml",
        "apiVersion: v1\nkind: Secret\ntype: kubernetes.io/dockerconfigjson\ndata:\n"
        f"  .dockerconfigjson: {s}\n", s)
    for kind, label in (("rsa", "RSA PRIVATE KEY"), ("ec", "EC PRIVATE KEY"), ("dsa", "DSA PRIVATE KEY"),
                        ("openssh", "OPENSSH PRIVATE KEY"), ("pkcs8", "PRIVATE KEY"),
                        ("encrypted", "ENCRYPTED PRIVATE KEY")):
        text, body = pem(label)
        add(f"secret.private-key-{kind}", f"/root/keys/{kind}.key", text, body)
    text, body = pem("PGP PRIVATE KEY BLOCK", blank=True)
    add("secret.private-key-pgp", "/root/keys/k.asc", text, body)
    s = rs(64, B64)
    add("secret.putty-private-key", "/root/k.ppk",
        f"PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: k\nPublic-Lines: 2\n{rs(64, B64)}\n"
        f"{rs(20, B64)}\nPrivate-Lines: 1\n{s}\nPrivate-MAC: {rs(64, HEX)}\n", s)
    s = rs(80, B64)
    add("secret.aws-credentials-file", "/root/.aws/credentials",
        f"[default]\naws_access_key_id = AKIA{rs(16, string.ascii_uppercase + '234567')}\naws_session_token = {s}\n", s)
    s = base64.b64encode(("ci-bot:" + rs(20)).encode()).decode()
    add("secret.docker-config-auth", "/root/.docker/config.json",
        '{\n  "auths": {\n    "registry.internal.net": {\n      "auth": "' + s + '"\n    }\n  }\n}\n', s)
    s = rs(20)
    add("secret.git-credentials", "/root/.git-credentials", f"https://ci-bot:{s}@git.internal.net\n", s)
    s = rs(20)
    add("secret.netrc-password", "/root/.netrc", f"machine api.internal.net\n  login bot\n  password {s}\n", s)
    s = base64.b64encode(("bot:" + rs(20)).encode()).decode()
    add("secret.npmrc-auth", "/root/.npmrc", f"registry=https://npm.internal.net/\n_auth={s}\n", s)
    s = rs(20)
    add("secret.pypirc-password", "/root/.pypirc", f"[pypi]\nusername = bot\npassword = {s}\n", s)
    s = rs(40)
    add("secret.kubeconfig-credential", "/root/.kube/config",
        f"apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user:\n    token: {s}\n", s)
    s = rs(16)
    add("secret.dotenv-secret", "/srv/app/.env", f"DEBUG=0\nDB_PASSWORD={s}\n", s)
    s = rs(16)
    add("secret.wordpress-config", "/var/www/html/wp-config.php",
        f"<?php\ndefine( 'DB_NAME', 'wp' );\ndefine( 'DB_PASSWORD', '{s}' );\n", s)
    s = "$apr1$" + rs(8) + "$" + rs(22, B64.replace("+", "."))
    add("secret.htpasswd-hash", "/etc/nginx/.htpasswd", f"admin:{s}\n", s)
    s = rs(12)
    add("secret.command-line-credential", "/root/.bash_history", f"ls\nmysql -u root -p{s} app\n", s)
    s = rs(16)
    add("secret.database-url", "/srv/app/settings.py", f'DB = "postgres://app:{s}@db.internal:5432/app"\n', s)
    s = rs(20)
    add("secret.url-credentials", "/srv/build.sh", f"git clone https://deploy:{s}@git.internal.net/r.git\n", s)
    s = rs(16)
    add("secret.generic-secret-assignment", "/etc/app/app.yaml", f"db:\n  host: db\n  password: {s}\n", s)
    s = rs(24, string.ascii_lowercase + string.digits)
    add("secret.atlassian-api-token/legacy", "/srv/app/jira.py", f'JIRA_API_TOKEN = "{s}"\n', s)
    return p


POSITIVES = build_positives()


def entry(path: str, size: int = 100, kind: EntryKind = EntryKind.FILE) -> FileEntry:
    return FileEntry(path=path, kind=kind, layer=0, size=size)


def scan(path: str, text: str | bytes, detector: SecretFileDetector | None = None):
    data = text.encode() if isinstance(text, str) else text
    return (detector or SecretFileDetector()).scan(entry(path, len(data)), data)


def by_rule(matches) -> dict:
    out: dict = {}
    for m in matches:
        assert m.rule_id not in out, f"two matches for {m.rule_id} in one file"
        out[m.rule_id] = m
    return out


def test_rule_table_shape():
    assert len(RULES) >= 40
    for rule in RULES:
        assert re.fullmatch(r"secret\.[a-z0-9-]+", rule.id)
        assert rule.severity in SEVERITIES and rule.title and rule.description
        assert rule.keywords and all(k == k.lower() and isinstance(k, bytes) for k in rule.keywords)
        assert rule.regex.pattern and isinstance(rule.regex.pattern, bytes)
    assert "secret" in CATEGORIES


def test_every_rule_has_a_positive():
    assert {key.split("/")[0] for key in POSITIVES} == set(RULES_BY_ID)


@pytest.mark.parametrize("key", sorted(POSITIVES))
def test_positive(key):
    """`key` is a rule id, or `rule id/variant` for a second form of the same rule."""
    rule_id = key.split("/")[0]
    path, text, secret = POSITIVES[key]
    found = by_rule(scan(path, text))
    assert rule_id in found, f"{rule_id} did not fire; got {sorted(found)}"
    m = found[rule_id]
    rule = RULES_BY_ID[rule_id]
    assert (m.severity, m.category, m.title, m.reason) == (rule.severity, "secret", rule.title, "")
    assert m.line is not None and 1 <= m.line <= text.count("\n") + 1
    compact = secret.replace("\n", "")
    for ev in (m.evidence, m.evidence.replace("\\n", "")):
        assert compact not in ev and secret[: max(9, len(secret) // 2)] not in ev
    assert "*" in m.evidence and len(m.evidence) <= EVIDENCE_MAX
    assert all(ch.isprintable() for ch in m.evidence)


def test_contract_example_shape():
    token = with_checksum("ghp_", "u8jz" + rs(32))
    m = by_rule(scan("/srv/app/.env", f"A=1\nGITHUB_TOKEN={token}\n"))["secret.github-pat"]
    assert m.evidence == "GITHUB_TOKEN=ghp_u8jz" + "*" * 24
    assert m.line == 2 and m.severity == "high"


def test_specific_rule_claims_the_value_from_fallback_rules():
    key = rs(40, B64)
    text = f"[default]\naws_access_key_id = AKIA{rs(16, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}\naws_secret_access_key = {key}\n"
    found = by_rule(scan("/root/.aws/credentials", text))
    assert found["secret.aws-secret-access-key"].severity == "critical"
    assert found["secret.aws-secret-access-key"].line == 3
    assert "secret.aws-credentials-file" not in found
    npm = with_checksum("npm_", rs(36))
    found = by_rule(scan("/root/.npmrc", f"//registry.npmjs.org/:_authToken={npm}\n"))
    assert set(found) == {"secret.npm-token"}


def test_mask():
    assert mask("ghp_" + "a" * 36) == "ghp_aaaa" + "*" * 24
    assert mask("abcdefghijkl", keep=8) == "abcd" + "*" * 8   # never more than a third
    assert mask("hunter2") == "hu*****"
    assert mask("ab") == "**"
    assert mask("") == ""
    assert mask("MIIE\nabcd\nefgh\n" * 4, keep=4) == "MIIE" + "*" * 24


def test_evidence_escapes_and_caps():
    text = b"\x1b[31mKEY=" + b"ghp_zz"
    ev = build_evidence(text, 0, len(text) - 6, len(text))
    assert "\x1b" not in ev and ev.startswith("\\x1b[31mKEY=")
    long = b"KEY=" + b"A" * 300 + b"ghp_zz"
    ev = build_evidence(long, 0, len(long) - 6, len(long))
    assert len(ev) <= EVIDENCE_MAX and ev.startswith("…") and ev.endswith("**")
    evil = with_checksum("ghp_", rs(36))
    found = by_rule(scan("/srv/x.py", f"T = '\u202e{evil}'\n"))
    assert "\u202e" not in found["secret.github-pat"].evidence


def test_evidence_masks_a_second_secret_in_the_context():
    first = with_checksum("ghp_", rs(36))
    second = with_checksum("npm_", rs(36))
    text = f'{{"npm": "{second}", "gh": "{first}"}}'
    for m in scan("/srv/x.json", text):
        assert first not in m.evidence and second not in m.evidence
        assert second[:12] not in m.evidence


@pytest.mark.parametrize("path,reason", [
    ("/usr/share/doc/pkg/README.md", "documentation path"),
    ("/usr/share/man/man1/tool.1", "documentation path"),
    ("/usr/lib/python3/dist-packages/pkg/tests/test_auth.py", "test fixture path"),
    ("/usr/local/lib/python3.11/site-packages/pkg/test/data.py", "test fixture path"),
    ("/go/src/x/testdata/key.pem", "test fixture path"),
    ("/app/node_modules/lib/fixtures/conf.js", "test fixture path"),
    ("/opt/lib/examples/client.py", "documentation path"),
    ("/srv/app/.env.example", "documentation path"),
    ("/usr/share/man/man3/ssl.3", "documentation path"),
    ("/usr/local/share/man/man1/x.1.gz", "documentation path"),
])
def test_doc_and_test_paths_are_low(path, reason):
    assert path_reason(path) == reason
    text, _ = pem("RSA PRIVATE KEY")
    token = with_checksum("ghp_", rs(36))
    found = by_rule(scan(path, text + f"\nTOKEN = '{token}'\n"))
    for rule_id in ("secret.private-key-rsa", "secret.github-pat"):
        assert (found[rule_id].severity, found[rule_id].reason) == ("low", reason)


@pytest.mark.parametrize("path", ["/srv/app/config.py", "/etc/ssl/private/server.key", "/root/.ssh/id_rsa",
                                  "/contest/x.py", "/srv/latest/x.py", "/usr/lib/x86_64-linux-gnu/libx.so.30.3"])
def test_ordinary_paths_keep_severity(path):
    assert path_reason(path) == ""


def test_installed_packages_cap_private_keys_only():
    path = "/usr/local/lib/python3.11/site-packages/moto/moto_proxy/ca.key"
    assert path_reason(path) == PACKAGED
    text, _ = pem("PRIVATE KEY")
    token = with_checksum("ghp_", rs(36))
    found = by_rule(scan(path, text + f"TOKEN = '{token}'\n"))
    assert (found["secret.private-key-pkcs8"].severity, found["secret.private-key-pkcs8"].reason) == ("medium", PACKAGED)
    assert (found["secret.github-pat"].severity, found["secret.github-pat"].reason) == ("high", "")


@pytest.mark.parametrize("text", [
    '{"Policy": "arn:aws:secretsmanager:us-west-2:123456789012:secret:ecr-pullthroughcache/x"}',
    '{"IAMUserChangePassword": "arn:aws:iam::aws:policy/IAMUserChangePassword"}',
    "password_file: /run/secrets/db_password\n",
    "client_secret: ${CLIENT_SECRET}\n",
    "password: aaaaaaaa\n",
])
def test_generic_assignment_negatives(text):
    assert [m for m in scan("/etc/app/conf.yaml", text) if m.severity != "low"] == []


@pytest.mark.parametrize("text", ['{"db": {"password": "%s"}}', "[db]\npassword = %s\n", "api_key: '%s'\n"])
def test_generic_assignment_forms(text):
    value = rs(14)
    found = by_rule(scan("/etc/app/conf.yaml", text % value))
    assert found["secret.generic-secret-assignment"].severity == "medium"
    assert value not in found["secret.generic-secret-assignment"].evidence


@pytest.mark.parametrize("value,reason", [
    ("AKIA" + "IOSFODNN7" + "EXAMPLE", "documented example value"),
    ("wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY", "documented example value"),
    ("ghp_" + "x" * 36, "documented example value"),
    ("ghp_" + "A" * 36, "placeholder value"),
    ("${GITHUB_TOKEN}", "placeholder value"),
    ("<your-token>", "documented example value"),
    ("<token>", "placeholder value"),
    ("{{ vault_password }}", "placeholder value"),
    ("dummy-secret-value", "documented example value"),
    ("my_fake_key_123", "documented example value"),
    ("changeme", "documented example value"),
    ("password", "placeholder value"),
    ("$DB_PASSWORD", "placeholder value"),
    ("pass:insta", "documented example value"),
    ("env:KEY_PASSPHRASE", "placeholder value"),
    ("$insta::secret", "placeholder value"),
])
def test_example_values(value, reason):
    assert value_reason(value) == reason


def test_example_values_are_reported_low_not_high():
    key_id = "AKIA" + "IOSFODNN7" + "EXAMPLE"
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + "EXAMPLEKEY"
    text = f"aws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"
    found = by_rule(scan("/srv/app/boto_setup.py", text))
    for rule_id in ("secret.aws-access-key-id", "secret.aws-secret-access-key"):
        assert (found[rule_id].severity, found[rule_id].reason) == ("low", "documented example value")
    found = by_rule(scan("/srv/app/.env", "GITHUB_TOKEN=${GITHUB_TOKEN}\nDB_PASSWORD=changeme\n"))
    assert found and all(m.severity == "low" for m in found.values())


def test_real_value_after_example_wins():
    real = with_checksum("ghp_", rs(36))
    text = f"EXAMPLE = 'ghp_{'x' * 36}'\nREAL = '{real}'\n"
    m = by_rule(scan("/srv/app/x.py", text))["secret.github-pat"]
    assert (m.severity, m.line, m.reason) == ("high", 2, "")


def test_entropy_floor_drops_low_entropy_lookalikes():
    assert scan("/srv/x.py", "T = 'ghp_" + "A1b2" * 9 + "'\n") == []
    assert scan("/srv/x.py", "T = 'hf_" + ("modelcard" * 4)[:34] + "'\n") == []


@pytest.mark.parametrize("path,text", [
    ("/srv/app/.env", "X" + "TOKEN" * 400_000 + "\n"),
    ("/root/.bash_history", "curl " * 400_000 + "\n"),
    ("/root/.bash_history", "mysql " * 400_000 + "\n"),
    ("/srv/k.pem", "-----BEGIN RSA PRIVATE KEY-----" + " " * 2_000_000),
    ("/etc/app/x.yaml", "password" * 250_000),
    ("/srv/x.txt", "x" * 2_000_000 + " GITHUB_TOKEN=ghp_" + "".join(random.Random(3).choices(ALNUM, k=36))),
], ids=["dotenv-key", "curl", "mysql", "pem-whitespace", "generic-key", "long-prefix"])
def test_hostile_inputs_stay_linear(path, text):
    """Megabyte-long lines built to make a regex backtrack: the scan must finish (no timing
    assertion; a quadratic pattern would hang here) and the evidence stays short."""
    for m in scan(path, text):
        assert len(m.evidence) <= EVIDENCE_MAX


def test_one_match_per_rule_first_line():
    toks = [with_checksum("ghp_", rs(36)) for _ in range(3)]
    text = "\n".join(["x = 1"] * 4 + [f"T{i} = '{t}'" for i, t in enumerate(toks)]) + "\n"
    found = scan("/srv/x.py", text)
    assert [m.rule_id for m in found] == ["secret.github-pat"] and found[0].line == 5


def test_binary_files_only_high_signal_rules():
    key_text, _ = pem("OPENSSH PRIVATE KEY")
    token = with_checksum("ghp_", rs(36))
    jwt = POSITIVES["secret.jwt"][2]
    blob = b"\x7fELF\x00\x00" + bytes(range(256)) * 4 + key_text.encode() + b"\x00" + token.encode() + b"\x00" \
        + jwt.encode() + b"\x00postgres://app:" + rs(16).encode() + b"@db/app\x00"
    found = by_rule(scan("/usr/local/bin/app", blob))
    assert set(found) == {"secret.private-key-openssh", "secret.github-pat"}
    assert (found["secret.github-pat"].severity, found["secret.github-pat"].reason) == ("high", "")
    key = found["secret.private-key-openssh"]
    assert (key.severity, key.reason) == ("low", EMBEDDED)
    assert key.evidence.startswith("-----BEGIN OPENSSH PRIVATE KEY----- ")  # no binary garbage as context


def test_real_libgnutls_self_test_keys_are_low():
    import glob
    libs = sorted(p for p in glob.glob("/usr/lib/*/libgnutls.so.30*") + glob.glob("/usr/lib/libgnutls.so.30*"))
    if not libs:
        pytest.skip("no libgnutls on this machine")
    with open(libs[0], "rb") as fh:
        data = fh.read()
    found = scan(libs[0], data)
    assert found, "libgnutls carries PEM self-test keys; the detector should see them"
    assert {(m.severity, m.reason) for m in found} == {("low", EMBEDDED)}


def test_header_without_body_is_not_a_key():
    code = 'PEM_HEADER = "-----BEGIN RSA PRIVATE KEY-----"\nif line == PEM_HEADER:\n    pass\n'
    assert scan("/usr/lib/python3/dist-packages/rsa/pem.py", code) == []


def test_disabled_rules_are_dropped():
    path, text, _ = POSITIVES["secret.github-pat"]
    detector = SecretFileDetector(ScanOptions(disabled=frozenset({"secret.github-pat"})))
    assert scan(path, text, detector) == []


def test_credential_file_rules_need_their_path():
    _, text, _ = POSITIVES["secret.netrc-password"]
    assert scan("/srv/notes.txt", text) == []
    _, text, _ = POSITIVES["secret.dotenv-secret"]
    assert scan("/srv/app/settings.txt", text) == []


def test_wants():
    d = SecretFileDetector()
    assert d.wants(entry("/srv/app/x.py", 1000))
    assert d.wants(entry("/srv/app/x.bin", 10 * 1024 * 1024))
    assert not d.wants(entry("/srv/app/x.bin", 10 * 1024 * 1024 + 1))
    assert d.wants(entry("/root/.bash_history", 50 * 1024 * 1024))
    assert d.wants(entry("/root/.aws/credentials", 50 * 1024 * 1024))
    assert not d.wants(entry("/srv/app", 0, EntryKind.DIR))
    assert not d.wants(entry("/srv/link", 0, EntryKind.SYMLINK))
    assert not d.wants(entry("/srv/empty", 0))


def test_catalog_covers_every_rule():
    catalog = secret_rule_catalog()
    ids = [item.id for item in catalog]
    assert len(ids) == len(set(ids))
    assert set(RULES_BY_ID) <= set(ids)
    assert {"secret.env-secret-name", "secret.label-secret-name", "secret.build-arg"} <= set(ids)
    for item in catalog:
        rule_id, category, severity, title, description, attribution = item   # core.rules.RuleInfo's order
        assert attribution == ()  # only third-party YARA rules carry author/reference/license/score
        assert rule_id.startswith("secret.") and title and description and severity in SEVERITIES
        assert category == "secret" and item.title == title
