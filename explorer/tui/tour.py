"""The guided tour's steps (`T`), found in the image at hand: where a whiteout, an opaque folder, a
finding, a deleted-but-shipped copy and both kinds of digest appear. No Textual import: the tour panel
(explorer.tui.widgets.tour) shows a step and moves the panes to it.

On the demo image every step has an example; on another image a concept it lacks says so.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from explorer.core.findings import SEVERITY_RANK, Finding
from explorer.core.model import EntryKind
from explorer.detectors.redact import redact_text
from explorer.core.textsafe import safe
from explorer.tui.index import ScanIndex


@dataclass(frozen=True)
class TourStep:
    title: str
    text: str
    """Plain text (escaped image strings; shown in a Text object, never as markup)."""
    pane: str
    """The pane to highlight: `layers`, `files`, `findings` or `details`."""
    layer: int | None = None
    """The layer to select (None: leave the selection)."""
    path: str | None = None
    """The path to put the file tree's cursor on, in that layer."""
    finding: Finding | None = None
    """The finding to put the findings list's cursor on."""


def _step_by(index: ScanIndex, layer: int) -> str:
    text = " ".join(safe(redact_text(index.analysis.layers[layer].ref.created_by)).split())
    return text if len(text) <= 70 else text[:69] + "…"


def tour_steps(index: ScanIndex) -> list[TourStep]:
    analysis = index.analysis
    layers = analysis.layers
    steps = [TourStep(
        "Layers",
        f"This image is a stack of {len(layers)} layers (tar archives), applied from layer 0 up; each row "
        "on the left is one, made by one build step. The file tree shows the filesystem as of the selected "
        "layer; [ and ] step through them, c shows only what a layer changed.",
        "layers", layer=0)]
    steps.append(_whiteout_step(index))
    steps.append(_opaque_step(index))
    steps += _finding_steps(index)
    steps.append(_digest_step(index))
    steps.append(TourStep(
        "End of the tour",
        "r shows any layer's tar members as stored; i then 6 explains these concepts with this image's own "
        "values; ? lists every key. T starts the tour again; escape leaves it.", "layers"))
    return steps


def _whiteout_step(index: ScanIndex) -> TourStep:
    entry = index.first_entry(EntryKind.WHITEOUT)
    if entry is None:
        return TourStep("A whiteout", "This image deletes nothing: it holds no .wh. member. A whiteout is an "
                        "empty member .wh.NAME that deletes NAME from the layers below.", "files")
    stored = posixpath.join(posixpath.dirname(entry.path), ".wh." + posixpath.basename(entry.path))
    return TourStep(
        "A whiteout",
        f"Layer {entry.layer} deleted {safe(entry.path)}: its tar holds an empty member named "
        f"{safe(stored.lstrip('/'))} (a whiteout), shown here struck through with D. The copy it deletes still "
        "ships in a lower layer's blob. Press r to see the member as stored.",
        "files", layer=entry.layer, path=entry.path)


def _opaque_step(index: ScanIndex) -> TourStep:
    entry = index.first_entry(EntryKind.OPAQUE)
    if entry is None:
        return TourStep("An opaque folder", "This image has no opaque folder (no .wh..wh..opq member). Such a "
                        "member hides everything lower layers put in its folder.", "files")
    return TourStep(
        "An opaque folder",
        f"Layer {entry.layer} holds {safe(entry.path.strip('/'))}/.wh..wh..opq: {safe(entry.path)} is opaque "
        f"(labelled so in the tree). Everything lower layers put in it is hidden, only what layer {entry.layer} "
        "puts there remains: `rm -rf DIR && mkdir DIR` in one step does this.",
        "files", layer=entry.layer, path=entry.path)


def _finding_steps(index: ScanIndex) -> list[TourStep]:
    findings = [f for f in index.result.findings if f.source == "file" and f.layer is not None and f.path]
    if not findings:
        return [TourStep("Findings", "No file in this image raised a finding. Each finding names the file, the "
                         "layer that holds it, the build step that made that layer, and whether the file is "
                         "still visible in the final image.", "findings")]
    worst = max(findings, key=lambda f: (SEVERITY_RANK[f.severity], f.in_final_image, -f.layer))
    steps = [TourStep(
        "A finding",
        f"{worst.severity}: {safe(worst.title)} in {safe(worst.path)}, held by layer {worst.layer} (made by "
        f"`{_step_by(index, worst.layer)}`). Every finding names its layer, that build step and whether the "
        "file is still visible in the final image; enter on a finding shows its file.",
        "findings", layer=worst.layer, path=worst.path, finding=worst)]
    hidden = [f for f in findings if not f.in_final_image]
    if hidden:
        gone = max(hidden, key=lambda f: (SEVERITY_RANK[f.severity], -f.layer))
        fate = index.analysis.fates.get((gone.layer, gone.path))
        how = f"layer {fate.layer} {fate.how} it" if fate is not None else "a later layer removed it"
        steps.append(TourStep(
            "Deleted but still shipped",
            f"{safe(gone.path)} is not in the final image ({how}), yet its bytes are still in layer "
            f"{gone.layer}'s blob: anyone who pulls the image can read them. Details say so; v shows the "
            "content, x exports the copy.",
            "details", layer=gone.layer, path=gone.path, finding=gone))
    else:
        steps.append(TourStep("Deleted but still shipped", "Every flagged file of this image is still visible "
                              "in the final image: nothing flagged was deleted by a later layer.", "details"))
    return steps


def _digest_step(index: ScanIndex) -> TourStep:
    layers = index.analysis.layers
    plain = next((r for r in layers if r.stats.digest and r.stats.digest == r.stats.diff_id), None)
    packed = next((r for r in layers if r.stats.digest and r.stats.digest != r.stats.diff_id), None)
    parts = []
    if plain is not None:
        parts.append(f"Layer {plain.index} is stored uncompressed, so its digest (sha256 of the blob) and "
                     f"diff_id (sha256 of the tar) are the same bytes' hash: {plain.stats.digest[:19]}….")
    if packed is not None:
        parts.append(f"Layer {packed.index} is stored {packed.stats.compression}-compressed: its digest "
                     f"{packed.stats.digest[:19]}… hashes the compressed blob, its diff_id "
                     f"{packed.stats.diff_id[:19]}… the tar inside.")
    parts.append("The manifest lists digests, the config's rootfs lists diff_ids.")
    focus = plain or packed
    return TourStep("digest vs diff_id", " ".join(parts), "details",
                    layer=focus.index if focus is not None else None)
