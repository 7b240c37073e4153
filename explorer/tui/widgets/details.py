"""The details pane: the selected file's metadata, its history across layers, and its findings.

A scrolling container around one Static: a file with many findings is longer than the pane (tab to it,
then the arrows, PgUp/PgDn, Home/End or the mouse wheel scroll it)."""

from __future__ import annotations

from typing import Callable

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from explorer.core.units import human
from explorer.layerfs.analysis import LayerReport
from explorer.core.model import EntryKind, FileEntry
from explorer.detectors.archives import SUFFIXES
from explorer.detectors.redact import redact_text
from explorer.core.textsafe import safe
from explorer.tui.index import ScanIndex
from explorer.tui.widgets.layers import SEVERITY_STYLE
from explorer.tui.tableview import clip


def _field(name: str, value: str, style: str = "") -> Text:
    text = Text(f"{name:>10}  ", style="bold")
    text.append(value, style=style)
    return text


class Details(VerticalScroll):
    plain: str = ""
    """The text shown, without styles (for tests and copy)."""
    _again: Callable[[ScanIndex], None] | None = None
    """Shows the same layer or file again from an index (`redraw`)."""

    def compose(self) -> ComposeResult:
        yield Static(id="details-text")

    def _show(self, rows: list[Text]) -> None:
        self.plain = "\n".join(r.plain for r in rows)
        self.query_one("#details-text", Static).update(Group(*rows))
        self.scroll_home(animate=False)

    def redraw(self, index: ScanIndex) -> None:
        """Show what is shown again, from `index` (an accepted finding has left it)."""
        if self._again is not None:
            self._again(index)

    def show_layer(self, index: ScanIndex, report: LayerReport) -> None:
        self._again = lambda again: self.show_layer(again, report)
        ref, stats, ch = report.ref, report.stats, report.changes
        rows = [
            Text(f"Layer {ref.index}", style="bold underline"),
            _field("created by", " ".join(safe(redact_text(ref.created_by)).split())),
            _field("digest", stats.digest or ref.digest or "?"),
            _field("diff_id", stats.diff_id or "?"),
            _field("stored", f"{human(stats.compressed_size or ref.compressed_size)} ({stats.compression})"),
            _field("media type", safe(ref.media_type or "?")),
            _field("size", f"{human(stats.size)} in {stats.entries} entries"),
            _field("changes", f"+{len(ch.added)} ~{len(ch.modified)} -{len(ch.deleted)}"),
        ]
        problems = [p for p in index.analysis.problems if p.layer == ref.index]
        if not problems:
            rows.append(_field("integrity", "ok: blob digest and diff_id match" if stats.complete
                               else "incomplete", "green" if stats.complete else "bold red"))
        for p in problems:
            rows.append(_field("integrity", safe(p.message), "bold red"))
        findings = index.by_layer.get(ref.index, [])
        if findings:
            counts = ", ".join(f"{n} {s}" for s, n in index.severity_counts(ref.index).items())
            rows.append(_field("findings", counts, SEVERITY_STYLE[index.worst(ref.index) or "info"]))
        self._show(rows)

    def show_file(self, index: ScanIndex, path: str, entry: FileEntry | None, deleted: bool) -> None:
        self._again = lambda again: self.show_file(again, path, entry, deleted)
        analysis = index.analysis
        rows = [Text(safe(path), style="bold underline")]
        if entry is not None:
            kind = entry.kind.value + (" (deleted by this layer)" if deleted else "")
            rows += [
                _field("kind", kind, "red" if deleted else ""),
                _field("mode", f"{entry.mode:04o}", "bold red" if entry.mode & 0o6000 else ""),
                _field("owner", f"{entry.uid}:{entry.gid} {safe(entry.uname)}:{safe(entry.gname)}".rstrip(":")),
                _field("from layer", str(entry.layer)),
            ]
            if entry.kind == EntryKind.FILE:
                rows.append(_field("size", f"{human(entry.size)} ({entry.size} bytes)"))
                rows.append(_field("sha256", entry.digest or "?"))
                if path.lower().endswith(SUFFIXES):
                    rows.append(_field("archive", "o: browse its members, preview them"))
            if entry.linkname:
                rows.append(_field("target", safe(entry.linkname)))
            visible = analysis.in_final(entry)
            rows.append(_field("final", "visible in the final image" if visible else
                               "NOT visible in the final image (still shipped in its layer blob)",
                               "" if visible else "bold magenta"))
            fate = analysis.fates.get((entry.layer, entry.path))
            if fate is not None and not visible:
                by = analysis.layers[fate.layer].ref.created_by
                rows.append(_field(fate.how, f"by layer {fate.layer}: " + " ".join(safe(redact_text(by)).split()),
                                   "magenta"))
        rows.append(Text(""))
        rows.append(Text("history", style="bold"))
        for copy in index.history(path)[:40]:
            what = copy.kind.value
            if copy.kind == EntryKind.OPAQUE:  # the folder stays: only what lower layers put in it goes
                what = ("replaced its contents (opaque)" if copy.path == path
                        else f"hidden by opaque folder {safe(copy.path)}")
            elif copy.is_whiteout:
                what = "deleted" if copy.path == path else f"deleted with {safe(copy.path)}"
            elif copy.kind == EntryKind.FILE:
                what = f"{human(copy.size)} {copy.mode:04o} sha256:{(copy.digest or '')[:12]}"
            rows.append(Text(f"  layer {copy.layer:>3}  {what}"))
        findings = index.findings_for_path(path)
        if findings:
            rows.append(Text(""))
            rows.append(Text("findings", style="bold"))
            for f in findings:
                line = Text("  ")
                line.append(f"{f.severity:<8}", style=SEVERITY_STYLE[f.severity])
                line.append(f" layer {f.layer} {f.rule_id}  {clip(safe(f.evidence), 90)}")
                rows.append(line)
        self._show(rows)
