"""`explorer layers` and `explorer tree`."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table
from rich.text import Text

from explorer.cli.commands import analysed, exit_status
from explorer.core.errors import ExplorerError
from explorer.core.options import Options
from explorer.core.model import EntryKind, FileEntry
from explorer.reports.image import layers_document
from explorer.reports.waste import wasted_files
from explorer.core.textsafe import dump_json, safe
from explorer.core.units import human


def run_layers(run: Options) -> int:
    from explorer.cli.commands.roots import list_root
    listed = list_root(run)
    if listed is not None:
        return listed
    with analysed(run.image) as analysis:
        doc = layers_document(analysis)
        doc["wasted_files"], doc["wasted_paths"] = wasted_files(analysis, run.top)
        gate = ci_gate(run, analysis) if run.ci else None
        if gate is not None:
            doc["ci"] = gate
    status = exit_status(analysis.problems) or (1 if gate is not None and not gate["pass"] else 0)
    if run.format == "json":
        dump_json(doc)
        return status
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
    if doc["wasted_files"]:
        waste = Table(title=f"files wasting the most ({len(doc['wasted_files'])} of {doc['wasted_paths']})")
        for col, just in (("wasted", "right"), ("copies", "right"), ("layers", "left"), ("path", "left")):
            waste.add_column(col, justify=just, overflow="fold")
        for row in doc["wasted_files"]:
            waste.add_row(human(row["wasted_bytes"]), str(row["copies"]), ",".join(map(str, row["layers"])),
                          Text(safe(row["path"])))
        console.print(waste)
    if gate is not None:
        for rule in gate["rules"]:
            line = f"{rule['status'].upper():4}  {rule['rule']} ({rule['threshold']})"
            console.print(Text(line + (f": {rule['message']}" if rule["message"] else "")))
        console.print(Text(f"Result: {'PASS' if gate['pass'] else 'FAIL'}"
                           + (f" (rules from {safe(gate['source'])})" if gate["source"] else "")))
    return status


def ci_gate(run: Options, analysis) -> dict:
    """dive's CI rules on this image (explorer.reports.cigate): the rules' results, pass or not, where from."""
    from explorer.reports.cigate import evaluate, thresholds
    chosen, source = thresholds(dict(run.ci_rules), run.ci_config)
    user_size = analysis.total_size - (analysis.layers[0].stats.size if analysis.layers else 0)
    results = evaluate(analysis.efficiency, analysis.wasted_bytes, user_size, chosen, source)
    return {"pass": all(r.status != "fail" for r in results), "source": source, "user_size": user_size,
            "rules": [r.to_json() for r in results]}


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


def run_tree(run: Options) -> int:
    with analysed(run.image) as analysis:
        n = len(analysis.layers)
        layer = n - 1 if run.layer is None else run.layer
        if not 0 <= layer < n:
            raise ExplorerError(f"--layer {layer}: the image has layers 0..{n - 1}")
        out = sys.stdout
        if run.changes:
            ch = analysis.layers[layer].changes
            rows = ([("A", e) for e in ch.added] + [("M", new) for _old, new in ch.modified]
                    + [("D", e) for e in ch.deleted])
            rows.sort(key=lambda r: r[1].path)
            if run.format == "json":
                dump_json([{"change": c, **_entry_json(e)} for c, e in rows])
            else:
                for change, entry in rows:
                    out.write(f"{change} {describe(entry)}\n")
            return exit_status(analysis.problems)
        tree = analysis.tree_at(layer)
        entries = list(tree.walk("/"))
        if run.format == "json":
            dump_json([_entry_json(e) for e in entries])
        else:
            for entry in entries:
                out.write(describe(entry) + "\n")
        return exit_status(analysis.problems)
