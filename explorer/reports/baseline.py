"""`scan --baseline FILE`: report only the findings that an earlier `scan --format json` report (or a SARIF
report) did not hold, told apart by their stable `fingerprint` (explorer.core.findings.Finding.fingerprint)."""

from __future__ import annotations

import json

from explorer.core.errors import ExplorerError


def load_baseline(path: str) -> frozenset[str]:
    try:
        with open(path, "rb") as fh:
            doc = json.load(fh)
    except OSError as exc:
        raise ExplorerError(f"--baseline {path}: {exc.strerror}") from None
    except (ValueError, RecursionError):
        raise ExplorerError(f"--baseline {path}: not a JSON report of explorer scan") from None
    prints: set[str] = set()
    if isinstance(doc, dict) and isinstance(doc.get("findings"), list):
        items = doc["findings"] + list(doc.get("ignored") or [])
        prints.update(f["fingerprint"] for f in items if isinstance(f, dict) and isinstance(f.get("fingerprint"), str))
        if items and not prints:
            raise ExplorerError(f"--baseline {path}: the report has no fingerprints (made by an older explorer); "
                                f"make it again with scan --format json")
        return frozenset(prints)
    if isinstance(doc, dict) and isinstance(doc.get("runs"), list):  # SARIF
        for run in doc["runs"]:
            for result in (run.get("results") or []) if isinstance(run, dict) else []:
                value = (result.get("partialFingerprints") or {}).get("explorerFinding/v2") \
                    if isinstance(result, dict) else None
                if isinstance(value, str):
                    prints.add(value)
        return frozenset(prints)
    raise ExplorerError(f"--baseline {path}: not a JSON or SARIF report of explorer scan")


def without_baseline(findings, known: frozenset[str]):
    """(new findings, how many were in the baseline)."""
    new = [f for f in findings if f.fingerprint not in known]
    return new, len(findings) - len(new)
