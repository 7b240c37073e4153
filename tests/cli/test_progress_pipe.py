"""Progress as plain lines when stderr is not a terminal (a pipe here, as in a CI log), with no flag:
every long command; `--no-progress` and `-q` silence it. (The suite sets $EXPLORER_PROGRESS=none for
the other tests; these run without it.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from explorer.demo import write_demo

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return write_demo(str(tmp_path_factory.mktemp("demo")))


@pytest.fixture(scope="module")
def layer_lines(demo):
    """The line each of the demo's layers gives once read."""
    out = explorer("scan", demo, "--format", "json", "--no-progress")
    return sorted(f"explorer: layer {layer['index']}: {layer['compressed_size']} bytes read"
                  for layer in json.loads(out.stdout)["layers"])


def explorer(*argv: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "EXPLORER_PROGRESS"}
    run = subprocess.run([sys.executable, "-m", "explorer", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, cwd=ROOT, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    return run


@pytest.mark.parametrize("argv", [["scan", "{demo}", "--format", "json"], ["layers", "{demo}"],
                                  ["tree", "{demo}"], ["extract", "{demo}", "/etc/passwd", "-o", "{out}"]])
def test_a_pipe_gets_one_line_per_layer(demo, layer_lines, tmp_path, argv):
    def made(n: int) -> list[str]:  # each extract to a new file
        return [a.format(demo=demo, out=tmp_path / f"passwd{n}") for a in argv]

    lines = explorer(*made(0), "--no-cache").stderr.splitlines()
    if argv[0] == "extract":  # its last line says what was written: not progress
        assert lines.pop().startswith("explorer: extracted /etc/passwd (layer ")
    assert sorted(lines) == layer_lines
    silent = explorer(*made(1), "--no-cache", "--no-progress").stderr.splitlines()
    assert silent == ([f"explorer: extracted /etc/passwd (layer 5) to {tmp_path / 'passwd1'}: 1 files, 0 folders, "
                       "0 symlinks written; 0 skipped"] if argv[0] == "extract" else [])
    assert explorer(*made(2), "--no-cache", "-q").stderr == ""


def test_diff_gives_the_lines_of_both_images(demo, layer_lines):
    lines = explorer("diff", demo, demo, "--no-cache", "--format", "json").stderr.splitlines()
    assert sorted(lines) == sorted(layer_lines * 2)
    assert explorer("diff", demo, demo, "--no-cache", "--format", "json", "--no-progress").stderr == ""
