"""The files that waste the most: for every path, the bytes of its copies that nobody can see in the final
image (overwritten by a later layer, or deleted), its copies and the layers that hold them.

Summed over all paths this is the image's `wasted_bytes` (total_size - final_size). One pass over the
layers' entries; a second one over the same entries for the copies of the top paths only.
"""

from __future__ import annotations

from explorer.core.model import EntryKind


def wasted_files(analysis, top: int = 10) -> tuple[list[dict], int]:
    """(the `top` paths wasting the most, largest first: path, copies, layers, wasted_bytes; how many paths
    waste anything)."""
    wasted: dict[str, int] = {}
    regular = EntryKind.FILE
    for report in analysis.layers:
        for entry in report.entries:
            if entry.kind == regular and entry.size and not analysis.in_final(entry):
                wasted[entry.path] = wasted.get(entry.path, 0) + entry.size
    chosen = sorted(wasted.items(), key=lambda item: (-item[1], item[0]))[:max(0, top)]
    layers: dict[str, list[int]] = {path: [] for path, _ in chosen}
    for report in analysis.layers:
        for entry in report.entries:
            if entry.kind == regular and entry.path in layers:
                layers[entry.path].append(report.index)
    rows = [{"path": path, "copies": len(layers[path]), "layers": layers[path], "wasted_bytes": size}
            for path, size in chosen]
    return rows, len(wasted)
