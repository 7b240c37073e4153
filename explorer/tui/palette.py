"""The command palette's entries: every action, each layer, and the first findings.

The palette reads entry titles and help as markup, so image text goes through `palette_text`.
"""

from __future__ import annotations

from textual.app import SystemCommand

from explorer.core.textsafe import safe
from explorer.tui.widgets.filetree import FileTree
from explorer.tui.widgets.findings import FindingsTable
from explorer.tui.widgets.layers import short_created_by
from explorer.tui.tableview import clip


def palette_text(text: str) -> str:
    """Text for the command palette, which reads titles and help as markup: every '[' escaped, so that
    image text shows as written (textual.markup.escape leaves '[2J' alone, and the '[' after it opens a tag)."""
    return text.replace("[", "\\[")


def palette_commands(app):
    """SystemCommands for the explorer app (after Textual's own)."""
    yield SystemCommand("Help: list every key", "Show the help screen", app.action_help)
    yield SystemCommand("Toggle changes only", "Show only what the selected layer changed",
                        app.action_toggle_changes)
    yield SystemCommand("Focus findings", "Move to the findings list", app.action_focus_findings)
    for status in ("added", "modified", "deleted", "unchanged"):
        yield SystemCommand(f"Files: show or hide {status}", "Filter the file tree by what the layer did",
                            lambda s=status: app.action_toggle_status(s))
    yield SystemCommand("Files: flagged only", "Show only paths with findings", app.action_toggle_flagged)
    yield SystemCommand("Files: show everything", "Clear the file filters", app.action_clear_filters)
    yield SystemCommand("Files: sort by name or size", "Cycle the file tree's sort",
                        lambda: app.query_one(FileTree).action_cycle_sort())
    yield SystemCommand("Findings: sort by severity, layer or category", "Cycle the findings' sort",
                        lambda: app.query_one(FindingsTable).action_cycle_sort())
    yield SystemCommand("Export the selected copy", "Write it to a folder (as explorer extract)",
                        app.action_export)
    yield SystemCommand("Copy to the clipboard", "The selection's path or sha256, or the finding as text or JSON",
                        app.action_copy_menu)
    yield SystemCommand("Copy the path", "The selected file's or finding's path", app.action_copy_path)
    yield SystemCommand("Export the findings report", "SARIF or JSON as scan writes them, or Markdown for a ticket",
                        app.action_export_report)
    yield SystemCommand("Findings: group by rule or not", "One row per rule with its count",
                        lambda: app.query_one(FindingsTable).toggle_grouping())
    yield SystemCommand("Findings: filter", "By severity, category, rule or text", app.action_filter_findings)
    yield SystemCommand("Findings: accept the selected one", "Append it, with a reason, to the ignore file",
                        app.action_accept_finding)
    yield SystemCommand("Toggle light/dark theme", "Switch between explorer-light and textual-dark",
                        app.action_toggle_dark)
    yield SystemCommand("Find a path", "Search every layer, deleted copies included", app.action_search)
    yield SystemCommand("Files: filter by name", "Narrow the file tree to matching paths as you type",
                        app.action_filter_names)
    yield SystemCommand("Files: expand all", "Open every folder of the file tree", app.action_expand_all)
    yield SystemCommand("Files: collapse all", "Close every folder of the file tree", app.action_collapse_all)
    yield SystemCommand("Wasted space", "The files wasting the most (deleted or replaced copies)",
                        lambda: app.action_space("wasted"))
    yield SystemCommand("Largest files", "The biggest copy of each path, in any layer",
                        lambda: app.action_space("largest"))
    yield SystemCommand("Image config", "Config, history as a Dockerfile, raw JSON, layer concepts",
                        app.action_config)
    yield SystemCommand("Raw tar members of the layer", "The selected layer's members as stored, "
                        ".wh. whiteouts and opaque markers explained", app.action_raw_layer)
    yield SystemCommand("Browse the selected archive", "The members of a zip, jar, war, whl, apk or tar.gz in the "
                        "file tree: member archives, each member's content", app.action_archive)
    yield SystemCommand("Guided tour", "Layers, whiteouts, opaque folders, findings, digest vs diff_id, "
                        "where they appear in this image", app.action_tour)
    if app.scan_index is not None:
        for report in app.scan_index.analysis.layers:
            created = palette_text(clip(short_created_by(report.ref.created_by), 60, "middle"))
            yield SystemCommand(f"Go to layer {report.index}", created,
                                lambda i=report.index: app._step_layer(i - app.layer_index))
        for finding in app.scan_index.result.findings[:200]:
            if finding.layer is not None:
                yield SystemCommand(palette_text(f"Finding: {finding.rule_id} {safe(finding.path or '')}"),
                                    f"{finding.severity} in layer {finding.layer}",
                                    lambda f=finding: app.post_message(FindingsTable.FindingChosen(f)))
