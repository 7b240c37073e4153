"""The image config and its history: how the image will run, and how it was built.

Everything here is misconfig (at most medium; running as root is low) except download-and-execute
build steps, which are `suspicious`.
"""

from __future__ import annotations

import re
from typing import Iterable

from explorer.detectors.base import HistoryItem, ImageDetector
from explorer.core.rules import RuleInfo
from explorer.detectors.heuristics._shell import download_exec
from explorer.core.findings import Match
from explorer.core.model import ImageConfig

ROOT_USER = RuleInfo("misconfig.config.root-user", "misconfig", "low", "Container runs as root",
                     "The config sets no USER, or USER root / 0 / 0:0: a process that escapes the container starts "
                     "as root on the host's kernel.")
DOCKER_HOST = RuleInfo("misconfig.config.docker-host-plaintext", "misconfig", "medium",
                       "DOCKER_HOST points at a daemon without TLS",
                       "ENV DOCKER_HOST=tcp://… on port 2375 or without DOCKER_TLS_VERIFY: whoever reaches that "
                       "port controls the daemon.")
DOCKER_SOCKET = RuleInfo("misconfig.config.docker-socket", "misconfig", "medium", "Refers to the Docker socket",
                         "The config (ENV, VOLUME, labels, entrypoint/cmd) or a build step refers to "
                         "/var/run/docker.sock: a container with that socket controls the host.")
PRIVILEGED = RuleInfo("misconfig.config.privileged-label", "misconfig", "medium",
                      "Label asks for a privileged container",
                      "A label carries `--privileged`, host namespaces, a host root mount or broad capabilities "
                      "as run instructions.")
SENSITIVE_VOLUME = RuleInfo("misconfig.config.sensitive-volume", "misconfig", "medium", "Sensitive VOLUME",
                            "A VOLUME on /, /proc, /sys, /dev, /etc, /boot or the Docker socket invites mounting "
                            "the host's copy there.")
DOWNLOAD_EXEC = RuleInfo("suspicious.history.download-exec", "suspicious", "medium",
                         "Build step or entrypoint executes downloaded code",
                         "`curl … | sh`, `wget -O- … | bash`, `wget … && chmod +x … && ./…`: code that nobody "
                         "pinned or checked runs in the build (history) or at every start (entrypoint/cmd).")
REMOTE_ADD = RuleInfo("misconfig.history.remote-add", "misconfig", "low", "ADD of a remote URL",
                      "ADD https://… fetches at build time with no checksum: the layer holds whatever the server "
                      "sent that day.")
UNPINNED_BASE = RuleInfo("misconfig.history.unpinned-base", "misconfig", "low", "Unpinned base image",
                         "The history or base-image labels show a FROM by tag (or `latest`) rather than by digest.")

_SOCKET = re.compile(r"(?:/var)?/run/docker\.sock\b")
_SENSITIVE = frozenset({"/", "/proc", "/sys", "/dev", "/etc", "/boot", "/var/run/docker.sock",
                        "/run/docker.sock", "/var/run", "/run", "/root", "/var/lib/docker"})
_PRIVILEGED_VALUE = re.compile(r"--privileged\b|--(?:pid|net|network|ipc|uts|userns)[= ]host\b|"
                               r"--cap-add[= ](?:ALL|SYS_ADMIN|SYS_PTRACE|SYS_MODULE)\b|"
                               r"(?:-v|--volume)[= ]/:|--mount[= ]\S{0,200}?(?:source|src)=/(?:,|\s|$)|"
                               r"--security-opt[= ](?:seccomp|apparmor)[=:]unconfined", re.I)
_PRIVILEGED_KEY = re.compile(r"privileged", re.I)
_TRUE = frozenset({"true", "1", "yes", "on"})
_NOP = re.compile(r"#\(nop\)\s*")
_STEP = r"^\s*(?:/bin/sh -c #\(nop\)\s*)?"
_ADD = re.compile(_STEP + r"ADD\s+(?:--\S+\s+)*(https?://\S+)")
_FROM = re.compile(_STEP + r"FROM\s+(?:--\S+\s+)*(\S+)")
_BASE_LABEL = "org.opencontainers.image.base.name"
_BASE_DIGEST_LABEL = "org.opencontainers.image.base.digest"


def _is_root(user: str) -> bool:
    name = user.strip().split(":", 1)[0]
    return name in ("", "root", "0")


def unpinned(reference: str) -> str | None:
    """Why the reference is unpinned (no tag, or `latest`), or None for a digest or a fixed tag."""
    if "@sha256:" in reference or reference.lower() == "scratch" or reference.startswith("$"):
        return None
    last = reference.rsplit("/", 1)[-1]
    if ":" not in last:
        return "no tag (latest)"
    return "tag latest" if last.split(":", 1)[1] == "latest" else None


class ConfigRisks(ImageDetector):
    """Root user, DOCKER_HOST without TLS, the Docker socket, privileged labels, sensitive volumes,
    download-and-execute entrypoints, base-image labels."""

    name = "heuristic-image-config"
    RULES = (ROOT_USER, DOCKER_HOST, DOCKER_SOCKET, PRIVILEGED, SENSITIVE_VOLUME, DOWNLOAD_EXEC, UNPINNED_BASE)

    def scan_config(self, config: ImageConfig) -> Iterable[Match]:
        if _is_root(config.user):
            yield ROOT_USER.match(f"USER {config.user}" if config.user else "no USER set")
        yield from self._env(config)
        for key, value in config.labels:
            if _SOCKET.search(value) or _SOCKET.search(key):
                yield DOCKER_SOCKET.match(f"label {key}={value}")
            if _PRIVILEGED_VALUE.search(value) or (_PRIVILEGED_KEY.search(key) and value.strip().lower() in _TRUE):
                yield PRIVILEGED.match(f"label {key}={value}")
        for volume in config.volumes:
            path = volume.rstrip("/") or "/"
            if path in _SENSITIVE:
                yield SENSITIVE_VOLUME.match(f"VOLUME {volume}")
            elif _SOCKET.search(volume):
                yield DOCKER_SOCKET.match(f"VOLUME {volume}")
        command = " ".join(config.entrypoint + config.cmd)
        if _SOCKET.search(command):
            yield DOCKER_SOCKET.match(f"entrypoint/cmd: {command}")
        what = download_exec(command)
        if what:
            yield DOWNLOAD_EXEC.match(f"entrypoint/cmd, {what}: {command}")
        labels = dict(config.labels)
        base = labels.get(_BASE_LABEL)
        if base and not labels.get(_BASE_DIGEST_LABEL):
            why = unpinned(base)
            if why:
                yield UNPINNED_BASE.match(f"label {_BASE_LABEL}={base} ({why})")

    def _env(self, config: ImageConfig) -> Iterable[Match]:
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in config.env)
        for number, item in enumerate(config.env, start=1):
            name, _, value = item.partition("=")
            if name == "DOCKER_HOST" and value.startswith("tcp://"):
                port = value.rstrip("/").rsplit(":", 1)[-1]
                tls = env.get("DOCKER_TLS_VERIFY", "").strip() not in ("", "0", "false")
                if port == "2375" or not tls:
                    yield DOCKER_HOST.match(item + ("" if tls else " (DOCKER_TLS_VERIFY unset)"), line=number)
            if _SOCKET.search(value):
                yield DOCKER_SOCKET.match(item, line=number)

    def scan_history(self, item: HistoryItem) -> Iterable[Match]:
        return ()


class BuildHistoryRisks(ImageDetector):
    """History lines: download-and-execute RUN steps, remote ADD, the Docker socket, unpinned FROM."""

    name = "heuristic-build-history"
    RULES = (DOWNLOAD_EXEC, REMOTE_ADD, DOCKER_SOCKET, UNPINNED_BASE)

    def scan_config(self, config: ImageConfig) -> Iterable[Match]:
        return ()

    def scan_history(self, item: HistoryItem) -> Iterable[Match]:
        line = item.created_by
        nop = _NOP.search(line) is not None
        if not nop:
            what = download_exec(line)
            if what:
                yield DOWNLOAD_EXEC.match(f"{what}: {line}", line=item.position)
            if _SOCKET.search(line):
                yield DOCKER_SOCKET.match(line, line=item.position, severity="low",
                                          reason="a build step, not the runtime config")
        added = _ADD.search(line)
        if added and "--checksum=" not in line:
            yield REMOTE_ADD.match(f"ADD {added.group(1)}", line=item.position)
        base = _FROM.search(line)
        if base:
            why = unpinned(base.group(1))
            if why:
                yield UNPINNED_BASE.match(f"FROM {base.group(1)} ({why})", line=item.position)
