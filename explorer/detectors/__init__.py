"""Detectors: YARA rules, secret rules and heuristics, behind one explicit registry (registry.py)."""
