"""Core records and helpers every stage shares (the image model, findings, errors, limits, safe text, units),
and one owner per concept: problem kinds (problems.py), rule metadata (rules.py), the folders explorer
keeps files in (locations.py), the options object the command line builds (options.py).

Imports nothing else of explorer: sources, layerfs, detectors, scan, reports and both front ends build on it."""
