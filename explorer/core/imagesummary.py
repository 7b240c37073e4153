"""What a scan report shows of the stacked image: the source, each layer's numbers, the problems.

Apart from `explorer.layerfs` (no tar, decompression or process-pool imports): a warm `scan` that
takes a whole result from the layer cache builds only these (`explorer.scan.engine`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from explorer.core.model import LayerRef, LayerStats, Problem

if TYPE_CHECKING:
    from explorer.sources import ImageSource


@dataclass(frozen=True)
class LayerSummary:
    """One stacked layer: its numbers, not its entries."""

    ref: LayerRef
    stats: LayerStats
    added: int
    modified: int
    deleted: int

    @property
    def index(self) -> int:
        return self.ref.index


@dataclass
class ImageSummary:
    """The stacked image (`layerfs.ImageAnalysis.summary`); a scan remembered whole by the layer
    cache has only this."""

    source: ImageSource
    layers: list[LayerSummary]
    problems: list[Problem]
