"""The three detector roles, and the context they are given.

- `FileDetector`: looks at one file's bytes during the single streaming pass over its layer.
  `wants(entry)` is called for every regular file and must be cheap (path, size, mode only);
  `scan(entry, data)` gets up to 64 MiB of content for the files it wanted.
- `LayerDetector`: looks at a layer's changes (metadata only) after the layer is stacked.
- `ImageDetector`: looks at the image config and history.

Detectors return `Match`es; the engine adds the layer, the history line and whether the copy is
still visible in the final image. A detector never reads a blob itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, Iterable

from explorer.core.options import ScanOptions  # noqa: F401 - the detectors' settings live with the other options
from explorer.core.rules import titled
from explorer.core.findings import Match
from explorer.core.model import FileEntry, ImageConfig


FAILURE_RULE = titled("suspicious.detector-failure", "suspicious", "high",
                      "A detector failed on this file, so it was not fully inspected (a file crafted to crash a "
                      "scanner is itself a signal)")
"""The rule of the finding a file detector's failure on a file yields: high,
so that a file that makes a detector fail (or its worker process die) trips `--fail-on high` rather
than passing as clean; clean Debian, CPython and Node images make no detector fail."""


def failure_match(detector: str, why: str) -> Match:
    """The finding that detector `detector` failed on the file (`why`: the exception's class, or how its
    process died); the error text itself goes to the scan's warnings."""
    rule = FAILURE_RULE
    return Match(rule_id=rule.id, category=rule.category, severity=rule.severity, title=rule.title,
                 evidence=f"{detector}: {why}"[:200])


class Detector(ABC):
    name: str = ""
    """Short, stable name (used in progress output and the cache key)."""
    version: str = "1"


class FileDetector(Detector):
    @abstractmethod
    def wants(self, entry: FileEntry) -> bool:
        """Cheap pre-check on metadata only."""

    @abstractmethod
    def scan(self, entry: FileEntry, data: bytes) -> Iterable[Match]:
        """Matches in this copy of the file (data may be a prefix for huge files)."""

    chunked = False
    """True: a file longer than the prefix `scan` gets is also given to `scan_part`, part by part."""

    def scan_part(self, entry: FileEntry, data: bytes, newlines_before: int) -> Iterable[Match]:
        """Matches in a part of the file past the prefix (parts overlap a little, so that a match
        across a border is whole in one of them; a rule found again is dropped by the caller);
        `newlines_before` newlines precede the part in the file (for line numbers)."""
        raise NotImplementedError


@dataclass
class LayerDelta:
    """What a LayerDetector sees of one layer, after stacking."""

    index: int
    created_by: str
    added: list[FileEntry] = field(default_factory=list)
    modified: list[tuple[FileEntry, FileEntry]] = field(default_factory=list)
    deleted: list[FileEntry] = field(default_factory=list)
    entries: list[FileEntry] = field(default_factory=list)


class LayerDetector(Detector):
    @abstractmethod
    def scan_layer(self, layer: LayerDelta) -> Iterable[tuple[FileEntry, Match]]:
        """(entry the match is about, match) pairs for this layer."""


@dataclass(frozen=True)
class HistoryItem:
    position: int
    """1-based position in the config's history list (reported as `line`)."""
    created_by: str
    layer: int | None


class ImageDetector(Detector):
    @abstractmethod
    def scan_config(self, config: ImageConfig) -> Iterable[Match]:
        """Matches in the config (ENV, labels, user, entrypoint, volumes)."""

    @abstractmethod
    def scan_history(self, item: HistoryItem) -> Iterable[Match]:
        """Matches in one history line."""


@dataclass
class DetectorSet:
    file: list[FileDetector] = field(default_factory=list)
    layer: list[LayerDetector] = field(default_factory=list)
    image: list[ImageDetector] = field(default_factory=list)
    rules_sha256: str = ""
    catalog: list[dict] = field(default_factory=list)
    """Every rule id the detectors can emit: {id, category, severity, title, description}."""
    warnings: list[str] = field(default_factory=list)
    """What building the set had to say (a user secret rule left out)."""
    factory: Callable[[], "DetectorSet"] | None = None
    """A picklable way to build this same set again (in a worker process); None: layers are read
    in this process only."""
