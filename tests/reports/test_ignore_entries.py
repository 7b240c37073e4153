"""Ignore entries on ENV keys, history lines and fingerprints; `expires`; a warning for an entry that matched
nothing or expired; `.trivyignore` read as a list of rule ids."""

from __future__ import annotations

import json

import pytest

from test_baseline import run, spec, token


@pytest.fixture
def image(make_image, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # the default ignore files are read from the working folder
    return make_image(spec(base=b"ID=one\n", extra_layer=False, secret=token(1), aws="A" * 4 + token(3)[4:40]))


def scan(image, *flags):
    rc, out, err = run("scan", image, "--format", "json", *flags)
    doc = json.loads(out)
    return rc, {(f["rule_id"], f["source"]) for f in doc["findings"]}, \
        {(f["rule_id"], f["source"]) for f in doc.get("ignored", [])}, err.splitlines()


ALL = {("secret.github-pat", "file"), ("secret.aws-secret-access-key", "config"),
       ("suspicious.history.download-exec", "history")}


def test_env_history_and_fingerprint_entries(image, tmp_path):
    rc, found, ignored, err = scan(image)
    assert ALL <= found and not ignored and err == []
    pat = next(f for f in json.loads(run("scan", image, "--format", "json")[1])["findings"]
               if f["rule_id"] == "secret.github-pat")
    (tmp_path / ".explorer-ignore.toml").write_text(f'''
[[ignore]]
rule = "secret.*"
env = "AWS_*"
reason = "rotated; the build arg is gone"
[[ignore]]
rule = "suspicious.history.*"
history = "*curl -fsSL http://203.0.113.7/*"
reason = "our own installer"
[[ignore]]
rule = "secret.github-pat"
fingerprint = "{pat['fingerprint']}"
expires = 2999-01-01
reason = "test token"
[[ignore]]
rule = "secret.*"
env = "NOT_THERE"
reason = "matches nothing"
''')
    rc, found, ignored, err = scan(image)
    assert ALL <= ignored and not ALL & found
    assert err == [f"explorer: warning: .explorer-ignore.toml: ignore entry 4 (secret.*) matched no finding"]


def test_an_env_entry_does_not_hide_files_or_history(image, tmp_path):
    (tmp_path / "ignore.toml").write_text('[[ignore]]\nrule = "*"\nenv = "*"\nreason = "config only"\n')
    rc, found, ignored, err = scan(image, "--ignore-file", str(tmp_path / "ignore.toml"))
    assert ignored == {("secret.aws-secret-access-key", "config")}
    assert {("secret.github-pat", "file"), ("suspicious.history.download-exec", "history")} <= found


def test_expired_entries_warn_and_no_longer_apply(image, tmp_path):
    (tmp_path / ".explorer-ignore.toml").write_text(
        '[[ignore]]\nrule = "secret.github-pat"\nexpires = 2020-03-01\nreason = "was a test token"\n')
    rc, found, ignored, err = scan(image, "--fail-on", "high")
    assert rc == 1 and ("secret.github-pat", "file") in found and not ignored
    assert err == ["explorer: warning: .explorer-ignore.toml: ignore entry 1 (secret.github-pat) expired on "
                   "2020-03-01; no longer applied"]
    (tmp_path / ".explorer-ignore.toml").write_text('[[ignore]]\nrule = "x"\nexpires = "soon"\nreason = "r"\n')
    rc, out, err = run("scan", "--format", "json", image)
    assert (rc, out, err) == (2, "", "explorer: .explorer-ignore.toml: ignore entry 1: expires must be a date "
                                     "(expires = 2027-03-01)\n")


def test_trivyignore(image, tmp_path):
    (tmp_path / ".trivyignore").write_text("# accepted\nCVE-2023-0001\nsecret.github-pat exp:2999-12-31\n"
                                           "suspicious.history.download-exec exp:2021-01-01  # old\n")
    rc, found, ignored, err = scan(image)
    assert ignored == {("secret.github-pat", "file")}
    assert ("suspicious.history.download-exec", "history") in found
    assert err == ["explorer: warning: .trivyignore: line 4 (suspicious.history.download-exec) expired on "
                   "2021-01-01; no longer applied"]
