"""`explorer layers IMAGE --ci`: dive's CI rules on the image's efficiency and waste.

The three rules and their verdicts are dive's (runtime/ci: a rule fails when)
- lowestEfficiency R:          efficiency < R
- highestWastedBytes SIZE:     wasted bytes > SIZE (SIZE as dive reads it: 20MB = 20,000,000, 20MiB = 20 * 2**20)
- highestUserWastedPercent R:  wasted bytes / the bytes of every layer but the first > R
each may be `disabled`. The thresholds come from the flags (and so from EXPLORER_* variables and the config
file), else from a dive `.dive-ci` file (YAML, read as-is: its `rules:` mapping), else dive's defaults
(0.9, disabled, 0.1). Wasted bytes are the contract's `wasted_bytes` (bytes shipped that the final image
does not show), which does not count the visible copy of a file as wasted (dive's issue 684).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass

from explorer.core.errors import ExplorerError

RULES = ("lowestEfficiency", "highestWastedBytes", "highestUserWastedPercent")
DIVE_DEFAULTS = {"lowestEfficiency": "0.9", "highestWastedBytes": "disabled", "highestUserWastedPercent": "0.1"}
DIVE_CI_FILE = ".dive-ci"
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "ki": 1024, "kib": 1024, "m": 1000**2, "mb": 1000**2,
          "mi": 1024**2, "mib": 1024**2, "g": 1000**3, "gb": 1000**3, "gi": 1024**3, "gib": 1024**3,
          "t": 1000**4, "tb": 1000**4, "ti": 1024**4, "tib": 1024**4}
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([a-zA-Z]*)\s*\Z")


@dataclass(frozen=True)
class RuleResult:
    name: str
    threshold: str
    value: float | int | None
    status: str
    """`pass`, `fail` or `skip` (disabled)."""
    message: str = ""

    def to_json(self) -> dict:
        value = self.value if self.value is None or not isinstance(self.value, float) or math.isfinite(self.value) \
            else None
        return {"rule": self.name, "threshold": self.threshold, "value": value, "status": self.status,
                "message": self.message}


def parse_bytes(text: str) -> int:
    """A size as dive reads it (go-humanize ParseBytes): `20MB`, `20 mb`, `1.5GiB`, `512`."""
    match = _SIZE.match(str(text))
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        raise ValueError(f"{text!r} is not a size (e.g. 20MB, 1.5GiB, 512)")
    return int(float(match.group(1)) * _UNITS[unit])


def parse_ratio(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a ratio between 0 and 1") from None
    if not 0 <= value <= 1 and not math.isnan(value):
        raise ValueError(f"{text!r} is not a ratio between 0 and 1")
    return value


def read_dive_ci(path: str) -> dict[str, str]:
    """The `rules:` mapping of a .dive-ci file (other keys, and rules dive has not, are left alone)."""
    try:
        import yaml
    except ImportError:  # pragma: no cover
        raise ExplorerError(f"{path}: reading a .dive-ci file needs PyYAML (pip install PyYAML)") from None
    try:
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
    except OSError as exc:
        raise ExplorerError(f"{path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ExplorerError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
    rules = doc.get("rules") if isinstance(doc, dict) else None
    if rules is None:
        return {}
    if not isinstance(rules, dict):
        raise ExplorerError(f"{path}: `rules` must be a mapping")
    return {name: str(rules[name]).strip() for name in RULES if name in rules and rules[name] is not None}


def thresholds(flags: dict[str, str | None], ci_config: str | None) -> tuple[dict[str, str], str]:
    """Each rule's threshold text and where the file ones came from ('' when none was read)."""
    chosen = dict(DIVE_DEFAULTS)
    source = ""
    path = ci_config or (DIVE_CI_FILE if os.path.isfile(DIVE_CI_FILE) else None)
    if path:
        chosen.update(read_dive_ci(path))
        source = path
    chosen.update({name: str(value) for name, value in flags.items() if value is not None})
    return chosen, source


def evaluate(efficiency: float, wasted: int, user_size: int, chosen: dict[str, str], where: str) -> list[RuleResult]:
    results = []
    for name in RULES:
        text = chosen[name]
        if text.lower() == "disabled":
            results.append(RuleResult(name, text, None, "skip", "rule disabled"))
            continue
        try:
            if name == "lowestEfficiency":
                limit = parse_ratio(text)
                failed = limit > efficiency
                value: float | int = efficiency
                message = f"image efficiency is too low (efficiency={efficiency:.6f} < threshold={limit})"
            elif name == "highestWastedBytes":
                limit = parse_bytes(text)
                failed = wasted > limit
                value = wasted
                message = f"too many bytes wasted (wasted-bytes={wasted} > threshold={limit})"
            else:
                limit = parse_ratio(text)
                value = wasted / user_size if user_size else (math.inf if wasted else math.nan)
                failed = value > limit  # NaN (nothing added, nothing wasted) passes, as in dive
                message = (f"too many bytes wasted, relative to the user bytes added "
                           f"(%-user-wasted-bytes={value:.6f} > threshold={limit})")
        except ValueError as exc:
            raise ExplorerError(f"{where or 'the CI rules'}: {name}: {exc}") from None
        results.append(RuleResult(name, text, value, "fail" if failed else "pass", message if failed else ""))
    return results
