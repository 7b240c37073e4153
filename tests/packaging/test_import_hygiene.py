"""Which way the imports point (issue 15): no module outside explorer.tui loads Textual when it is imported,
and explorer's modules import each other without a cycle. `lint-imports` (.ci/run) checks the layers of
pyproject.toml's [tool.importlinter]; these two checks hold whatever the contracts say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]

PROBE = r"""
import os, sys
failed = []
for name in sys.argv[1:]:
    pid = os.fork()
    if pid == 0:  # a child of an interpreter that has imported nothing of explorer: a fresh import
        try:
            __import__(name)
        except BaseException as exc:
            print(f"{name}: import failed: {exc!r}", flush=True)
            os._exit(2)
        os._exit(1 if any(m == "textual" or m.startswith("textual.") for m in sys.modules) else 0)
    status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    if status:
        failed.append(f"{name} ({'loads textual' if status == 1 else 'cannot be imported'})")
print("\n".join(failed))
print(f"checked {len(sys.argv) - 1}")
"""


def headless_modules() -> list[str]:
    names = []
    for path in sorted((ROOT / "explorer").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        if name == "explorer.__main__" or name == "explorer.tui" or name.startswith("explorer.tui."):
            continue
        names.append(name)
    return names


def test_no_module_outside_the_ui_loads_textual():
    names = headless_modules()
    assert {"explorer.main", "explorer.cli.parser", "explorer.scan.engine", "explorer.core.model",
            "explorer.export", "explorer.cli.commands.diff"} <= set(names)
    done = subprocess.run([sys.executable, "-c", PROBE, *names], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    *failed, checked = done.stdout.strip().splitlines()
    assert [line for line in failed if line] == []
    assert checked == f"checked {len(names)}"


def test_the_ui_does_load_textual():
    """The probe can fail: the UI's app module is seen to load Textual."""
    done = subprocess.run([sys.executable, "-c", PROBE, "explorer.tui.app", "explorer.core.model"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.split("\n")[0] == "explorer.tui.app (loads textual)"


def cycles(graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_explorer_has_no_import_cycle():
    graph = grimp.build_graph("explorer", exclude_type_checking_imports=True)
    assert len(graph.modules) > 100
    assert cycles(graph) == []


def test_the_cycle_check_finds_a_cycle():
    graph = grimp.ImportGraph()
    for name in ("a", "a.b", "a.c", "a.d"):
        graph.add_module(name)
    graph.add_import(importer="a.b", imported="a.c")
    graph.add_import(importer="a.c", imported="a.d")
    graph.add_import(importer="a.d", imported="a.b")
    assert cycles(graph) == [["a.b", "a.c", "a.d"]]
