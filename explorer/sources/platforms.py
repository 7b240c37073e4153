"""The platform an image index is narrowed to when no --platform is given: this machine's, as Docker
and skopeo choose (`linux/` and Go's name of the CPU architecture, with its variant for arm)."""

from __future__ import annotations

import platform as _platform

_ARCHES = {
    "x86_64": "amd64", "amd64": "amd64", "i386": "386", "i486": "386", "i586": "386", "i686": "386",
    "aarch64": "arm64", "arm64": "arm64", "armv8l": "arm/v8", "armv7l": "arm/v7", "armv6l": "arm/v6",
    "armv5tel": "arm/v5", "ppc64le": "ppc64le", "ppc64": "ppc64", "s390x": "s390x", "riscv64": "riscv64",
    "mips64": "mips64", "loongarch64": "loong64",
}


def host_platform(machine: str | None = None) -> str:
    """`linux/ARCH[/VARIANT]` for this machine (or for `machine`, as `uname -m` names it). Always
    linux: the images are Linux images, which Docker Desktop on macOS and Windows runs too."""
    name = (machine if machine is not None else _platform.machine()).lower()
    return "linux/" + _ARCHES.get(name, name)
