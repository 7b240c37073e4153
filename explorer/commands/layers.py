"""`explorer layers` and `explorer tree`."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table
from rich.text import Text

from explorer.cli import dump_json
from explorer.commands import exit_status, layer_cache, opened, progress, warn_problems
from explorer.errors import ExplorerError
from explorer.engine import analyze_image
from explorer.limits import limits_from_args
from explorer.model import EntryKind, FileEntry
from explorer.reports.image import layers_document
from explorer.textsafe import safe


def human(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(size) < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return str(n)


def run_layers(args) -> int:
    with opened(args) as source, layer_cache(args) as cache:
        with progress(args) as callback:
            analysis = analyze_image(source, callback, cache=cache, jobs=args.jobs, limits=limits_from_args(args))
        warn_problems(analysis.problems, sys.stderr)
        doc = layers_document(analysis)
    if args.format == "json":
        dump_json(doc)
        return exit_status(analysis.problems)
    tty = sys.stdout.isatty()
    console = Console(highlight=False, soft_wrap=False, color_system="auto" if tty else None)
    table = Table(title=Text(f"{safe(doc['image']['reference'])}  {doc['image']['id'][:19]}"))
    for col, just in (("#", "right"), ("size", "right"), ("entries", "right"), ("+", "right"),
                      ("~", "right"), ("-", "right"), ("created by", "left")):
        table.add_column(col, justify=just, overflow="fold" if col == "created by" else "ellipsis")
    for layer in doc["layers"]:
        table.add_row(str(layer["index"]), human(layer["size"]), str(layer["entries"]), str(layer["added"]),
                      str(layer["modified"]), str(layer["deleted"]), Text(safe(layer["created_by"])[:200]))
    console.print(table)
    console.print(Text(f"total {human(doc['total_size'])}, final {human(doc['final_size'])}, "
                       f"wasted {human(doc['wasted_bytes'])} ({doc['wasted_bytes']} bytes), "
                       f"efficiency {doc['efficiency'] * 100:.4f} %"))
    return exit_status(analysis.problems)


def describe(entry: FileEntry) -> str:
    kind = {EntryKind.FILE: "-", EntryKind.DIR: "d", EntryKind.SYMLINK: "l", EntryKind.HARDLINK: "h",
            EntryKind.CHAR: "c", EntryKind.BLOCK: "b", EntryKind.FIFO: "p"}.get(entry.kind, "?")
    line = f"{kind}{entry.mode:04o} {entry.uid:>5}:{entry.gid:<5} {entry.size:>12} L{entry.layer:<3} {safe(entry.path)}"
    if entry.kind == EntryKind.SYMLINK:
        line += f" -> {safe(entry.linkname or '')}"
    elif entry.kind == EntryKind.HARDLINK:
        line += f" => {safe(entry.linkname or '')}"
    return line


def _entry_json(entry: FileEntry) -> dict:
    return {"path": entry.path, "kind": entry.kind.value, "layer": entry.layer, "mode": f"{entry.mode:04o}",
            "uid": entry.uid, "gid": entry.gid, "size": entry.size, "sha256": entry.digest,
            "linkname": entry.linkname}


def run_tree(args) -> int:
    with opened(args) as source, layer_cache(args) as cache:
        with progress(args) as callback:
            analysis = analyze_image(source, callback, cache=cache, jobs=args.jobs, limits=limits_from_args(args))
        warn_problems(analysis.problems, sys.stderr)
        n = len(analysis.layers)
        layer = n - 1 if args.layer is None else args.layer
        if not 0 <= layer < n:
            raise ExplorerError(f"--layer {layer}: the image has layers 0..{n - 1}")
        out = sys.stdout
        if args.changes:
            ch = analysis.layers[layer].changes
            rows = ([("A", e) for e in ch.added] + [("M", new) for _old, new in ch.modified]
                    + [("D", e) for e in ch.deleted])
            rows.sort(key=lambda r: r[1].path)
            if args.format == "json":
                dump_json([{"change": c, **_entry_json(e)} for c, e in rows])
            else:
                for change, entry in rows:
                    out.write(f"{change} {describe(entry)}\n")
            return exit_status(analysis.problems)
        tree = analysis.tree_at(layer)
        entries = list(tree.walk("/"))
        if args.format == "json":
            dump_json([_entry_json(e) for e in entries])
        else:
            for entry in entries:
                out.write(describe(entry) + "\n")
        return exit_status(analysis.problems)
