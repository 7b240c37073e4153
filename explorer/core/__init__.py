"""Core records and helpers every stage shares (the image model, findings, errors, limits, safe text, units).

Imports nothing else of explorer: sources, layerfs, detectors, scan, reports and both front ends build on it."""
