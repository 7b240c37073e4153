"""Layer filesystems: one streaming pass per layer, overlay stacking, diffs, waste and efficiency."""

from explorer.layerfs.analysis import Fate, ImageAnalysis, LayerReport, analyze
from explorer.layerfs.tree import LayerChanges, Tree, apply_layer

__all__ = ["Fate", "ImageAnalysis", "LayerReport", "LayerChanges", "Tree", "analyze", "apply_layer"]
