"""How a container runs (its HostConfig and mounts): what an image config cannot say.

Only containers have these (`ImageConfig.runtime`, from `container:` and `docker-root:` sources); for an
image this detector says nothing. A container with the Docker socket, privileged mode, host namespaces or
broad capabilities holds the host: high. Other added capabilities and sensitive host mounts: medium.
"""

from __future__ import annotations

from typing import Iterable

from explorer.detectors.base import HistoryItem, ImageDetector
from explorer.core.rules import RuleInfo
from explorer.core.findings import Match
from explorer.core.model import ImageConfig

SOCKET_MOUNT = RuleInfo("misconfig.container.docker-socket-mount", "misconfig", "high",
                        "Container has the Docker socket mounted",
                        "The host's /var/run/docker.sock (or /run/docker.sock) is mounted into the container: "
                        "whoever runs code in it can start a privileged container and own the host.")
PRIVILEGED_MODE = RuleInfo("misconfig.container.privileged", "misconfig", "high", "Container runs privileged",
                           "--privileged: every capability, every device, no seccomp or AppArmor confinement; "
                           "escaping to the host is a mount away.")
HOST_NAMESPACE = RuleInfo("misconfig.container.host-namespace", "misconfig", "high",
                          "Container shares a host namespace",
                          "--pid=host sees and can signal or trace the host's processes; --network=host binds "
                          "and sniffs the host's interfaces; --ipc/--uts/--userns=host share more of the host.")
ADDED_CAPABILITY = RuleInfo("misconfig.container.added-capability", "misconfig", "medium",
                            "Container has added capabilities",
                            "--cap-add beyond Docker's default set; SYS_ADMIN, SYS_MODULE, SYS_PTRACE, "
                            "DAC_READ_SEARCH, NET_ADMIN, SYS_RAWIO, BPF or ALL are enough to escape (high).")
HOST_MOUNT = RuleInfo("misconfig.container.sensitive-host-mount", "misconfig", "medium",
                      "Container mounts a sensitive host path",
                      "A bind mount of the host's /, /etc, /proc, /sys, /dev, /boot, /root or /var/lib/docker "
                      "lets the container read or change the host.")

_SOCKETS = frozenset({"/var/run/docker.sock", "/run/docker.sock", "/var/run", "/run"})
_SENSITIVE = frozenset({"/", "/etc", "/proc", "/sys", "/dev", "/boot", "/root", "/var/lib/docker", "/var/lib",
                        "/home", "/usr", "/lib", "/var/lib/kubelet", "/run/containerd", "/var/run/containerd"})
_ESCAPE_CAPS = frozenset({"ALL", "SYS_ADMIN", "SYS_MODULE", "SYS_PTRACE", "DAC_READ_SEARCH", "NET_ADMIN",
                          "SYS_RAWIO", "BPF", "SYS_BOOT", "DAC_OVERRIDE"})
_HOST_MODES = ("PidMode", "NetworkMode", "IpcMode", "UTSMode", "UsernsMode")
"""Not CgroupnsMode: `host` is the daemon's default on cgroup v1 hosts."""
_MODE_FLAG = {"PidMode": "--pid", "NetworkMode": "--network", "IpcMode": "--ipc", "UTSMode": "--uts",
              "UsernsMode": "--userns"}


def _host_sources(runtime: dict) -> list[tuple[str, str]]:
    """(host path, container path) of every bind mount, from `Mounts` and `HostConfig.Binds`."""
    out = []
    for mount in runtime.get("Mounts") or ():
        if isinstance(mount, dict) and str(mount.get("Type") or "bind") == "bind":
            out.append((str(mount.get("Source") or ""), str(mount.get("Destination") or "")))
    host = runtime.get("HostConfig") or {}
    for bind in host.get("Binds") or () if isinstance(host, dict) else ():
        parts = str(bind).split(":")
        if len(parts) >= 2:
            out.append((parts[0], parts[1]))
    return sorted(set(out))


def _norm(path: str) -> str:
    return "/" + "/".join(p for p in path.split("/") if p and p != ".")


class ContainerRisks(ImageDetector):
    """The Docker socket mounted, privileged mode, host namespaces, added capabilities, host mounts."""

    name = "heuristic-container-config"
    RULES = (SOCKET_MOUNT, PRIVILEGED_MODE, HOST_NAMESPACE, ADDED_CAPABILITY, HOST_MOUNT)

    def scan_config(self, config: ImageConfig) -> Iterable[Match]:
        runtime = config.runtime
        if not isinstance(runtime, dict):
            return
        host = runtime.get("HostConfig") if isinstance(runtime.get("HostConfig"), dict) else {}
        sockets, sensitive = [], []
        for source, dest in _host_sources(runtime):
            src = _norm(source)
            if src in _SOCKETS or _norm(dest) in ("/var/run/docker.sock", "/run/docker.sock"):
                sockets.append(f"mount {source} -> {dest}")
            elif src in _SENSITIVE:
                sensitive.append(f"mount {source} -> {dest}")
        if sockets:
            yield SOCKET_MOUNT.match(", ".join(sockets))
        if sensitive:
            yield HOST_MOUNT.match(", ".join(sensitive))
        if host.get("Privileged") is True:
            yield PRIVILEGED_MODE.match("--privileged (HostConfig.Privileged)")
        shared = [f"{_MODE_FLAG[key]}=host" for key in _HOST_MODES if str(host.get(key) or "").lower() == "host"]
        if shared:
            yield HOST_NAMESPACE.match(" ".join(shared))
        caps = [str(c) for c in host.get("CapAdd") or () if isinstance(c, str)]
        if caps:
            escape = any(c.upper().removeprefix("CAP_") in _ESCAPE_CAPS for c in caps)
            yield ADDED_CAPABILITY.match("--cap-add " + " --cap-add ".join(caps), severity="high" if escape else None)

    def scan_history(self, item: HistoryItem) -> Iterable[Match]:
        return ()
