"""`explorer extract IMAGE PATH DEST`: the command line over the confined writer (explorer.export)."""

from __future__ import annotations

import os
import posixpath
import sys

from explorer.cli import commands
from explorer.cli.commands import analysed, exit_status, warn
from explorer.core.errors import ExplorerError
from explorer.core.options import Options
from explorer.core.textsafe import safe
from explorer.export import Tally, extract, lookup, make_plan

MAX_WARNINGS = 50
"""Skipped entries reported one by one; the rest are only counted."""
EXIT_NOT_WRITTEN = 1
"""Exit status when an entry that should have been written could not be (an error, a cap); entries
left out by design (device nodes, fifos, symlinks leading out of DEST, names no file system holds,
hard links to nothing) are reported but keep 0; bad input is 2."""


def run_extract(run: Options) -> int:
    with analysed(run.image) as analysis:  # the one read path: layer cache, workers, image-wide caps
        layer = _layer_index(run.layer, len(analysis.layers))
        path = posixpath.normpath("/" + run.path.lstrip("/"))
        tree = analysis.tree_at(layer)
        entry = lookup(tree, path, layer)
        plan = make_plan(tree, entry, run.output)
        tally = Tally()
        extract(analysis, plan, tally)
    for line in tally.warnings[:MAX_WARNINGS]:
        warn(line)
    if len(tally.warnings) > MAX_WARNINGS:
        warn(f"… and {len(tally.warnings) - MAX_WARNINGS} more")
    where = plan.root if plan.root_entry is not None else os.path.join(plan.root, *plan.items[0].rel)
    if not commands.QUIET or tally.failed:  # what could not be written is said even with -q
        print(f"explorer: extracted {safe(path)} (layer {layer}) to {safe(where)}: {tally.files} files, "
              f"{tally.dirs} folders, {tally.symlinks} symlinks written; {tally.skipped} skipped"
              + (f" ({tally.failed} could not be written)" if tally.failed else ""), file=sys.stderr)
    status = exit_status(analysis.problems)
    return status or (EXIT_NOT_WRITTEN if tally.failed else 0)


def _layer_index(requested: int | None, count: int) -> int:
    if count == 0:
        raise ExplorerError("the image has no layers")
    layer = count - 1 if requested is None else requested
    if not 0 <= layer < count:
        raise ExplorerError(f"--layer {layer}: the image has layers 0..{count - 1}")
    return layer
