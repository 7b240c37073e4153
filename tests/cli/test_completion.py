"""Shell completion scripts generated from the parser: bash (run here, as bash's completion calls it),
zsh (shtab) and fish (explorer.cli.completion)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def script(shell: str) -> str:
    done = subprocess.run([sys.executable, "-m", "explorer", "completion", shell], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    assert done.stderr == ""
    return done.stdout


BASH_DRIVER = r'''
source "$1"; shift
COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
COMPREPLY=(); _shtab_explorer
printf '%s\n' "${COMPREPLY[@]}" | sort
'''


@pytest.mark.parametrize("words, expected", [
    (["explorer", "sc"], ["scan"]),
    (["explorer", "scan", "--fail"], ["--fail-on"]),
    (["explorer", "scan", "--format", ""], ["json", "sarif", "table"]),
    (["explorer", "scan", "IMG", "--fail-on", ""], ["critical", "high", "info", "low", "medium"]),
    (["explorer", "--no-c"], ["--no-cache"]),
    (["explorer", "layers", "--no-c"], ["--no-cache"]),
    (["explorer", "completion", ""], ["bash", "fish", "zsh"]),
])
def test_bash_completes(tmp_path, words, expected):
    path = tmp_path / "explorer.bash"
    path.write_text(script("bash"))
    done = subprocess.run(["bash", "-c", BASH_DRIVER, "driver", str(path), *words], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == expected


def test_zsh_and_fish_scripts():
    zsh = script("zsh")
    assert zsh.startswith("#compdef explorer") and "--fail-on" in zsh and "--severity" in zsh
    if shutil.which("zsh"):
        subprocess.run(["zsh", "-n"], input=zsh, text=True, check=True)
    fish = script("fish").splitlines()
    assert "complete -c explorer -n __fish_use_subcommand -a scan -d 'run every detector over every layer'" in fish
    assert ("complete -c explorer -n '__fish_seen_subcommand_from scan' -l fail-on -r -f "
            "-a 'critical high medium low info' -d 'exit 1 (or --exit-code) when a reported finding at or above "
            "this severity exists'") in fish
    assert "complete -c explorer -n '__fish_seen_subcommand_from scan' -l quiet -s q -d 'no progress and no " \
           "warnings on stderr (errors are still shown)'" in fish
    if shutil.which("fish"):
        subprocess.run(["fish", "--no-execute"], input="\n".join(fish), text=True, check=True)
