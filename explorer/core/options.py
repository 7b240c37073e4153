"""What the user chose for a run: built once by the command line from its flags (and the settings
file), then passed down. Nothing below the command line reads argparse's namespace.

- `RegistryOptions`: how a registry is reached (credentials, CA, plain-HTTP hosts).
- `ImageOptions`: which image, and how it is opened and read (limits, workers, cache, progress).
- `ScanOptions`: what the detectors run with (rules turned off, extra rule folders, the cache).
- `Options`: all of it for one command, with the command's own report and gate flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from explorer.core.findings import SEVERITIES
from explorer.core.limits import DEFAULT, Limits


@dataclass(frozen=True)
class RegistryOptions:
    username: str | None = None
    password: str | None = None
    ca_cert: str | None = None
    insecure: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScanOptions:
    """What the detectors run with."""

    disabled: frozenset[str] = frozenset()
    """Rule ids turned off with --disable."""
    extra_rule_dirs: tuple[str, ...] = ()
    """Folders of extra YARA rules (--rules)."""
    secret_rules: str = ""
    """A gitleaks configuration file of extra secret rules and allowlists (--secret-rules); "": none."""
    cache: bool = True
    """False with --no-cache: nothing read from or written to the cache folder (compiled YARA rules)."""
    rules_folder: str = ""
    """Where compiled YARA rules are kept; empty: the cache folder. With `cache` off, `build_detectors`
    sets a private temporary folder of its own here (removed with its DetectorSet), so that the
    worker processes load the rules this process compiled instead of compiling them again."""


@dataclass(frozen=True)
class ImageOptions:
    """Which image, and how it is opened and read."""

    image: str = ""
    platform: str | None = None
    audit_log: str | None = None
    """docker-root:, containerd-root: append every evidence file read here (JSON lines)."""
    registry: RegistryOptions = RegistryOptions()
    limits: Limits = DEFAULT
    jobs: int | None = None
    """Worker processes (--jobs); None: as many as pay."""
    cache: bool = True
    """False with --no-cache: the layer cache is neither read nor filled."""
    progress: str = "auto"
    """auto, plain or none (--progress, --no-progress, --quiet)."""


@dataclass(frozen=True)
class Options:
    """One command's choices. Fields a command has no flag for keep their defaults."""

    command: str | None = None
    image: ImageOptions = ImageOptions()
    scan: ScanOptions = ScanOptions()
    quiet: bool = False
    # reports and gates (scan, audit, layers, tree, diff)
    format: str = "table"
    output: str | None = None
    severity: frozenset[str] = frozenset(SEVERITIES)
    fail_on: str | None = None
    exit_code: int | None = None
    # scan
    dockerfile: str | None = None
    baseline: str | None = None
    ignore_file: str | None = None
    # layers: dive's efficiency gate
    top: int = 10
    ci: bool = False
    ci_config: str | None = None
    ci_rules: dict[str, str | None] = field(default_factory=dict)
    """lowestEfficiency, highestWastedBytes, highestUserWastedPercent as given on the command line."""
    # tree, extract
    layer: int | None = None
    changes: bool = False
    path: str = ""
    # diff
    other: ImageOptions | None = None
    """diff: the image compared with `image` (B; `image` is A)."""
    ui: bool = False
