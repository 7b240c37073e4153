"""The raw view of one layer (`r`): its tar members as stored, `.wh.` whiteouts and `.wh..wh..opq`
opaque markers included, each marker with what it means to Docker.

The file tree shows what Docker makes of a layer; this shows what the layer holds. The members are
read on a worker (explorer.layerfs.rawmembers: the scan's own tar parser, headers only, capped);
every name is escaped text in a Text object, never markup.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from explorer.core.units import human
from explorer.layerfs.analysis import ImageAnalysis
from explorer.layerfs.rawmembers import RawListing, RawMember, raw_members, shown_path
from explorer.core.limits import DEFAULT, Limits
from explorer.core.textsafe import safe
from explorer.tui.lineview import LineView, Lines, listing_lines
from explorer.tui.screens.timeline import created_by
from explorer.tui.widgets.keybar import KeyBar
from explorer.tui.themes import MUTED

MARKER_STYLE = {"whiteout": "bold red", "opaque": "bold magenta", "aufs": MUTED, "pax global": "bold red"}
HEADER = f"{'#':>5}  {'type':<10} {'mode':<5} {'owner':<11} {'size':>9}  name as stored"


def member_row(m: RawMember) -> Text:
    """`   12  0 file     0644  0:0          4 KB  etc/passwd` (then `-> target`, then the meaning)."""
    kind = f"{m.type} {m.kind}"
    row = Text(f"{m.position:>5}  ")
    row.append(f"{kind[:10]:<10}", style=MARKER_STYLE.get(m.kind, ""))
    row.append(f" {m.mode:04o}  {f'{m.uid}:{m.gid}'[:11]:<11} {human(m.size):>9}  ")
    row.append(safe(m.name), style=MARKER_STYLE.get(m.kind, ""))
    if m.linkname:
        row.append(f" {'->' if m.type == '2' else '=>'} {safe(m.linkname)}", style=MUTED)
    if m.meaning:
        row.append(f"   {safe(m.meaning)}", style="italic")
    return row


class RawLayerView(Screen[str | None]):
    """The members of layer `layer`; `ready` once they are read. Enter on a member dismisses with the path
    the tree shows for it (the path a whiteout deletes, the folder an opaque marker empties)."""

    BINDINGS = [
        Binding("escape,q,r", "dismiss(None)", "Close", id="raw.close", tooltip="Close the raw tar view"),
        Binding("n", "marker(1)", "Next whiteout", id="raw.next",
                tooltip="Go to the next whiteout or opaque marker (.wh. member)"),
        Binding("p", "marker(-1)", "Prev whiteout", id="raw.prev",
                tooltip="Go to the previous whiteout or opaque marker (.wh. member)"),
    ]
    DEFAULT_CSS = """
    RawLayerView #raw-meta { height: auto; max-height: 8; padding: 0 1; background: $boost; }
    RawLayerView #raw-members { height: 1fr; }
    """

    def __init__(self, analysis: ImageAnalysis, layer: int, limits: Limits = DEFAULT) -> None:
        super().__init__()
        self.analysis = analysis
        self.layer_index = layer
        self.limits = limits
        self.listing: RawListing | None = None
        self.marker_rows: list[int] = []
        self.ready = False

    def compose(self) -> ComposeResult:
        yield Static(id="raw-meta")
        yield LineView(id="raw-members", cursor_rows=True, show_gutter=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#raw-meta", Static).update(self._meta(None))
        self.query_one(LineView).set_lines(Lines([Text("reading the layer's tar headers…", style=MUTED)]))
        self.query_one(LineView).focus()
        self.read()

    def _meta(self, listing: RawListing | None) -> Text:
        report = self.analysis.layers[self.layer_index]
        meta = Text(f"Layer {self.layer_index} as stored: its tar members in order", style="bold")
        meta.append(f"  ({report.stats.compression}, {human(report.stats.compressed_size)} stored)", style="dim")
        meta.append("\n" + created_by(self.analysis, self.layer_index, 160), style="dim")
        meta.append("\nA member named .wh.NAME is a whiteout: it deletes NAME from the layers below. A member "
                    "DIR/.wh..wh..opq makes DIR opaque: what lower layers put in DIR is hidden. The deleted "
                    "bytes still ship in the lower layers' blobs.")
        if listing is not None:
            meta.append(f"\n{len(listing.members)} members, {listing.whiteouts} whiteout/opaque markers"
                        + ("  ·  n/p: next/previous marker" if listing.whiteouts else "")
                        + "  ·  enter: the member's path in the file tree", style="bold")
            for problem in listing.problems[:3]:
                meta.append("\n" + safe(problem), style="bold red")
        return meta

    @work(thread=True, exclusive=True, exit_on_error=False, group="raw-layer")
    def read(self) -> None:
        listing = raw_members(self.analysis.source, self.analysis.layers[self.layer_index].ref, self.limits)
        self.app.call_from_thread(self._shown, listing)

    def _shown(self, listing: RawListing) -> None:
        self.listing = listing
        members, problems = listing.members, [safe(p) for p in listing.problems]
        if not members and not problems:
            problems = ["(no members: an empty layer)"]
        marks = {i + 1: "marker" for i, m in enumerate(members) if m.meaning}
        width = 45 + max((len(m.name) + len(m.linkname) + len(m.meaning) + 8 for m in members), default=40)
        self.marker_rows = sorted(marks)
        self.query_one("#raw-meta", Static).update(self._meta(listing))
        view = self.query_one(LineView)
        view.set_lines(listing_lines(HEADER, members, member_row, problems, width), marks)
        if self.marker_rows:
            view.go_to(self.marker_rows[0])
        self.ready = True

    def action_marker(self, direction: int) -> None:
        if not self.marker_rows:
            self.notify("this layer has no whiteout or opaque marker")
            return
        self.query_one(LineView).go_to_next(self.marker_rows, direction)

    @on(LineView.Chosen)
    def _chosen(self, message: LineView.Chosen) -> None:
        members = self.listing.members if self.listing is not None else []
        if 1 <= message.row <= len(members):
            self.dismiss(shown_path(members[message.row - 1]))
