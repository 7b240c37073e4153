"""Resource caps for reading an image nobody vouches for, and the flags that set them.

An image is hostile input: a layer can be a decompression bomb, hold millions of empty members or
claim terabytes. Every command that reads an image stops a layer when one of these caps trips; that
layer is reported as a problem (an `integrity`/`suspicious` finding, exit status 2) and, except for
`max_total`, the other layers are still read.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass

from explorer.core.problems import ProblemKind

KIB, MIB, GIB, TIB = 1 << 10, 1 << 20, 1 << 30, 1 << 40

RATIO_GRACE = 256 * MIB
"""The ratio cap is checked only once a layer has produced this many uncompressed bytes, so that a
small or ordinary layer with one very compressible file (the 128 MiB of zeros of bench/'s image)
never trips it, while a bomb is stopped after at most this much output."""


@dataclass(frozen=True)
class Limits:
    """Caps on what one read of an image may cost. The defaults are safe for every real image we know."""

    max_entries: int = 300_000
    """Tar members in one layer (`--max-entries`). Large real layers (a full TeX Live, a big
    node_modules tree) hold 100–200 thousand; each member costs ~0.8 KB of memory (its record, the
    merged tree, the efficiency tally), so 300k stays near 250 MB and a few seconds of parsing."""
    max_file_scan: int = 64 * MIB
    """Bytes of one file handed to the detectors at once (`--max-file-scan`): a larger file's first
    bytes; the rest is hashed, and handed to the `chunked` ones (YARA) in parts."""
    max_ratio: float = 200.0
    """Uncompressed over stored bytes of one layer (`--max-ratio`), checked after RATIO_GRACE of
    output. Real layers compress 2–10x; deflate tops out near 1032x, so a gzip bomb runs at ~1000x
    and a zstd bomb far above; 200 stops both within RATIO_GRACE of output (well under a second)."""
    max_total: int = 64 * GIB
    """`--max-total`: a layer whose uncompressed stream passes it is cut there, and once the
    uncompressed bytes of the layers, summed in layer order, pass it the layers above are not read. A backstop
    for bombs below the ratio cap and for absurd images; the largest real images (CUDA, ML stacks)
    are 10–20 GB."""


DEFAULT = Limits()

MAX_LAYERS = 256
"""Layers an image may list. Docker's layer store refuses a chain deeper than 125 layers, so a real
image never comes near; each layer costs a row, a stacking step and a tree in the UI, so a manifest
of a few kilobytes listing tens of thousands of them is refused as bad input."""
MAX_LAYER_NAME_CHARS = 32 * MIB
"""Characters of member names and link targets in one layer, all members together. A real layer's
paths average well under 100 characters (300k members: ~30M); each name is held in memory by its
entry and the merged tree, so 4000 names of 60,000 characters (a few hundred KB of gzip) would take
gigabytes. Past the cap the layer is cut there and reported, like --max-entries."""
MAX_IMAGE_NAME_CHARS = 4 * MAX_LAYER_NAME_CHARS
"""The same over all layers, in layer order (a real image's paths: well under 100M characters); the
layers above the one that passes it are not read, as with --max-total."""
MAX_INDEX_MANIFESTS = 10_000
"""Descriptors looked at below an OCI image index, all nested indexes together (a real multi-platform
index lists a few dozen; a registry mirror's layout a few thousand). Each nested index is read once however often it is listed, so a DAG of
indexes cannot multiply the work; this caps its breadth."""


class LimitExceeded(Exception):
    """A cap tripped while reading a layer; `kind` is the Problem kind it becomes."""

    def __init__(self, kind: ProblemKind, message: str):
        super().__init__(message)
        self.kind = kind


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": KIB, "m": MIB, "g": GIB, "t": TIB}


def parse_size(text: str) -> int:
    """`64M`, `2G`, `512k`, `1.5GiB`, `1000` → bytes (binary units: 1M = 1 MiB)."""
    m = _SIZE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 1000, 64M, 2G)")
    value = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be more than 0")
    return value


def _number(kind: type, minimum: float, what: str):
    """An argparse type: a number of `kind` that is at least `minimum`."""

    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not value >= minimum:
            raise argparse.ArgumentTypeError(f"{text!r}: must be at least {minimum:g}")
        return value

    return convert


def human_size(n: int) -> str:
    for unit, size in (("T", TIB), ("G", GIB), ("M", MIB), ("K", KIB)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def add_limit_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "resource caps", "a layer that trips a cap is reported (and the image is bad input, exit 2); "
                         "sizes take K, M, G, T suffixes (binary)")
    group.add_argument("--max-entries", type=_number(int, 1, "a whole number"), default=DEFAULT.max_entries, metavar="N",
                       help=f"tar members in one layer (default {DEFAULT.max_entries})")
    group.add_argument("--max-file-scan", type=parse_size, default=DEFAULT.max_file_scan, metavar="SIZE",
                       help=f"bytes of one file the detectors hold at once (YARA reads a larger one in parts) "
                            f"(default {human_size(DEFAULT.max_file_scan)})")
    group.add_argument("--max-ratio", type=_number(float, 1, "a number"), default=DEFAULT.max_ratio, metavar="R",
                       help=f"uncompressed/stored bytes of one layer, checked after "
                            f"{human_size(RATIO_GRACE)} of output (default {DEFAULT.max_ratio:g})")
    group.add_argument("--max-total", type=parse_size, default=DEFAULT.max_total, metavar="SIZE",
                       help=f"uncompressed bytes of one layer, and over all layers in layer order "
                            f"(default {human_size(DEFAULT.max_total)})")


def limits_from_args(args: argparse.Namespace) -> Limits:
    """The Limits the flags of `add_limit_flags` ask for (the command line's options builder calls it)."""
    return Limits(max_entries=args.max_entries, max_file_scan=args.max_file_scan, max_ratio=args.max_ratio,
                  max_total=args.max_total)


class ReadBudget:
    """The caps applied to the read of one layer (layers may be read in parallel processes; the
    image-wide part of `max_total` is applied afterwards, in layer order: layerfs.analysis.cap_total)."""

    def __init__(self, limits: Limits = DEFAULT):
        self.limits = limits
        self.total = 0

    def guard(self, index: int, stored, plain, compressed: bool):
        """A callback for each block of uncompressed bytes of layer `index`; raises LimitExceeded.

        `stored` and `plain` count bytes (`.count`) as stored and uncompressed."""
        limits = self.limits

        def check(n: int) -> None:
            self.total += n
            if self.total > limits.max_total:
                raise LimitExceeded(ProblemKind.TOO_LARGE, (
                    f"layer {index}: holds more than {human_size(limits.max_total)} of uncompressed data; "
                    f"reading stopped (raise --max-total to read it)"))
            out = plain.count
            if compressed and out > RATIO_GRACE and out > limits.max_ratio * max(stored.count, 1):
                raise LimitExceeded(ProblemKind.DECOMPRESSION_BOMB, (
                    f"layer {index}: decompresses to more than {limits.max_ratio:g} times its stored size "
                    f"({out} bytes from {stored.count}); a decompression bomb? reading stopped "
                    f"(raise --max-ratio to read it)"))

        return check

    def check_entries(self, index: int, entries: int) -> None:
        if entries > self.limits.max_entries:
            raise LimitExceeded(ProblemKind.TOO_MANY_ENTRIES, (
                f"layer {index}: more than {self.limits.max_entries} tar members; reading stopped "
                f"(raise --max-entries to read it)"))

    @staticmethod
    def check_names(index: int, chars: int) -> None:
        if chars > MAX_LAYER_NAME_CHARS:
            raise LimitExceeded(ProblemKind.NAMES_TOO_LONG, (
                f"layer {index}: member names and link targets pass {MAX_LAYER_NAME_CHARS} characters in all; "
                "reading stopped"))

    @staticmethod
    def settings(limits: Limits) -> str:
        """What of `limits` changes a layer's outcome (for the layer cache key)."""
        return f"max_file_scan={limits.max_file_scan};max_entries={limits.max_entries};max_ratio={limits.max_ratio:g}"
