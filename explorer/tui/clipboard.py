"""Copying to the terminal's clipboard (OSC 52, Textual's App.copy_to_clipboard), with a notice.

What can be copied of a selection (a file of the tree, a finding) is offered by the copy menu
(explorer.tui.screens.copymenu); the texts come from explorer.reports.handover (evidence masked).
"""

from __future__ import annotations

from explorer.core.findings import Finding
from explorer.reports.handover import finding_json, finding_text

CHOICES = {"path": "the path", "sha256": "the file's sha256", "text": "the finding as text",
           "json": "the finding as JSON"}


def finding_choices(finding: Finding) -> dict[str, str]:
    """What can be copied of `finding`, each with its text."""
    out = {}
    if finding.path:
        out["path"] = finding.path
    if finding.content_sha256:
        out["sha256"] = finding.content_sha256
    out["text"] = finding_text(finding)
    out["json"] = finding_json(finding)
    return out


def entry_choices(path: str, digest: str | None) -> dict[str, str]:
    """What can be copied of a file of the tree."""
    out = {"path": path}
    if digest:
        out["sha256"] = digest.removeprefix("sha256:")
    return out


def copy(app, what: str, text: str) -> None:
    """Put `text` on the clipboard (OSC 52: the terminal must allow it) and say what was copied."""
    app.copy_to_clipboard(text)
    lines = text.count("\n") + 1
    size = f"{len(text)} characters" + (f", {lines} lines" if lines > 1 else "")
    app.notify(f"Copied {CHOICES.get(what, what)} ({size}) to the clipboard (OSC 52: the terminal must allow it)",
               title="copied", markup=False)
