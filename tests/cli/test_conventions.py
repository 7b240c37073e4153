"""Command-line conventions a shell user and a CI job expect (Trivy's, dive's): severities in any case,
--severity, --exit-code with --fail-on, -q/--quiet, --debug, global flags on either side of the image,
`help` and `version`, suggestions for typos, unknown transports, one plain line per error."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from explorer import __version__
from explorer.main import main
from explorer.demo import write_demo

ROOT = Path(__file__).resolve().parents[2]
NO_DAEMON = "unix:///nonexistent/docker.sock"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return write_demo(str(tmp_path_factory.mktemp("demo")))


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(argv))
    return rc, out.getvalue(), err.getvalue()


def run_sub(*argv: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "explorer", *argv], capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ, **env), timeout=300)


def one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "usage:" not in err
    return lines[0]


def severities(stdout: str) -> dict:
    return json.loads(stdout)["summary"]


def test_severity_list_any_case_filters_every_output(demo):
    rc, out, _ = run("scan", demo, "--format", "json", "--severity", "HIGH,Critical", "--no-progress")
    assert rc == 0
    doc = json.loads(out)
    assert {f["severity"] for f in doc["findings"]} == {"high", "critical"}
    assert doc["summary"]["medium"] == doc["summary"]["low"] == doc["summary"]["info"] == 0
    rc, all_out, _ = run("scan", demo, "--format", "json")
    full = json.loads(all_out)
    assert len(doc["findings"]) == full["summary"]["high"] + full["summary"]["critical"] < len(full["findings"])
    rc, out, _ = run("scan", demo, "--format", "SARIF", "--severity", "critical")
    results = json.loads(out)["runs"][0]["results"]
    assert len(results) == full["summary"]["critical"] > 0


@pytest.mark.parametrize("flags, status", [
    (["--fail-on", "HIGH"], 1),
    (["--fail-on", "critical", "--exit-code", "5"], 5),
    (["--exit-code", "4"], 4),                                   # alone: any reported finding
    (["--exit-code", "4", "--severity", "INFO"], 4),             # the demo's one info finding trips it
    (["--fail-on", "critical", "--severity", "high"], 0),        # the gate sees reported findings only
    (["--fail-on", "high", "--exit-code", "0"], 0),
    ([], 0),
])
def test_exit_code_pairs_with_fail_on(demo, flags, status):
    assert run("scan", demo, "--format", "json", *flags)[0] == status


@pytest.mark.parametrize("argv, message", [
    (["scan", "IMG", "--fail-on", "huge"],
     "explorer scan: argument --fail-on: 'huge' is not a severity (critical, high, medium, low, info) "
     "(see `explorer scan --help`)"),
    (["scan", "IMG", "--exit-code", "300"],
     "explorer scan: argument --exit-code: '300' is not an exit status (0..255) (see `explorer scan --help`)"),
    (["scna", "IMG"], "explorer: unknown command 'scna' (did you mean 'scan'?); "
                      "commands: open, demo, serve, scan, layers, tree, extract, diff, audit, help, version, completion"),
    (["--no-cache", "layrs", "IMG"], "explorer: unknown command 'layrs' (did you mean 'layers'?); "
                                     "commands: open, demo, serve, scan, layers, tree, extract, diff, audit, help, version, completion"),
    (["help", "extrct"], "explorer: help: unknown command 'extrct' (did you mean 'extract'?); "
                         "commands: open, demo, serve, scan, layers, tree, extract, diff, audit, help, version, completion"),
    (["scan"], "explorer scan: the following arguments are required: IMAGE (see `explorer scan --help`)"),
    (["scan", "xyz://alpine"], "explorer: xyz://alpine: unknown transport 'xyz:'; "
                               "known: docker-archive:, oci-archive:, oci:, docker-daemon:, docker://, registry:, container:, docker-root:, containerd-root:"),
    (["scan", "oci-archvie:image.tar"], "explorer: oci-archvie:image.tar: unknown transport 'oci-archvie:' "
     "(did you mean 'oci-archive:'?); known: docker-archive:, oci-archive:, oci:, docker-daemon:, docker://, "
     "registry:, container:, docker-root:, containerd-root:"),
    (["layers", "containers-storage:alpine"], "explorer: containers-storage:alpine: transport "
     "'containers-storage:' is not supported by explorer (supported: docker-archive:, oci-archive:, oci:, "
     "docker-daemon:, docker://, registry:, container:, docker-root:, containerd-root:)"),
])
def test_usage_errors_are_one_plain_line(argv, message):
    rc, out, err = run(*argv)
    assert (rc, out) == (2, "")
    assert one_line(err) == message


@pytest.mark.parametrize("ref", ["alpine:3", "xyz:foo", "localhost:5000/team/app:1.2", "docker-daemon:alpine:3"])
def test_name_tag_references_are_not_transports(ref):
    """`alpine:3` is an image reference (`name:tag`), not a transport."""
    from explorer.sources import TRANSPORTS
    from explorer.sources.transports import check_transport
    check_transport(ref, TRANSPORTS)  # raises nothing


def test_unreachable_daemon_is_words_not_a_repr(monkeypatch):
    """The daemon's error is words, not the Python repr of the connection error
    (`('Connection aborted.', FileNotFoundError(2, ...))`)."""
    monkeypatch.setenv("DOCKER_HOST", NO_DAEMON)
    rc, out, err = run("scan", "docker-daemon:alpine:3")
    assert (rc, out) == (2, "")
    assert one_line(err) == f"explorer: cannot reach the Docker daemon at {NO_DAEMON}: No such file or directory"


def test_global_flags_before_or_after_the_image(demo):
    """`explorer --no-cache IMAGE` used to fail while `explorer IMAGE --no-cache` worked; each command takes
    the global flags before the command, between it and the image, and after the image."""
    outputs = set()
    for argv in (["--no-cache", "-j", "1", "layers", demo, "--format", "json"],
                 ["layers", "--no-cache", "--jobs=1", demo, "--format", "json"],
                 ["layers", demo, "--format", "json", "--no-cache", "-j", "1", "-q"],
                 ["-q", "layers", demo, "--format", "JSON"]):
        rc, out, err = run(*argv)
        assert (rc, err) == (0, ""), argv
        outputs.add(out)
    assert len(outputs) == 1 and json.loads(outputs.pop())["layers"]


def test_global_flags_before_an_implicit_open(tmp_path):
    """`explorer --no-cache -j 2 IMAGE` is the UI on IMAGE (which needs a terminal: refused here, with the
    UI's message, not a parse error)."""
    done = subprocess.run([sys.executable, "-m", "explorer", "--no-cache", "-j", "2", str(tmp_path)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, cwd=ROOT,
                          env={k: v for k, v in os.environ.items() if k != "CI"}, timeout=60)
    assert done.returncode == 2
    assert one_line(done.stderr).startswith("explorer: the UI needs a terminal")


def test_help_and_version():
    rc, out, err = run("version")
    assert (rc, out, err) == (0, f"explorer {__version__}\n", "")
    rc, top, _ = run("help")
    assert rc == 0 and "scan" in top and "exit status:" in top and "128+N" in top
    rc, scan_help, _ = run("help", "scan")
    assert rc == 0 and scan_help.startswith("usage: explorer scan")
    words = " ".join(scan_help.split())
    assert "--ignore-file FILE accepted findings (default: .explorer-ignore.toml in the current folder" in words
    assert "exit status:" in scan_help and "--severity LIST" in scan_help and "--exit-code N" in scan_help
    assert "--quiet" in scan_help and "--debug" in scan_help and "--no-progress" in scan_help
    done = run_sub("scan", "--help")
    assert done.returncode == 0 and done.stdout == scan_help


def test_quiet_drops_warnings(demo, tmp_path):
    unusable = {"EXPLORER_CACHE_DIR": str(tmp_path / "a-file" / "cache")}
    (tmp_path / "a-file").write_text("")
    loud = run_sub("layers", demo, **unusable)
    assert loud.returncode == 0
    assert one_line(loud.stderr).startswith(f"explorer: warning: layer cache {tmp_path}/a-file/cache/")
    quiet = run_sub("layers", demo, "--quiet", **unusable)
    assert (quiet.returncode, quiet.stderr, quiet.stdout) == (0, "", loud.stdout)


def test_debug_shows_the_traceback_behind_an_error(tmp_path):
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"not an image at all" * 10)
    plain = run_sub("scan", str(bad))
    assert plain.returncode == 2
    line = one_line(plain.stderr)
    debug = run_sub("scan", str(bad), "--debug")
    assert debug.returncode == 2
    assert debug.stderr.startswith("Traceback (most recent call last)")
    assert debug.stderr.splitlines()[-1] == line


def test_plain_progress_lines(demo):
    done = run_sub("--progress", "plain", "layers", demo, "--no-cache")
    assert done.returncode == 0
    layers = json.loads(run("scan", demo, "--format", "json")[1])["layers"]
    assert sorted(done.stderr.splitlines()) == sorted(f"explorer: layer {layer['index']}: {layer['compressed_size']} "
                                                      f"bytes read" for layer in layers)
    assert run_sub("--progress", "plain", "-q", "layers", demo, "--no-cache").stderr == ""


def test_extract_progress_and_quiet(demo, tmp_path):
    loud = run_sub("--progress", "plain", "extract", demo, "/etc/passwd", "-o", str(tmp_path / "a"))
    assert loud.returncode == 0
    lines = loud.stderr.splitlines()
    assert lines[-1].startswith("explorer: extracted /etc/passwd (layer ")
    layers = json.loads(run("scan", demo, "--format", "json")[1])["layers"]
    assert sorted(lines[:-1]) == sorted(f"explorer: layer {layer['index']}: {layer['compressed_size']} bytes read"
                                        for layer in layers)
    quiet = run_sub("--progress", "plain", "-q", "extract", demo, "/etc/passwd", "-o", str(tmp_path / "b"))
    assert (quiet.returncode, quiet.stderr) == (0, "")
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes() != b""
