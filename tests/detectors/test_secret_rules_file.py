"""`scan --secret-rules FILE`: a gitleaks configuration (as gitleaks documents it) read beside the built-in
secret rules: ids, Go-syntax regexes, secretGroup, keywords, entropy, path, per-rule and global allowlists.
Real parts: the real secret detectors, images written in-process, `python -m explorer scan` as users run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from explorer.detectors.base import ScanOptions
from explorer.detectors.gitleaks_config import load, python_regex
from explorer.detectors.secrets import SecretConfigDetector, SecretFileDetector
from explorer.core.errors import ExplorerError
from explorer.demo.imagewriter import Entry, Layer
from explorer.core.model import EntryKind, FileEntry, ImageConfig

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CONFIG = r"""
title = "team rules"

[extend]
useDefault = true

[[rules]]
id = "acme-api-key"
description = "ACME billing API key"
regex = '''(?i)\b(acme_(?:live|test)_[a-z0-9]{24})(?:[\x60'"\s;]|\\[nr]|$)'''
secretGroup = 1
keywords = ["acme_live", "acme_test"]
entropy = 3.0
  [rules.allowlist]
  description = "the vendor's documented test key"
  regexes = ['''acme_test_''']

[[rules]]
id = "internal-db-password"
description = "Internal database password"
regex = '''(?i)INTERNAL_DB_(?:PASS|PASSWORD)\s*=\s*["']?([^\s"']{8,64})'''
keywords = ["internal_db_pass"]
severity = "critical"
path = '''(?:\.env|\.properties)$'''
  [[rules.allowlists]]
  condition = "AND"
  stopwords = ["local"]
  paths = ['''^/srv/''']

[[rules]]
id = "keystore-file"
description = "a keystore by name only"
path = '''\.p12$'''

[[rules]]
id = "bad-regex"
regex = '''(?<name>unsupported'''

[allowlist]
description = "our published sample tokens"
regexTarget = "line"
regexes = ['''#\s*sample''']
paths = ['''/docs/''']
"""

LIVE = "acme_live_" + "k3J9xQ2mV7pL5tR8wZ1nB4cD"
TEST = "acme_test_" + "k3J9xQ2mV7pL5tR8wZ1nB4cD"
GITHUB = "ghp_" + "R7mK2pX9vQ4tL8wN3jB6cH1fD5gS0aZ2yE7u"


@pytest.fixture
def rules_file(tmp_path):
    path = tmp_path / "gitleaks.toml"
    path.write_text(CONFIG)
    return str(path)


def scan_text(rules_file, path, text: bytes):
    detector = SecretFileDetector(ScanOptions(secret_rules=rules_file))
    return detector.scan(FileEntry(path, EntryKind.FILE, 0, size=len(text)), text)


def test_the_file_is_read_as_gitleaks_documents_it(rules_file):
    user = load(rules_file)
    assert [r.id for r in user.rules] == ["secret.user.acme-api-key", "secret.user.internal-db-password"]
    assert [r.severity for r in user.rules] == ["high", "critical"]
    assert len(user.warnings) == 3
    assert "[extend] ignored" in user.warnings[0]
    assert "keystore-file: no regex" in user.warnings[1] and "bad-regex" in user.warnings[2]
    assert python_regex(r"(?i)[[:alnum:]]+\z") == r"(?i)[a-zA-Z0-9]+\Z"


def test_user_rules_find_their_secret_group_masked(rules_file):
    found = scan_text(rules_file, "/app/config/app.env", f'ACME_KEY="{LIVE}"\nINTERNAL_DB_PASS=Pr0dS3cret-99\n'.encode())
    by_id = {m.rule_id: m for m in found}
    assert set(by_id) == {"secret.user.acme-api-key", "secret.user.internal-db-password"}
    acme = by_id["secret.user.acme-api-key"]
    assert acme.severity == "high" and acme.line == 1 and acme.title == "ACME billing API key"
    assert LIVE not in acme.evidence and acme.evidence.startswith('ACME_KEY="acme_liv')
    db = by_id["secret.user.internal-db-password"]
    assert db.severity == "critical" and db.line == 2 and "Pr0dS3cret-99" not in db.evidence


def test_keywords_path_and_entropy_conditions(rules_file):
    # path condition: the database rule runs only on .env/.properties files
    assert scan_text(rules_file, "/app/notes.txt", b"INTERNAL_DB_PASS=Pr0dS3cret-99\n") == []
    # entropy floor: a low-entropy value is no key
    assert scan_text(rules_file, "/app/a.env", b"k=acme_live_abcabcabcabcabcabcabcabcab\n") == []


def test_allowlists_per_rule_and_global(rules_file):
    assert scan_text(rules_file, "/app/a.env", f"k={TEST}\n".encode()) == []  # the rule's own regexes
    # AND: both the stopword and the path must hold
    assert scan_text(rules_file, "/srv/a.env", b"INTERNAL_DB_PASS=local-Pr0dS3cret\n") == []
    assert [m.rule_id for m in scan_text(rules_file, "/app/a.env", b"INTERNAL_DB_PASS=local-Pr0dS3cret\n")] == [
        "secret.user.internal-db-password"]
    # the global allowlist covers the built-in rules too: by line, and by path
    assert scan_text(rules_file, "/app/a.env", f"token={GITHUB}  # sample\n".encode()) == []
    assert scan_text(rules_file, "/app/docs/a.env", f"token={GITHUB}\n".encode()) == []
    assert [m.rule_id for m in scan_text(rules_file, "/app/a.env", f"token={GITHUB}\n".encode())] == [
        "secret.github-pat"]


def test_a_secret_a_built_in_rule_reports_is_left_to_it(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text("[[rules]]\nid = 'my-github'\nregex = '''ghp_[0-9a-zA-Z]{36}'''\nkeywords = ['ghp_']\n")
    found = scan_text(str(path), "/app/a.env", f"token={GITHUB}\n".encode())
    assert [m.rule_id for m in found] == ["secret.github-pat"]


def test_env_values_and_history_lines_too(rules_file):
    detector = SecretConfigDetector(ScanOptions(secret_rules=rules_file))
    found = detector.scan_config(ImageConfig(id="sha256:0", env=[f"ACME={LIVE}"]))
    assert [(m.rule_id, m.line) for m in found] == [("secret.user.acme-api-key", 1)]


@pytest.mark.parametrize("text, message", [
    ("[[rules]]\nid = 'x'\nregex = 'a'\nsecretGroup = 3\n", "secretGroup 3 is not a group"),
    ("[[rules]\n", "Expected ']]'"),
    ("[[rules]]\nid = 'x y'\nregex = 'a'\n", "`id` must be a name"),
    ("[[rules]]\nid = 'x'\nregex = 'a'\nseverity = 'urgent'\n", "severity must be one of"),
])
def test_a_bad_file_is_one_line_and_exit_2(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ExplorerError, match=message):
        load(str(path))


def test_cli(make_image, rules_file, tmp_path):
    layer = Layer([Entry.dir("/app"), Entry.file("/app/.env", f"ACME={LIVE}\n".encode())], created_by="COPY . /app")
    image = make_image([layer])
    proc = subprocess.run([sys.executable, "-m", "explorer", "scan", image, "--format", "json", "--no-progress",
                           "--no-cache", "--secret-rules", rules_file], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "--secret-rules: rule keystore-file: no regex" in proc.stderr and LIVE not in proc.stdout
    [found] = [f for f in json.loads(proc.stdout)["findings"] if f["rule_id"] == "secret.user.acme-api-key"]
    assert found["path"] == "/app/.env" and found["severity"] == "high"
    bad = tmp_path / "bad.toml"
    bad.write_text("[[rules]\n")
    proc = subprocess.run([sys.executable, "-m", "explorer", "scan", image, "--no-progress", "--secret-rules",
                           str(bad)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert "--secret-rules" in proc.stderr
    # the user's rules are read before any network: not the refused registry's error
    proc = subprocess.run([sys.executable, "-m", "explorer", "scan", "docker://127.0.0.1:9/none/app:1", "--no-progress",
                           "--secret-rules", str(bad)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 2 and "--secret-rules" in proc.stderr and "127.0.0.1:9" not in proc.stderr, proc.stderr
