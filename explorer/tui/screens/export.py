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
    if entry.kind == EntryKind.DIR:
        dest = written_path(entry, dest)
    plan = make_plan(analysis.tree_at(layer), entry, dest)
    tally = Tally()
    extract(analysis, plan, tally)
    where = plan.root if plan.root_entry is not None else os.path.join(plan.root, *plan.items[0].rel)
    return where, tally


def written_path(entry: FileEntry, dest: str) -> str:
    """What an export of `entry` to `dest` creates: DEST/NAME when DEST is a folder, else DEST itself."""
    return os.path.join(dest, entry.name if entry.path != "/" else "rootfs") if os.path.isdir(dest) else dest


class ExportScreen(ModalScreen[str | None]):
    """Asks for the destination folder; answers its absolute path, or None when cancelled.

    The box names the folder it starts from (`base`: the working folder) and, as you type, the folder it
    will write into: a relative path is taken under `base`, not under wherever the process happens to run.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel export", tooltip="Close without writing anything")]
    DEFAULT_CSS = """
    ExportScreen { align: center middle; background: $background; }
    ExportScreen > Vertical { width: 90; max-width: 100%; height: auto; border: thick $accent;
                              background: $surface; padding: 1 2; }
    ExportScreen Static { margin-bottom: 1; }
    ExportScreen #target { margin: 1 0 0 0; color: $text-muted; }
    """

    def __init__(self, entry: FileEntry, layer: int, default: str | None = None) -> None:
        super().__init__()
        self.entry = entry
        self.as_of = layer
        self.base = default if default is not None else os.getcwd()
        """The folder a relative (or empty) answer is taken from."""

    def compose(self) -> ComposeResult:
        what = "folder" if self.entry.kind == EntryKind.DIR else "file"
        with Vertical() as box:
            box.border_title = "Export a copy"
            yield Static(Text.assemble(f"Write the {what} ", (safe(self.entry.path), "bold"),
                                       f" as it is in layer {self.as_of} into a folder (nothing is overwritten; "
                                       "setuid bits and device nodes are dropped). Type a folder: a relative "
                                       "one is taken under ", (safe(self.base), "bold"), "; enter alone: that "
                                       "folder; escape: cancel."), id="what")
            yield Input(placeholder="folder (relative, absolute or ~/…)", id="dest")
            yield Static(id="target")

    def on_mount(self) -> None:
        self._say_target("")

    def destination(self, typed: str) -> str:
        """The absolute folder an answer names."""
        return os.path.normpath(os.path.join(self.base, os.path.expanduser(typed.strip())))

    def _say_target(self, typed: str) -> None:
        self.query_one("#target", Static).update(Text.assemble(
            "writes ", (safe(written_path(self.entry, self.destination(typed))), "bold")))

    @on(Input.Changed, "#dest")
    def _typed(self, event: Input.Changed) -> None:
        self._say_target(event.value)

    @on(Input.Submitted, "#dest")
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(self.destination(event.value))

    def action_cancel(self) -> None:
        self.dismiss(None)
