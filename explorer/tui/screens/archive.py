"""The archive view (`o` on a file): the members of a zip, jar, war, whl, apk, tar.gz… in a layer — name
as stored, size, compressed size, modification time, kind, findings — member archives browsable in
turn, and enter on a member previews it in the preview (text/hex, find, findings).

The archive's bytes come through the preview's reader (`ImageAnalysis.read`, the --max-file-scan
prefix); the listing and every member's bytes come from explorer.detectors.archivelisting, on a
worker, within the scan's caps for archives (which the view names when one is reached). This screen
only draws what it is given: every name is escaped text in a Text object, never markup.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from explorer.core.findings import SEVERITY_RANK, Finding
from explorer.core.limits import DEFAULT, Limits
from explorer.core.model import EntryKind, FileEntry
from explorer.core.textsafe import safe
from explorer.core.units import human
from explorer.detectors import archives
from explorer.detectors.archivelisting import (ArchiveError, ArchiveMember, Level, open_nested, open_top,
                                               read_member, walk_to)
from explorer.layerfs.analysis import ImageAnalysis
from explorer.tui.lineview import LineView, Lines, listing_lines
from explorer.tui.widgets.keybar import KeyBar
from explorer.tui.screens.timeline import TimelineList, created_by
from explorer.tui.screens.viewer import WINDOW, FileViewer
from explorer.tui.index import SEVERITY_LETTER
from explorer.tui.widgets.layers import SEVERITY_STYLE
from explorer.tui.themes import MUTED

HEADER = f"{'kind':<9} {'size':>9} {'stored':>9}  {'modified':<16}  {'!':<2}  name as stored"
NAME_AT = HEADER.index("name")
"""Cells before a row's name."""
CAPS = (f"caps, as the scan's: {archives.MAX_DEPTH} levels, {archives.MAX_MEMBERS:,} members and "
        f"{archives.MAX_TOTAL >> 20} MiB uncompressed a listing, {archives.MAX_RATIO}x inflation, member archives "
        f"under {archives.MAX_MEMBER >> 20} MiB")


def member_flags(findings: list[Finding], prefix: str, members: list[ArchiveMember]) -> dict[int, str]:
    """The worst severity of the findings (already those of the archive's copy) in or below each member,
    by position: a finding's path is `prefix!MEMBER` or `prefix!MEMBER!/…` in a member archive."""
    by_shown: dict[str, ArchiveMember] = {m.shown: m for m in members}
    flags: dict[int, str] = {}
    for f in findings:
        if not (f.path or "").startswith(prefix + "!/"):
            continue
        tail = f.path[len(prefix) + 1:]
        member = by_shown.get(tail)
        at = tail.find("!/")
        while member is None and at > 0:
            member, at = by_shown.get(tail[:at]), tail.find("!/", at + 2)
        if member is not None and (member.position not in flags
                                   or SEVERITY_RANK[f.severity] > SEVERITY_RANK[flags[member.position]]):
            flags[member.position] = f.severity
    return flags


def member_row(m: ArchiveMember, severity: str | None) -> Text:
    """`file         4.1 kB     1.2 kB  2024-01-01 00:00  !H  config/application.yml` (and a link's target,
    an unsafe name's warning)."""
    kind = "archive" if m.archive else m.kind
    size = human(m.size) if m.kind not in ("dir", "symlink", "hardlink") else ""
    stored = human(m.stored) if m.stored is not None and size else "-"
    row = Text(f"{kind:<9} {size:>9} {stored:>9}  {m.mtime:<16}  ")
    row.append(f"{'!' + SEVERITY_LETTER[severity] if severity else '':<2}", style=SEVERITY_STYLE.get(severity, ""))
    row.append("  ")
    row.append(m.name, style="bold cyan" if m.archive else "")
    if m.link:
        row.append(f" {'->' if m.kind == 'symlink' else '=>'} {m.link}", style=MUTED)
    if m.unsafe:
        row.append(f"   unsafe name (absolute or climbing out): the scan names it {m.shown}", style="bold red")
    ratio = bomb_ratio(m)
    if ratio:
        row.append(f"   states {ratio:,}x its stored bytes: a decompression bomb's ratio", style="bold red")
    return row


def bomb_ratio(m: ArchiveMember) -> int | None:
    """The member's stated size over its stored size when the scan would stop reading it as a bomb (zip)."""
    if m.stored is not None and m.size > archives.RATIO_GRACE and m.size > archives.MAX_RATIO * max(m.stored, 1):
        return m.size // max(m.stored, 1)
    return None


@dataclass
class Page:
    """One archive level as the view draws it: the findings' worst severity by member position, the widest row."""

    level: Level
    flags: dict[int, str]
    width: int


class ArchiveView(Screen[None]):
    """The members of the archive `entry` (a regular file of a layer), opened at the member `at` names
    (`!/lib/a.jar!/b.yml`, a finding's path after the archive's) when given; `ready` once shown."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="archive.back",
                tooltip="Up to the archive holding this member archive, or close the archive view"),
        Binding("q,o", "dismiss(None)", "Close", id="archive.close", tooltip="Close the archive view"),
        Binding("n", "flagged(1)", "Next finding", id="archive.next",
                tooltip="Go to the next member with a finding (in it, or in a member archive below it)"),
        Binding("p", "flagged(-1)", "Prev finding", id="archive.prev",
                tooltip="Go to the previous member with a finding"),
    ]
    DEFAULT_CSS = """
    ArchiveView #archive-meta { height: auto; max-height: 10; padding: 0 1; background: $boost; }
    ArchiveView #archive-members { height: 1fr; }
    """

    def __init__(self, analysis: ImageAnalysis, entry: FileEntry, findings: list[Finding] = (),
                 limits: Limits = DEFAULT, at: str = "") -> None:
        super().__init__()
        self.analysis = analysis
        self.entry = entry
        self.findings = [f for f in findings if f.source == "file" and f.layer == entry.layer and f.path
                         and f.path.startswith(entry.path + "!/")]
        """The findings in this copy's members."""
        self.limits = limits
        self.at = at
        self.pages: list[Page] = []
        """The archive and the member archives opened in it, the one shown last."""
        self.ready = False

    def compose(self) -> ComposeResult:
        yield Static(id="archive-meta")
        yield LineView(id="archive-members", cursor_rows=True, show_gutter=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#archive-meta", Static).update(Text(f"reading {safe(self.entry.path)}…", style="bold"))
        self.query_one(LineView).set_lines(Lines([Text("reading the archive…", style=MUTED)]))
        self.query_one(LineView).focus()
        self.read()

    @property
    def levels(self) -> list[Level]:
        return [page.level for page in self.pages]

    @property
    def level(self) -> Level | None:
        return self.pages[-1].level if self.pages else None

    @property
    def flags(self) -> dict[int, str]:
        return self.pages[-1].flags if self.pages else {}

    def _page(self, level: Level) -> Page:
        """How `level` is drawn (on the worker: a hostile archive's 20,000 rows are measured there)."""
        members = level.listing.members
        flags = member_flags(self.findings, self.entry.path + level.path, members)
        width = max((member_row(m, None).cell_len if m.link or m.unsafe or bomb_ratio(m)  # the few with more
                     else NAME_AT + cell_len(m.name) for m in members), default=len(HEADER))
        return Page(level, flags, width)

    # -- reading (workers) -------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="archive")
    def read(self) -> None:
        """The archive's bytes through the preview's reader, its listing, and the way down to `at`."""
        try:
            top = open_top(self.analysis.read(self.entry, self.limits.max_file_scan), self.entry.size)
        except Exception as exc:  # noqa: BLE001 - a damaged layer is said on the screen, not as a traceback
            self.app.call_from_thread(self._failed, f"cannot read {safe(self.entry.path)}: {safe(str(exc))}")
            return
        levels, member, why = walk_to(top, self.at) if self.at and top.listing.members else ([top], None, "")
        self.app.call_from_thread(self._shown, [self._page(level) for level in levels], member, why)

    @work(thread=True, exclusive=True, exit_on_error=False, group="archive")
    def descend(self, pages: list[Page], member: ArchiveMember) -> None:
        level = pages[-1].level
        try:
            nested = open_nested(level, member)
        except ArchiveError as exc:  # its bytes are still there to see
            self.app.call_from_thread(self.notify, f"{level.path}!{member.shown}: {exc}; shown in the preview",
                                      title="not opened", severity="warning", markup=False)
            self.app.call_from_thread(self._preview, level, member)
            return
        self.app.call_from_thread(self._shown, [*pages, self._page(nested)], None, "")

    def _preview(self, level: Level, member: ArchiveMember) -> None:
        self.app.push_screen(MemberViewer(self.analysis, self.entry, level, member, self.findings))

    # -- showing ------------------------------------------------------------------------------
    def _failed(self, message: str) -> None:
        self.query_one("#archive-meta", Static).update(Text(message, style="bold red"))
        self.query_one(LineView).set_lines(Lines([Text(message, style="bold red")]))
        self.ready = True

    def _shown(self, pages: list[Page], member: ArchiveMember | None, why: str) -> None:
        self.pages = pages
        page = pages[-1]
        members, flags = page.level.listing.members, page.flags
        marks = {position + 1: severity for position, severity in flags.items()}
        self.query_one("#archive-meta", Static).update(self._meta())
        view = self.query_one(LineView)
        view.set_lines(listing_lines(HEADER, members, lambda m: member_row(m, flags.get(m.position)),
                                     page.level.listing.problems, page.width), marks)
        view.go_to(member.position + 1 if member is not None else (min(marks) if marks else 1))
        if why:
            self.notify(why, title="archive", severity="warning", markup=False)
        self.ready = True

    def _meta(self) -> Text:
        level = self.level
        listing = level.listing
        meta = Text(f"Archive {safe(self.entry.path)}{level.path}", style="bold")
        meta.append(f"  ({listing.kind or 'not an archive'}; layer {self.entry.layer})", style="dim")
        meta.append("\n" + created_by(self.analysis, self.entry.layer, 160), style="dim")
        if level.depth == 1 and not self.entry.path.lower().endswith(archives.SUFFIXES) and listing.kind:
            meta.append("\nnot named like an archive: the scan did not look inside it", style="bold yellow")
        flagged = len(self.flags)
        meta.append(f"\n{len(listing.members)} members" + (f", {flagged} with findings (n/p)" if flagged else "")
                    + "  ·  enter: preview a member, or open a member archive"
                    + ("  ·  escape: up to the archive holding this one" if level.depth > 1 else ""), style="bold")
        meta.append("\n" + CAPS, style="dim")
        for problem in listing.problems[:3]:
            meta.append("\n" + problem, style="bold red")
        return meta

    # -- keys -----------------------------------------------------------------------------------
    def action_back(self) -> None:
        if len(self.pages) > 1:  # up a level, the cursor on the member archive left
            left, parent = self.pages[-1].level, self.pages[-2].level
            came_from = next((m for m in parent.listing.members if f"{parent.path}!{m.shown}" == left.path), None)
            self._shown(self.pages[:-1], came_from, "")
            return
        self.dismiss(None)

    def action_flagged(self, direction: int) -> None:
        if not self.flags:
            self.notify("no member of this archive has a finding")
            return
        self.query_one(LineView).go_to_next(sorted(position + 1 for position in self.flags), direction)

    @on(LineView.Chosen)
    def _chosen(self, message: LineView.Chosen) -> None:
        level = self.level
        members = level.listing.members if level is not None else []
        if not 1 <= message.row <= len(members):
            return
        member = members[message.row - 1]
        if member.archive:
            self.descend(self.pages, member)
        elif member.kind == "file":
            self._preview(level, member)
        else:
            self.notify(f"{member.name}: a {member.kind} member, no content to show", markup=False)


class MemberViewer(FileViewer):
    """The preview of one member of an archive: the preview's text and hex views, find and findings, the
    bytes read on its worker from the archive level the archive view holds. A member has no versions of its
    own (its archive has), so the keys for versions and diffs are off here."""

    NO_VERSIONS = frozenset({"version", "diff_previous", "diff_pick"})

    def __init__(self, analysis: ImageAnalysis, archive: FileEntry, level: Level, member: ArchiveMember,
                 findings: list[Finding] = ()) -> None:
        entry = FileEntry(f"{archive.path}{level.path}!{member.shown}", EntryKind.FILE, archive.layer,
                          mode=0o644, size=member.size)
        super().__init__(analysis, entry, findings)
        self.archive = archive
        self.level = level
        self.member = member

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action not in self.NO_VERSIONS

    def read_window(self, entry: FileEntry, offset: int) -> bytes:
        return read_member(self.level.data, self.member, offset + WINDOW)[offset:]

    def _start_loading(self) -> None:
        self.load(self.entry, 0)

    def _show_timeline(self) -> None:
        self.query_one("#timeline", TimelineList).say(
            f"a member of {safe(self.archive.path)}: the archive's own versions are in its preview (v)")

    def _about(self) -> list[Text]:
        m = self.member
        rows = [Text(safe(self.entry.path), style="bold")]
        layer = Text(f"member of {safe(self.archive.path)}{self.level.path} · layer {self.archive.layer}  ",
                     style="bold")
        layer.append(created_by(self.analysis, self.archive.layer, 2000), style="cyan")
        rows.append(layer)
        stored = f" · {human(m.stored)} stored" if m.stored is not None else ""
        rows.append(Text(f"{human(m.size)} ({m.size:,} bytes){stored} · modified {m.mtime or '?'} · "
                         f"stored as {m.name}"))
        if m.unsafe:
            rows.append(Text("unsafe name (absolute or climbing out): a careless unpacker writes it outside "
                             "its folder", style="bold red"))
        return rows
