"""The config for people: Dockerfile-like settings with secrets masked, history as a Dockerfile,
raw JSON redacted — everything escaped."""

from __future__ import annotations

import json

from explorer.core.findings import Finding
from explorer.core.model import HistoryEntry, ImageConfig
from explorer.reports.imageconfig import config_rows, dockerfile, instruction, locate, redacted_json

TOKEN = "ghp_Zq8ZkX4mP2vR7tY9wB3nL6hJ1sD5fG0aQ2eC"


def config_finding(rule: str, evidence: str, line: int | None = None, category: str = "misconfig") -> Finding:
    return Finding(rule_id=rule, category=category, severity="medium", title="t", source="config", layer=None,
                   path=None, line=line, in_final_image=True, evidence=evidence, created_by="")


def test_history_entries_become_dockerfile_lines():
    assert instruction("/bin/sh -c #(nop)  ENV A=1") == ("ENV A=1", "")
    assert instruction("RUN |1 NPM_TOKEN=x /bin/sh -c npm ci # buildkit") == ("RUN npm ci", "NPM_TOKEN=x")
    assert instruction("/bin/bash -o pipefail -c make") == ("RUN /bin/bash -o pipefail -c make", "")
    assert instruction("something odd") == ("# something odd", "")
    config = ImageConfig(id="sha256:x", history=(
        HistoryEntry("/bin/sh -c echo " + TOKEN + " \x1b[2J", layer=0),
        HistoryEntry("|1 API_TOKEN=" + TOKEN + " /bin/sh -c #(nop) ARG API_TOKEN", empty_layer=True)))
    lines = dockerfile(config)
    assert [(l.position, l.layer) for l in lines] == [(1, 0), (2, None)]
    assert lines[0].instruction.startswith("RUN echo ghp_") and TOKEN not in lines[0].instruction
    assert "\\x1b[2J" in lines[0].instruction and "\x1b" not in lines[0].instruction
    assert lines[1].instruction == "ARG API_TOKEN" and TOKEN not in lines[1].build_args


def test_config_rows_mask_secret_values_and_locate_findings():
    config = ImageConfig(id="sha256:x", user="", env=("PATH=/bin", "DB_PASSWORD=correcthorsebatterystaple1",
                                                      "PLAIN=" + TOKEN),
                         labels=(("maintainer", "[b]me[/b]"),), volumes=("/var/run/docker.sock",))
    flagged = config_finding("secret.github-pat", "PLAIN=ghp_Zq8Z***", 3, "secret")
    rows = config_rows(config, [flagged])
    text = "\n".join(r.text for r in rows)
    assert "correcthorsebatterystaple1" not in text and TOKEN not in text and "ENV PATH=/bin" in text
    assert 'LABEL maintainer="[b]me[/b]"' in text and "# no USER: runs as root" in text
    assert rows[locate(rows, flagged)].text.startswith("ENV PLAIN=ghp_")
    assert rows[locate(rows, config_finding("v", "VOLUME /var/run/docker.sock"))].kind == "volume"
    assert rows[locate(rows, config_finding("u", "no USER set"))].kind == "user"


def test_raw_json_is_pretty_redacted_and_escaped():
    raw = json.dumps({"config": {"Env": ["API_TOKEN=" + TOKEN], "Labels": {"db.password": "hunter2hunter2x",
                                                                          "k\u202e": "v"}}}).encode()
    text = "\n".join(redacted_json(raw))
    assert TOKEN not in text and "hunter2hunter2x" not in text and '"Env": [' in text
    assert "\u202e" not in text
    assert redacted_json(b"not json \x1b[31m") == ["not json \\x1b[31m"]


def test_huge_lines_are_cut():
    huge = "RUN echo " + "a" * 100_000
    config = ImageConfig(id="sha256:x", env=("BIG=" + "b" * 100_000,), history=(HistoryEntry(huge, layer=0),))
    assert len(dockerfile(config)[0].instruction) < 4100 and "more characters" in dockerfile(config)[0].instruction
    assert all(len(r.text) < 4100 for r in config_rows(config))
    assert all(len(line) < 4100 for line in redacted_json(json.dumps({"v": "c" * 100_000}).encode()))


def test_raw_json_is_written_as_json_dumps_writes_it():
    """The redactor's own writer (no recursion) gives json.dumps's lines when there is nothing to mask."""
    doc = {"a": [1, 2.5, None, True, {"b": [], "c": {}}, [[]]], "é\"\\": "x\ty", "n": -0.0, "big": 10 ** 30,
           "nested": {"k": [{"l": ["m", {"o": "p"}]}]}, "": ""}
    raw = json.dumps(doc).encode()
    assert redacted_json(raw) == json.dumps(doc, indent=2, ensure_ascii=False).splitlines()
    assert redacted_json(b"[]") == ["[]"] and redacted_json(b'"s"') == ['"s"'] and redacted_json(b"3") == ["3"]


def test_a_deeply_nested_document_is_shown_cut_with_a_marker():
    from explorer.reports.imageconfig import MAX_DEPTH

    for depth in (MAX_DEPTH + 1, 900):
        raw = b'{"config": {"Env": ["API_TOKEN=' + TOKEN.encode() + b'"]}, "deep": ' + b"[" * depth + b"]" * depth + b"}"
        lines = redacted_json(raw)
        assert TOKEN not in "\n".join(lines) and '"API_TOKEN=ghp_' in "\n".join(lines)
        markers = [line for line in lines if f"nested deeper than {MAX_DEPTH} levels" in line]
        assert len(markers) == 1 and markers[0].strip().startswith("[ … ]")
        # {, config (5 lines), the MAX_DEPTH - 1 lists that open and close around the marker, }
        assert len(lines) == 1 + 5 + 2 * (MAX_DEPTH - 1) + 1 + 1
    # past what the JSON parser takes: the text, redacted and cut, never a RecursionError
    raw = b'{"API_TOKEN": "' + TOKEN.encode() + b'", "d": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    lines = redacted_json(raw)
    assert len(lines) == 1 and len(lines[0]) < 4100 and TOKEN not in lines[0] and "more characters" in lines[0]


def test_a_deep_healthcheck_is_a_row_not_a_recursion_error():
    deep: list = []
    inner = deep
    for _ in range(3000):  # as a parser with a deeper stack would give it
        inner.append([])
        inner = inner[0]
    config = ImageConfig(id="sha256:x", raw={"config": {"Healthcheck": {"Test": deep}}})
    rows = [r.text for r in config_rows(config) if r.kind == "healthcheck"]
    assert rows and len(rows[0]) < 4100
