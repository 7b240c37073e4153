"""ignorefile.accept (the UI's `A`): the entry it appends is TOML that load_ignore_file reads back, and it
matches the accepted finding alone, whatever the path holds (glob characters, quotes, newlines, escape
sequences, bytes that are not UTF-8); and export.new_file, which writes the UI's reports, never overwrites
or follows a symlink."""

from __future__ import annotations

import datetime
import os

import pytest

from explorer.core.errors import ExplorerError
from explorer.core.findings import Finding
from explorer.export import new_file
from explorer.reports.ignorefile import accept, apply_ignores, load_ignore_file

DAY = datetime.date(2026, 12, 7)


def finding(path: str | None, source: str = "file", rule: str = "secret.github-pat", evidence: str = "ghp_ab**") -> Finding:
    return Finding(rule_id=rule, category="secret", severity="high", title="GitHub token", source=source,
                   layer=2 if path else None, path=path, line=1, in_final_image=True, evidence=evidence,
                   created_by="COPY . /", content_sha256="ab" * 32 if path else "")


HOSTILE = ['/srv/a*b?/[x]/.env', '/srv/"quoted"\\back', '/srv/new\nline\x1b[2J', '/srv/not-utf8-\udcff',
           '/srv/ünïcode ✓', "/srv/# not a comment = 'x'"]


@pytest.mark.parametrize("path", HOSTILE)
def test_an_accepted_finding_is_read_back_and_matches_it_alone(tmp_path, path):
    ignore = tmp_path / "accepted.toml"
    accepted = finding(path)
    entry = accept(str(ignore), accepted, "revoked\non 2026-12-01", today=DAY)
    assert entry.startswith("\n# accepted in the explorer UI on 2026-12-07: high GitHub token\n")
    assert "\x1b" not in entry and "\udcff" not in entry
    rules = load_ignore_file(str(ignore))
    assert [(r.rule, r.reason) for r in rules] == [("secret.github-pat", "revoked on 2026-12-01")]
    others = [finding(path + "x"), finding("/srv/other"), finding(path, rule="secret.github-patx"),
              finding(path.replace("*", "Q").replace("?", "Q")) if "*" in path else finding("/srv/abc")]
    kept, ignored = apply_ignores([accepted, *others], rules)
    assert [f for f, _ in ignored] == [accepted] and kept == others


def test_config_and_history_findings_are_accepted_by_fingerprint_and_entries_append(tmp_path):
    ignore = tmp_path / "accepted.toml"
    ignore.write_text('[[ignore]]\nrule = "misconfig.*"\nreason = "known"')  # no newline at the end
    env = finding(None, source="config", rule="secret.aws-secret-access-key", evidence="AWS_SECRET=AbCd****")
    accept(str(ignore), env, "rotated", today=DAY)
    text = ignore.read_text()
    assert text.startswith('[[ignore]]\nrule = "misconfig.*"\nreason = "known"\n\n# accepted')
    assert f'fingerprint = "{env.fingerprint}"' in text
    rules = load_ignore_file(str(ignore))
    other = finding(None, source="config", rule="secret.aws-secret-access-key", evidence="OTHER=XyZw****")
    kept, ignored = apply_ignores([env, other], rules)
    assert [f for f, _ in ignored] == [env] and kept == [other]
    with pytest.raises(ExplorerError, match="needs a reason"):
        accept(str(ignore), env, " \n ")


def test_new_file_never_overwrites_or_follows_a_symlink(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    folder = tmp_path / "reports"
    folder.mkdir()
    os.symlink(outside, folder / "explorer-report.sarif")
    names = ["explorer-report.sarif", "explorer-report-2.sarif", "explorer-report-3.sarif"]
    first = new_file(str(folder), names, b"one")
    second = new_file(str(folder), names, b"two")
    assert (first, second) == (str(folder / "explorer-report-2.sarif"), str(folder / "explorer-report-3.sarif"))
    assert outside.read_text() == "keep" and (folder / "explorer-report-2.sarif").read_bytes() == b"one"
    with pytest.raises(ExplorerError, match="exist already"):
        new_file(str(folder), names, b"three")
    made = new_file(str(tmp_path / "new" / "deeper"), names, b"x")  # a folder that is not there yet is made
    assert made == str(tmp_path / "new" / "deeper" / "explorer-report.sarif")
