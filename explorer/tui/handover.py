"""The main screen's hand-over and findings actions (the app's bindings delegate here): copy (`y`,
ctrl+c), the findings report (`R`), a finding's detail view (enter), the findings filter (`F`), and
accepting a finding into the ignore file (`A`)."""

from __future__ import annotations

from rich.text import Text

from explorer.core.findings import Finding
from explorer.core.textsafe import safe
from explorer.tui.clipboard import copy, entry_choices, finding_choices
from explorer.tui.widgets.findings import FindingsTable
from explorer.tui.widgets.filetree import FileTree


def _selection_choices(app) -> dict[str, str] | None:
    """What can be copied of the selection: the finding under the cursor when the findings have the
    focus, else the file under the tree's cursor."""
    table = app.query_one(FindingsTable)
    if table.has_focus and table.current_finding() is not None:
        return finding_choices(table.current_finding())
    node = app.query_one(FileTree).cursor_node
    data = node.data if node is not None else None
    if data is None or data.more:
        return None
    entry = data.entry
    return entry_choices(data.path, entry.digest if entry is not None else None)


def copy_menu(app) -> None:
    from explorer.tui.screens.copymenu import CopyMenu

    choices = _selection_choices(app)
    if not choices:
        app.notify("Select a file or a finding first")
        return

    def chosen(kind: str | None) -> None:
        if kind:
            copy(app, kind, choices[kind])
    app.push_screen(CopyMenu(choices), chosen)


def copy_path(app) -> None:
    """ctrl+c: text selected with the mouse if any (as Textual's own ctrl+c), else the selection's path."""
    selected = app.screen.get_selected_text() if hasattr(app.screen, "get_selected_text") else None
    if selected:
        copy(app, "the selected text", selected)
        return
    choices = _selection_choices(app)
    if not choices or "path" not in choices:
        app.notify("Select a file or a finding with a path first")
        return
    copy(app, "path", choices["path"])


def open_finding(app, finding: Finding) -> None:
    """The finding's detail view; enter there goes to its file (or config line)."""
    from explorer.tui.screens.finding import FindingDetail

    result = app.scan_index.result if app.scan_index is not None else None
    findings = app.query_one(FindingsTable).all_findings

    def closed(answer: str | None) -> None:
        if answer == "goto":
            app.post_message(FindingsTable.FindingChosen(finding))
    app.push_screen(FindingDetail(finding, findings, result.detectors.catalog if result else []), closed)


def report_findings(app) -> list[Finding]:
    """The findings a report holds: the scan's, less the ignored and the accepted ones, in the scan's order."""
    shown = {id(f) for f in app.query_one(FindingsTable).all_findings}
    return [f for f in app.scan_index.result.findings if id(f) in shown]


def export_report(app) -> None:
    from explorer.tui.screens.report import ReportScreen

    if not app.scanned():
        return
    findings = report_findings(app)

    def chosen(answer) -> None:
        if answer:
            folder, fmt = answer
            _write_reports(app, findings, folder, fmt)
    app.push_screen(ReportScreen(len(findings)), chosen)


def _write_reports(app, findings: list[Finding], folder: str, fmt: str) -> None:
    from explorer.export import new_file
    from explorer.reports.handover import FORMATS, report_names, report_text

    # in the scan's order (Finding.sort_key), as `scan --ignore-file` lists them once the accepted are in the file
    ignored = sorted([*app.ignored, *app.accepted], key=lambda pair: pair[0].sort_key())
    written = []
    try:
        for one in (FORMATS if fmt == "all" else (fmt,)):
            text = report_text(app.scan_index.result, findings, ignored, one)
            written.append(new_file(folder, report_names(one), text.encode("utf-8", "surrogateescape")))
    except Exception as exc:  # noqa: BLE001 - ExplorerError or OSError: said in the UI
        app.notify(f"report not written: {safe(str(exc))}", severity="error", timeout=10, markup=False)
        return
    app.report_paths = written
    app.notify("wrote " + ", ".join(safe(p) for p in written), title="report exported", timeout=10, markup=False)


def filter_findings(app) -> None:
    from explorer.tui.findings_filter import parse
    from explorer.tui.screens.prompt import PromptScreen

    table = app.query_one(FindingsTable)

    def answered(text: str | None) -> None:
        if text is not None:
            table.set_filter(parse(text))
            table.focus()
    app.push_screen(PromptScreen(
        "Filter the findings",
        "Words, any order: a severity (high, high,critical, or medium+ for medium and worse), a category "
        "(secret, miner,backdoor…), rule:GLOB on the rule id, and any text the rule, title, path, evidence or "
        "history line must hold. Empty: every finding.",
        table.filter.text(), "high+ secret rule:secret.* token"), answered)


def accept_finding(app) -> None:
    from explorer.tui.screens.prompt import PromptScreen

    table = app.query_one(FindingsTable)
    finding = table.current_finding()
    if finding is None or not isinstance(table.current_item(), Finding):
        app.notify("Put the cursor on one finding first (open its group with enter)")
        return
    question = Text.assemble("Accept ", (safe(finding.rule_id), "bold"), " at ", (safe(finding.where), "bold"),
                             f": an entry is appended to {safe(app.ignore_file)}, which `explorer scan` and "
                             "`explorer open` read. Why is it acceptable?")

    def answered(reason: str | None) -> None:
        if reason is None:
            return
        if not reason.strip():
            app.notify("Not accepted: a reason is needed", severity="warning")
            return
        from explorer.core.errors import ExplorerError
        from explorer.reports.ignorefile import accept

        try:
            accept(app.ignore_file, finding, reason)
        except ExplorerError as exc:
            app.notify(safe(str(exc)), severity="error", timeout=10, markup=False)
            return
        app.accepted.append((finding, " ".join(reason.split())))
        table.remove(finding)
        forget(app, finding)
        table.focus()
        app.notify(f"{safe(finding.rule_id)} accepted into {safe(app.ignore_file)}", title="accepted",
                   markup=False)
    app.push_screen(PromptScreen("Accept a finding", question, placeholder="reason (required)"), answered)


def forget(app, finding: Finding) -> None:
    """An accepted finding leaves every pane at once, as after a scan with the ignore file: the tree's
    marks (the cursor stays), the layers' counts, the details and the title's counts."""
    from explorer.tui.widgets.details import Details
    from explorer.tui.widgets.layers import LayerTable

    index = app.scan_index
    index.drop(finding)
    app.show_counts()
    app.query_one(LayerTable).load(index, cursor=app.layer_index)
    tree = app.query_one(FileTree)
    if tree.view is not None:
        tree.refilter(tree.filter)
    app.query_one(Details).redraw(index)
