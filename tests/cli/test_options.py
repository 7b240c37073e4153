"""The one options object: the command line builds it once from argparse's namespace and passes it
down; the commands and the UI read typed fields, never the namespace."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import explorer.cli.commands as commands
import explorer.cli.commands.scan as scan_command
from explorer.cli.parser import _parser, main, options_from_args
from explorer.core.options import ImageOptions, Options, RegistryOptions, ScanOptions
from explorer.core.limits import DEFAULT, MIB, Limits

ROOT = Path(__file__).resolve().parents[2]


def build(*argv: str) -> Options:
    return options_from_args(_parser().parse_args(list(argv)))


def test_a_scan_command_line_becomes_one_frozen_options_object():
    options = build("scan", "img.tar", "--format", "json", "--disable", "a.b", "--disable", "c.d", "--rules", "/r",
                    "--no-cache", "-j", "3", "--max-file-scan", "1M", "--platform", "linux/arm64",
                    "--insecure-registry", "localhost:5000", "--severity", "HIGH,critical", "--fail-on", "high")
    assert options.command == "scan" and options.format == "json" and options.fail_on == "high"
    assert options.severity == frozenset({"high", "critical"})
    assert options.scan == ScanOptions(disabled=frozenset({"a.b", "c.d"}), extra_rule_dirs=("/r",), cache=False)
    assert options.image == ImageOptions(image="img.tar", platform="linux/arm64",
                                         registry=RegistryOptions(insecure=("localhost:5000",)),
                                         limits=Limits(max_file_scan=MIB), jobs=3, cache=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.format = "table"


def test_commands_without_a_flag_get_its_default():
    audit = build("audit", "Dockerfile")
    assert audit.dockerfile == "Dockerfile" and audit.image == ImageOptions() and audit.scan.cache
    layers = build("layers", "img.tar", "--ci", "--lowest-efficiency", "0.5")
    assert layers.top == 10 and layers.ci and layers.image.limits == DEFAULT and layers.image.jobs is None
    assert layers.ci_rules == {"lowestEfficiency": "0.5", "highestWastedBytes": None,
                               "highestUserWastedPercent": None}
    diff = build("diff", "a.tar", "b.tar", "--max-total", "2M")
    assert (diff.image.image, diff.other.image) == ("a.tar", "b.tar")
    assert diff.image.limits == diff.other.limits == Limits(max_total=2 * MIB)
    extract = build("extract", "img.tar", "/etc", "--layer", "2", "-o", "out")
    assert (extract.path, extract.layer, extract.output) == ("/etc", 2, "out")


def test_main_hands_the_commands_the_options_object(monkeypatch):
    seen = []
    monkeypatch.setattr(commands, "QUIET", False)  # main sets it from -q: put back after the test
    monkeypatch.setattr(scan_command, "run_scan", lambda options: seen.append(options) or 0)
    assert main(["scan", "img.tar", "-q", "--jobs", "2"]) == 0
    assert isinstance(seen[0], Options) and seen[0].quiet and seen[0].image.jobs == 2
    assert seen[0].image.progress == "none"  # --quiet: no progress


def test_nothing_below_the_command_line_reads_the_namespace_with_fallbacks():
    readers = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "explorer").rglob("*.py")
                     if "getattr(args" in p.read_text())
    assert readers == ["explorer/cli/parser.py"]


def test_the_ui_commands_get_the_global_flags():
    demo = build("demo", "--no-cache", "-j", "2")
    assert demo.image == ImageOptions(cache=False, jobs=2) and not demo.scan.cache
    assert build("open", "img.tar", "--progress", "plain").image.progress == "plain"
