"""`explorer audit Dockerfile`: the image-history and image-config rules, applied to each instruction of a
Dockerfile before anything is built, with the file's line numbers.

Parsing is dockerfile-parse's (line continuations, comments, parser directives), plus BuildKit's heredocs
(`RUN <<EOF ... EOF`, which dockerfile-parse reads as instructions of their own): the body up to the
terminator line belongs to the instruction that opened it. Each instruction is turned into what a build
would record and fed to the same detectors `scan` runs on a built image:
- RUN (its heredoc body included), ADD, COPY, FROM, ARG, ENV as a history line (download piped to a shell,
  the Docker socket, remote ADD without --checksum, an unpinned base, secrets in the line);
- ENV and ARG defaults, LABEL, VOLUME, CMD/ENTRYPOINT as the image config they set (secrets by name,
  DOCKER_HOST without TLS, privileged labels, sensitive volumes, download-and-execute commands);
- the last stage's user: root when no USER is set, or the last USER is root.
`RUN --mount=type=secret` is the way to use a secret at build time and raises nothing.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex

from explorer.detectors.base import HistoryItem
from explorer.core.errors import ExplorerError
from explorer.core.findings import Finding, Match, dedupe_and_sort
from explorer.core.model import ImageConfig

ROOT_USER_RULE = "misconfig.config.root-user"
_HEREDOC = re.compile(r"<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")


@dataclasses.dataclass(frozen=True)
class Instruction:
    keyword: str
    value: str
    line: int
    """1-based line of the instruction's first line."""
    body: str = ""
    """Heredoc bodies, for RUN/COPY/ADD <<WORD."""


def parse(text: str) -> list[Instruction]:
    from dockerfile_parse import DockerfileParser
    import io

    parser = DockerfileParser(fileobj=io.BytesIO(text.encode("utf-8", "surrogateescape")))
    try:
        structure = parser.structure
    except Exception as exc:  # noqa: BLE001 - a file dockerfile-parse cannot read is bad input
        raise ExplorerError(f"cannot parse the Dockerfile ({' '.join(str(exc).split())})") from None
    lines = text.splitlines()
    out: list[Instruction] = []
    skip_to = -1
    for item in structure:
        if item["startline"] <= skip_to:
            continue
        keyword, value = item["instruction"].upper(), item["value"]
        body = []
        for match in _HEREDOC.finditer(value) if keyword in ("RUN", "COPY", "ADD") else ():
            strip, word = match.group(1) == "-", match.group(3)
            i = max(skip_to, item["endline"]) + 1
            while i < len(lines) and (lines[i].lstrip("\t") if strip else lines[i]).strip() != word:
                body.append(lines[i])
                i += 1
            skip_to = i
        out.append(Instruction(keyword, value, item["startline"] + 1, "\n".join(body)))
    return out


def _pairs(value: str) -> list[tuple[str, str]]:
    """ENV/ARG/LABEL `K=V K2="v 2"` or the legacy `K value`."""
    try:
        words = shlex.split(value, posix=True)
    except ValueError:
        words = value.split()
    if words and "=" not in words[0]:
        return [(words[0], value.split(None, 1)[1] if len(value.split(None, 1)) > 1 else "")]
    return [tuple(w.split("=", 1)) if "=" in w else (w, "") for w in words]


def _list(value: str) -> tuple[str, ...]:
    """CMD/ENTRYPOINT/VOLUME: the JSON form, else the shell form."""
    stripped = value.strip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
            if isinstance(items, list) and all(isinstance(i, str) for i in items):
                return tuple(items)
        except ValueError:
            pass
    return (stripped,)


def audit(text: str, path: str, detectors) -> list[Finding]:
    """Findings for the Dockerfile `text` (shown as `path`), from the image detectors of `detectors`."""
    instructions = parse(text)
    found: list[tuple[int, Match]] = []
    stages: set[str] = set()
    user, user_line, stage_line = "", None, None

    def history(line: int, created_by: str) -> None:
        for detector in detectors.image:
            found.extend((line, m) for m in detector.scan_history(HistoryItem(line, created_by, None)))

    def config(line: int, **fields) -> None:
        conf = ImageConfig(id="", user="nobody", **fields)  # USER is judged once, for the last stage
        for detector in detectors.image:
            found.extend((line, m) for m in detector.scan_config(conf) if m.rule_id != ROOT_USER_RULE)

    for ins in instructions:
        k, v, line = ins.keyword, ins.value, ins.line
        if k == "FROM":
            words = [w for w in v.split() if not w.startswith("--")]
            image = words[0] if words else ""
            if image.lower() not in stages:
                history(line, f"FROM {image}")
            if len(words) >= 3 and words[1].lower() == "as":
                stages.add(words[2].lower())
            user, user_line, stage_line = "", None, line
        elif k == "RUN":
            history(line, f"RUN /bin/sh -c {v}" + (f"\n{ins.body}" if ins.body else ""))
        elif k in ("ADD", "COPY"):
            history(line, f"{k} {v}")
        elif k == "ARG":  # a build argument's default: recorded in the history, not in the config
            history(line, f"ARG {v}")
        elif k == "ENV":
            history(line, f"ENV {v}")
            config(line, env=tuple(f"{a}={b}" for a, b in _pairs(v)))
        elif k == "LABEL":
            config(line, labels=tuple(_pairs(v)))
        elif k == "VOLUME":
            volumes = _list(v)
            config(line, volumes=volumes if v.strip().startswith("[") else tuple(v.split()))
        elif k in ("CMD", "ENTRYPOINT"):
            command = _list(v)
            config(line, cmd=command if v.strip().startswith("[") else ("/bin/sh", "-c", v))
        elif k == "USER":
            user, user_line = v.strip(), line
    if stage_line is not None:
        for detector in detectors.image:
            for m in detector.scan_config(ImageConfig(id="", user=user)):
                if m.rule_id == ROOT_USER_RULE:
                    found.append((user_line or stage_line, m))
    findings = [Finding(rule_id=m.rule_id, category=m.category, severity=m.severity, title=m.title,
                        source="dockerfile", layer=None, path=path, line=line, in_final_image=True,
                        evidence=m.evidence, created_by="", reason=m.reason) for line, m in found]
    unique = {(f.rule_id, f.line): f for f in reversed(findings)}  # one per rule and line: the first wins
    return dedupe_and_sort(list(unique.values()))


def read_dockerfile(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            data = fh.read(4 * 1024 * 1024 + 1)
    except OSError as exc:
        raise ExplorerError(f"{path}: {exc.strerror}") from None
    if len(data) > 4 * 1024 * 1024:
        raise ExplorerError(f"{path}: larger than 4 MiB; not a Dockerfile")
    if b"\0" in data:
        raise ExplorerError(f"{path}: holds NUL bytes; not a Dockerfile")
    return data.decode("utf-8", "surrogateescape")

