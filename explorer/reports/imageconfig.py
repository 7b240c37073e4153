"""The image config for people: its settings as Dockerfile-like lines (secrets masked), its history
reconstructed as a Dockerfile, and the raw JSON documents pretty-printed with secrets masked.

Every string returned is redacted and escaped (`safe`): history lines and config values come from
the image. No Textual import (a headless `history` report could print these).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from explorer.detectors.secrets import mask
from explorer.core.findings import Finding
from explorer.core.model import ImageConfig
from explorer.detectors.redact import redact_text
from explorer.core.textsafe import safe

INSTRUCTIONS = frozenset("FROM RUN CMD LABEL MAINTAINER EXPOSE ENV ADD COPY ENTRYPOINT VOLUME USER WORKDIR ARG "
                         "ONBUILD STOPSIGNAL HEALTHCHECK SHELL".split())
_BUILD_ARGS = re.compile(r"^(?:RUN\s+)?\|(\d+)\s+(.*)$", re.S)
_PAIR = re.compile(r"""\s*([A-Za-z_][A-Za-z0-9_.-]*=(?:"[^"]*"|'[^']*'|\S*))""")
_SHELL = "/bin/sh -c "
_NOP = re.compile(r"^/bin/sh -c #\(nop\)\s*")


@dataclass(frozen=True)
class HistoryLine:
    position: int
    """1-based position in the config history (what history findings call their `line`)."""
    layer: int | None
    """The layer this entry made; None for an empty-layer entry."""
    instruction: str
    """The Dockerfile instruction, redacted and escaped."""
    build_args: str = ""
    """`A=1 B=2` when the entry ran with build arguments (redacted, escaped)."""
    created: str = ""


def instruction(created_by: str) -> tuple[str, str]:
    """(Dockerfile instruction, build args) for one history `created_by`, unredacted."""
    text = created_by.strip()
    args: list[str] = []
    build = _BUILD_ARGS.match(text)
    if build:
        rest = build.group(2)
        for _ in range(int(build.group(1)[:4])):
            pair = _PAIR.match(rest)
            if pair is None:
                break
            args.append(pair.group(1))
            rest = rest[pair.end():]
        text = rest.strip()
    text = text.removesuffix("# buildkit").rstrip()
    nop = _NOP.match(text)
    if nop:
        text = text[nop.end():]
    elif text.startswith(_SHELL):
        text = "RUN " + text[len(_SHELL):]
    elif text.startswith("RUN " + _SHELL):
        text = "RUN " + text[len("RUN " + _SHELL):]
    elif not text:
        text = "# (no created_by)"
    elif text.split(None, 1)[0] not in INSTRUCTIONS:
        text = ("RUN " if text.startswith("/") else "# ") + text
    return text, " ".join(args)


def dockerfile(config: ImageConfig) -> list[HistoryLine]:
    """The history as Dockerfile instructions, one per history entry."""
    out = []
    for position, entry in enumerate(config.history, start=1):
        text, args = instruction(entry.created_by)
        out.append(HistoryLine(position=position, layer=entry.layer, instruction=_clean(text),
                               build_args=_clean(args), created=safe(entry.created)[:40]))
    return out


MAX_LINE = 4000
"""Characters shown of one line: a hostile config can hold a megabyte-long history line or value."""


def _cut(text: str) -> str:
    return text if len(text) <= MAX_LINE else text[:MAX_LINE] + f" … ({len(text) - MAX_LINE} more characters)"


def _clean(text: str) -> str:
    return _cut(safe(redact_text(text)))


@dataclass(frozen=True)
class ConfigRow:
    kind: str
    """`image`, `user`, `workdir`, `entrypoint`, `cmd`, `env`, `label`, `port`, `volume`, `stopsignal`,
    `healthcheck`, `shell`, `onbuild`; for a container also `container`, `mount`, `host`."""
    text: str
    """The row as a Dockerfile-like line, redacted and escaped."""
    index: int = 0
    """1-based position among rows of its kind (ENV and LABEL findings name theirs in `line`)."""
    name: str = ""
    """The ENV name / label key / volume path, unredacted (to match findings)."""


def config_rows(config: ImageConfig, findings: list[Finding] = ()) -> list[ConfigRow]:
    """The settings that decide how the image runs, as Dockerfile-like lines. ENV values and labels
    that a secret rule or a secret finding flags are masked."""
    raw = config.raw.get("config") if isinstance(config.raw.get("config"), dict) else {}
    platform = "/".join(p for p in (config.os, config.architecture, config.variant) if p)
    rows = [ConfigRow("image", _clean(f"# {config.id} · {platform or '?'} · created {config.created or '?'}"))]
    rows.append(ConfigRow("user", _clean(f"USER {config.user}") if config.user else "# no USER: runs as root"))
    if config.working_dir:
        rows.append(ConfigRow("workdir", _clean(f"WORKDIR {config.working_dir}")))
    for kind, word, value in (("entrypoint", "ENTRYPOINT", config.entrypoint), ("cmd", "CMD", config.cmd)):
        text = f"{word} " + json.dumps(list(value), ensure_ascii=False) if value else f"# no {word}"
        rows.append(ConfigRow(kind, _clean(text)))
    flagged = {(f.line, f.evidence.split("=", 1)[0].removeprefix("label ").strip())
               for f in findings if f.source == "config" and f.category == "secret" and f.layer is None}
    for i, item in enumerate(config.env, start=1):
        name, _, value = item.partition("=")
        rows.append(ConfigRow("env", "ENV " + _masked(name, value, (i, name) in flagged), i, name))
    for i, (key, value) in enumerate(config.labels, start=1):
        rows.append(ConfigRow("label", "LABEL " + _masked(key, value, (i, key) in flagged, quote=True), i, key))
    for i, port in enumerate(config.exposed_ports, start=1):
        rows.append(ConfigRow("port", _clean(f"EXPOSE {port}"), i, port))
    for i, volume in enumerate(config.volumes, start=1):
        rows.append(ConfigRow("volume", _clean(f"VOLUME {volume}"), i, volume))
    for key, kind, word in (("StopSignal", "stopsignal", "STOPSIGNAL"), ("Healthcheck", "healthcheck", "HEALTHCHECK"),
                            ("Shell", "shell", "SHELL"), ("OnBuild", "onbuild", "ONBUILD")):
        value = raw.get(key)
        if value:
            shown = value if isinstance(value, str) else _one_line_json(value)
            rows.append(ConfigRow(kind, _clean(f"{word} {shown}")))
    rows += _runtime_rows(config.runtime)
    return rows


def _runtime_rows(runtime: dict | None) -> list[ConfigRow]:
    """For a container: how it runs, as `docker run` flags (mounts, privileged, host namespaces, capabilities)."""
    if not isinstance(runtime, dict):
        return []
    host = runtime.get("HostConfig") if isinstance(runtime.get("HostConfig"), dict) else {}
    state = runtime.get("State") if isinstance(runtime.get("State"), dict) else {}
    rows = [ConfigRow("container", _clean(f"# container {runtime.get('Name', '')} · {state.get('Status', '?')}"))]
    for i, mount in enumerate(runtime.get("Mounts") or (), start=1):
        if isinstance(mount, dict):
            mode = "" if mount.get("RW", True) else ":ro"
            rows.append(ConfigRow("mount", _clean(f"--mount {mount.get('Type', '?')} {mount.get('Source', '')} -> "
                                                  f"{mount.get('Destination', '')}{mode}"), i))
    if host.get("Privileged") is True:
        rows.append(ConfigRow("host", "--privileged"))
    for key, flag in (("PidMode", "--pid"), ("NetworkMode", "--network"), ("IpcMode", "--ipc"),
                      ("UTSMode", "--uts"), ("UsernsMode", "--userns")):
        if host.get(key):
            rows.append(ConfigRow("host", _clean(f"{flag}={host[key]}")))
    for key, flag in (("CapAdd", "--cap-add"), ("CapDrop", "--cap-drop"), ("SecurityOpt", "--security-opt")):
        for value in host.get(key) or ():
            rows.append(ConfigRow("host", _clean(f"{flag} {value}")))
    return rows


def _masked(name: str, value: str, flagged: bool, quote: bool = False) -> str:
    pair = redact_text(f"{name}={value}")
    if pair == f"{name}={value}" and flagged:
        pair = f"{name}={mask(value)}"
    name_part, _, value_part = pair.partition("=")
    if quote:
        value_part = json.dumps(value_part, ensure_ascii=False)
    return _cut(safe(f"{name_part}={value_part}"))


def locate(rows: list[ConfigRow], finding: Finding) -> int | None:
    """The row a config finding is about (ENV/LABEL by position and name, VOLUME, USER, …), or None."""
    evidence = finding.evidence
    if finding.line:
        for kind in ("env", "label"):
            row = _row(rows, kind, lambda r: r.index == finding.line)
            if row is not None and rows[row].name and rows[row].name in evidence:
                return row
    for prefix, kind in (("VOLUME ", "volume"), ("label ", "label")):
        if evidence.startswith(prefix):
            name = evidence[len(prefix):].split("=", 1)[0].strip()
            row = _row(rows, kind, lambda r: r.name == name)
            if row is not None:
                return row
    if evidence.startswith(("USER", "no USER")):
        return _row(rows, "user", lambda r: True)
    if evidence.startswith("entrypoint/cmd"):
        return _row(rows, "entrypoint", lambda r: True)
    if finding.rule_id.startswith("misconfig.container."):
        if evidence.startswith("mount "):
            return _row(rows, "mount", lambda r: r.text.split(" -> ")[-1].removesuffix(":ro") in evidence)
        return _row(rows, "host", lambda r: r.text.split(" ", 1)[0].split("=", 1)[0] in evidence)
    if finding.line:
        return _row(rows, "env", lambda r: r.index == finding.line)
    return None


def _row(rows: list[ConfigRow], kind: str, test) -> int | None:
    return next((i for i, r in enumerate(rows) if r.kind == kind and test(r)), None)


MAX_DEPTH = 64
"""Levels of a JSON document shown; a container deeper than that is one marker line. Real documents
are a few levels deep; a hostile one can be nested thousands deep (each level a line of its own and
two more characters of indent)."""


def redacted_json(raw: bytes) -> list[str]:
    """A JSON document pretty-printed, every string value redacted (and the values of secret-named
    keys), each line escaped; containers past MAX_DEPTH cut to a marker. Not JSON (or nested past
    what the parser takes): its text, redacted, line by line. No recursion: any depth is fine."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return [_clean(line) for line in raw.decode("utf-8", "replace").splitlines()]
    return [_cut(safe(line)) for line in _pretty(doc)]


_END = object()


def _pretty(doc) -> list[str]:
    """`json.dumps(doc, indent=2, ensure_ascii=False).splitlines()` with each string value redacted
    (`_redact_string`), written with a stack of its own instead of recursion, and cut at MAX_DEPTH."""
    lines: list[str] = []
    stack: list[list] = []  # [children iterator, closing bracket, depth, first child still to come]

    def put(prefix: str, value, depth: int, key: str | None) -> None:
        if not isinstance(value, (dict, list)):
            shown = _redact_string(value, key) if isinstance(value, str) else value
            lines.append(prefix + json.dumps(shown, ensure_ascii=False))
            return
        opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
        if not value:
            lines.append(prefix + opening + closing)
        elif depth >= MAX_DEPTH:
            lines.append(f"{prefix}{opening} … {closing}  (nested deeper than {MAX_DEPTH} levels: not shown)")
        else:
            lines.append(prefix + opening)
            children = iter(value.items()) if isinstance(value, dict) else ((None, v) for v in value)
            stack.append([children, closing, depth, True])

    put("", doc, 0, None)
    while stack:
        frame = stack[-1]
        children, closing, depth, first = frame
        child = next(children, _END)
        if child is _END:
            stack.pop()
            lines.append("  " * depth + closing)
            continue
        if not first:
            lines[-1] += ","
        frame[3] = False
        key, value = child
        prefix = "  " * (depth + 1) + (json.dumps(key, ensure_ascii=False) + ": " if key is not None else "")
        put(prefix, value, depth + 1, None if key is None else str(key))
    return lines


def _redact_string(value: str, key: str | None) -> str:
    red = redact_text(value)
    if red == value and key:
        pair = redact_text(f"{key}={value}")
        if pair != f"{key}={value}":
            red = pair[len(key) + 1:] if pair.startswith(key + "=") else mask(value)
    return red


def _one_line_json(value) -> str:
    """`value` as one line of JSON; a marker when it is nested too deeply to write."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (RecursionError, ValueError):
        return "… (nested too deeply to show)"
