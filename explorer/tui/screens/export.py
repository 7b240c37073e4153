"""Export one copy of a file (or a folder) to a folder on disk, through `explorer extract`'s confined writer."""

from __future__ import annotations

import os

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from explorer.export import Tally, extract, make_plan
from explorer.layerfs.analysis import ImageAnalysis
from explorer.core.model import EntryKind, FileEntry
from explorer.core.textsafe import safe

NEVER_WRITTEN = (EntryKind.CHAR, EntryKind.BLOCK, EntryKind.FIFO, EntryKind.WHITEOUT, EntryKind.OPAQUE)


def export_copy(analysis: ImageAnalysis, entry: FileEntry, layer: int, dest: str) -> tuple[str, Tally]:
    """Write `entry` (a file, or a folder — as a new folder — with what lay below it as of `layer`) into `dest`.

    Same rules as `explorer extract` (its functions do the work): nothing outside DEST, nothing
    overwritten, no device nodes, setuid/setgid bits dropped. Returns where it was written.
    """
    if entry.kind == EntryKind.DIR and os.path.isdir(dest):
        dest = os.path.join(dest, entry.name if entry.path != "/" else "rootfs")
    plan = make_plan(analysis.tree_at(layer), entry, dest)
    tally = Tally()
    extract(analysis, plan, tally)
    where = plan.root if plan.root_entry is not None else os.path.join(plan.root, *plan.items[0].rel)
    return where, tally


class ExportScreen(ModalScreen[str | None]):
    """Asks for the destination folder; answers its path, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel export", tooltip="Close without writing anything")]
    DEFAULT_CSS = """
    ExportScreen { align: center middle; background: $background; }
    ExportScreen > Vertical { width: 90; height: auto; border: thick $accent; background: $surface; padding: 1 2; }
    ExportScreen Static { margin-bottom: 1; }
    """

    def __init__(self, entry: FileEntry, layer: int, default: str | None = None) -> None:
        super().__init__()
        self.entry = entry
        self.as_of = layer
        self.default = default if default is not None else os.getcwd()

    def compose(self) -> ComposeResult:
        what = "folder" if self.entry.kind == EntryKind.DIR else "file"
        with Vertical() as box:
            box.border_title = "Export a copy"
            yield Static(Text.assemble(f"Write the {what} ", (safe(self.entry.path), "bold"),
                                       f" as it is in layer {self.as_of} into this folder (nothing is "
                                       "overwritten; setuid bits and device nodes are dropped):"))
            yield Input(value=self.default, id="dest")

    @on(Input.Submitted, "#dest")
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(os.path.expanduser(event.value.strip()) or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
