"""Key response times of the TUI in a real terminal (tmux), on the big image or the demo.

    python bench/bench_ui.py [--image IMAGE | --demo] [--rounds 3] [--keys quick|all] [--via pipe|poll]

Runs `explorer IMAGE` in a 200x55 tmux pane through a thin wrapper that logs, in the app, when each key
arrived and when the next frame was handed to the terminal. For every key pressed it records:

- tmux: from `tmux send-keys` until the app's answer reaches tmux (what a person waits for, with tmux's
  own work included). By default tmux copies the pane's output into a FIFO (`pipe-pane`) that a thread
  here reads, which costs nothing while the app works; `--via poll` instead runs `tmux capture-pane`
  in a loop until the screen changes, as earlier versions did. That loop keeps about one of this
  machine's two cores busy and so slows the app it measures (the app's own times are higher under it);
- app: from the key's arrival in the app until the first frame after it (the app's share).

Also the first paint: from "indexing…" on screen to the layer list on screen. The layer cache is warmed by
one `explorer scan` first, so the UI run measures the UI, not the scan. The goal (issue 4): no key waits
more than 100 ms. Keep the machine quiet: a busy second core shows up as slow keys.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import REPO, ensure_image, explorer_env, save  # noqa: E402

SESSION = "explorer-bench-ui"
LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".work", "bench-ui-app.log")


# -- inside the app: the wrapper ------------------------------------------------------------------
def run_app(log_path: str, args: list[str]) -> int:
    """`explorer ARGS` with a log line per key read ('key T') and per frame handed to the terminal ('frame T')."""
    import explorer.tui  # noqa: F401 - first: it sets the escape delay Textual reads when imported
    from textual import events
    from textual.drivers.linux_driver import LinuxDriver

    from explorer.main import main
    from explorer.tui.app import ExplorerApp

    log = open(log_path, "a", buffering=1)
    process_message, display = LinuxDriver.process_message, ExplorerApp._display

    def logged_key(self, message):
        if isinstance(message, events.Key):
            log.write(f"key {time.perf_counter():.4f}\n")
        return process_message(self, message)

    def logged_frame(self, screen, renderable):
        display(self, screen, renderable)
        if renderable is not None:
            log.write(f"frame {time.perf_counter():.4f}\n")

    LinuxDriver.process_message = logged_key
    ExplorerApp._display = logged_frame
    sys.argv = ["explorer", *args]
    return main()


# -- outside: driving tmux ------------------------------------------------------------------------
def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True).stdout


def screen() -> str:
    return tmux("capture-pane", "-t", SESSION, "-e", "-p")


def settle(quiet_for: float = 0.35, limit: float = 15.0) -> str:
    """The screen once it has not changed for `quiet_for` seconds."""
    last, since = screen(), time.perf_counter()
    end = since + limit
    while time.perf_counter() < end:
        time.sleep(0.01)
        now = screen()
        if now != last:
            last, since = now, time.perf_counter()
        elif time.perf_counter() - since > quiet_for:
            break
    return last


DRAWS = re.compile(rb"\x1b\[\d+;\d+H")
"""A cursor move: Textual starts each frame (and each changed stretch of a line) with one."""


class PaneOutput:
    """When the app's drawing reached tmux: `tmux pipe-pane` copies the pane's output into a FIFO that a
    thread reads and timestamps (blocked in read() in between, so it takes no CPU from the app while a key
    is handled). An answer is the first chunk that draws: the screen starts changing then, which is what
    polling capture-pane saw."""

    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="bench-ui-")
        path = os.path.join(self._dir, "pane")
        os.mkfifo(path)
        self._fd = os.open(path, os.O_RDWR)  # a writer of our own: reads block instead of seeing EOF
        self.arrivals: list[float] = []
        self._seen = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        tmux("pipe-pane", "-O", "-t", SESSION, f"cat > {path}")

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._fd, 1 << 16)
            except OSError:
                return
            if not data:
                return
            if not DRAWS.search(data):
                continue  # e.g. the pointer shape (OSC 22) a new screen sets before its first frame
            with self._seen:
                self.arrivals.append(time.perf_counter())
                self._seen.notify_all()

    def first_after(self, since: float, timeout: float) -> float | None:
        """The time of the first output after `since`, waiting up to `timeout` seconds for it."""
        end = since + timeout
        with self._seen:
            while True:
                later = [t for t in self.arrivals[-50:] if t > since]
                if later:
                    return later[0]
                left = end - time.perf_counter()
                if left <= 0:
                    return None
                self._seen.wait(left)

    def close(self) -> None:
        tmux("pipe-pane", "-t", SESSION)
        os.close(self._fd)
        shutil.rmtree(self._dir, ignore_errors=True)


class Run:
    def __init__(self, output: PaneOutput | None = None) -> None:
        self.results: dict[str, dict[str, list[float]]] = {}
        self._offset = 0
        self.output = output
        """Where the app's answers are seen (None: poll the screen with capture-pane)."""

    def _app_latency(self) -> float | None:
        with open(LOG) as fh:
            fh.seek(self._offset)
            lines = fh.read().splitlines()
            self._offset = fh.tell()
        key = None
        for line in lines:
            kind, t = line.split()
            if kind == "key" and key is None:
                key = float(t)
            elif kind == "frame" and key is not None:
                return (float(t) - key) * 1000
        return None

    def press(self, key: str, label: str | None = None, timeout: float = 3.0) -> float | None:
        before = settle()
        self._app_latency()  # skip what came before
        started = time.perf_counter()
        tmux("send-keys", "-t", SESSION, key)
        waited = None
        if self.output is not None:
            seen = self.output.first_after(started, timeout)
            waited = (seen - started) * 1000 if seen is not None else None
        while self.output is None and time.perf_counter() - started < timeout:
            if screen() != before:
                waited = (time.perf_counter() - started) * 1000
                break
        time.sleep(0.05)
        app = self._app_latency()
        if label:
            entry = self.results.setdefault(label, {"tmux": [], "app": [], "load": []})
            if waited is not None:
                entry["tmux"].append(waited)
            if app is not None:
                entry["app"].append(app)
            entry["load"].append(os.getloadavg()[0])
        return waited

    def steps(self, steps: list[tuple[str, str | None]], rounds: int) -> None:
        for _ in range(rounds):
            for key, label in steps:
                self.press(key, label)

    def find(self, text: str) -> None:
        """Open the search, type `text`, put the cursor on the last result (enter not pressed)."""
        tmux("send-keys", "-t", SESSION, "/")
        time.sleep(0.3)
        tmux("send-keys", "-t", SESSION, "-l", text)
        time.sleep(1.0)
        settle()
        for key in ("Down", "End"):
            tmux("send-keys", "-t", SESSION, key)
            settle()


MAIN = [
    [("?", "? help open"), ("Escape", "escape: help close")],
    [("f", "f: focus findings"), ("l", "l: focus layers"), ("t", "t: focus tree"), ("l", None)],
    [("c", "c: changes only on"), ("c", "c: changes only off")],
    [("a", "a/m/d/u: filter"), ("a", "a/m/d/u: filter"), ("d", "a/m/d/u: filter"), ("d", "a/m/d/u: filter")],
    [("!", "!: flagged only"), ("!", "!: flagged only"), ("a", None), ("0", "0: clear filters")],
    [("[", "[ ]: layer below/above"), ("]", "[ ]: layer below/above")],
    [("Up", "up/down: layers"), ("Down", "up/down: layers"), ("Enter", "enter: layer -> tree"), ("l", None)],
    [("C-t", "ctrl+t: theme"), ("C-t", "ctrl+t: theme")],
    [("C-p", "ctrl+p: palette open"), ("Escape", "escape: palette close")],
    [("t", None), ("Down", "tree: down/up/pgdn/pgup"), ("Up", "tree: down/up/pgdn/pgup"),
     ("NPage", "tree: down/up/pgdn/pgup"), ("PPage", "tree: down/up/pgdn/pgup"), ("s", "s: sort tree"),
     ("s", "s: sort tree"), ("Down", None), ("Right", "right/left: expand/collapse"),
     ("Left", "right/left: expand/collapse"), ("x", "x: export open"), ("Escape", "escape: export close"),
     ("Home", None), ("l", None)],
    [("f", None), ("Down", "findings: down/up/end/home"), ("End", "findings: down/up/end/home"),
     ("Home", "findings: down/up/end/home"), ("s", "s: sort findings"), ("l", None)],
    [("i", "i: config open"), ("2", "1-6: config tabs"), ("3", "1-6: config tabs"), ("1", "1-6: config tabs"),
     ("Escape", "escape: config close")],
    [("/", "/: find open"), ("e", "find: type"), ("t", "find: type"), ("Escape", "escape: find close")],
    [("w", "w: wasted view open"), ("p", "space: sort s/p/c/l"), ("c", "space: sort s/p/c/l"),
     ("l", "space: sort s/p/c/l"), ("s", "space: sort s/p/c/l"), ("b", "space: w/b switch view"),
     ("p", "space: sort s/p/c/l"), ("w", "space: w/b switch view"), ("Down", None),
     ("Enter", "enter: space row -> tree"), ("l", None)],
    [("b", "b: largest view open"), ("Escape", "escape: space close")],
    [("t", None), ("+", "+/-: expand/collapse all"), ("-", "+/-: expand/collapse all"),
     ("C-f", "ctrl+f: name filter open"), ("l", "name filter: type"), ("i", "name filter: type"),
     ("b", "name filter: type"), ("Enter", "name filter: enter (to the tree)"), ("C-f", None),
     ("Escape", "escape: name filter clear"), ("l", None)],
    [("r", "r: raw tar open"), ("n", "raw tar: n/p marker"), ("p", "raw tar: n/p marker"),
     ("Escape", "escape: raw tar close")],
    [("T", "T: tour open"), ("n", "tour: n/p step"), ("n", "tour: n/p step"), ("n", "tour: n/p step"),
     ("p", "tour: n/p step"), ("Escape", "escape: tour leave"), ("l", None)],
    [("f", None), ("y", "y: copy menu open"), ("p", "copy menu: p copies the path"), ("C-c", "ctrl+c: copy the path"),
     ("g", "g: group findings by rule"), ("g", "g: group findings by rule"), ("F", "F: findings filter open"),
     ("Escape", "escape: filter close"), ("R", "R: report dialog open"), ("Escape", "escape: report close"),
     ("l", None)],
]


def search_sorts(run: Run, text: str) -> None:
    """Sort the results of a search that matches many copies, by size, path and layer."""
    run.find(text)
    for key in ("s", "p", "l"):
        run.press(key, "find: sort l/p/s (many results)")
    run.press("Escape")


def findings(run: Run, steps: int = 10) -> None:
    """Enter on one finding after another: its detail view, then enter again: a jump to its file, or the
    config view."""
    run.press("f")
    run.press("Home")
    for _ in range(steps):
        run.press("Enter", "enter: a finding's detail view")
        run.press("Enter", "enter: detail -> its file (or config)")
        if "1–6: tabs" in settle():
            run.press("Escape")
        run.press("Down")
    run.press("l")


def viewer(run: Run, path: str, rounds: int) -> None:
    run.find(path)
    run.press("Enter", "enter: search result -> tree")
    run.press("t")
    run.steps([("v", "v: viewer open"), ("x", "viewer: x p n d"), ("x", "viewer: x p n d"),
               ("p", "viewer: x p n d"), ("n", "viewer: x p n d"), ("Escape", "escape: viewer close")], rounds)
    run.press("l")


def big_folder(run: Run, rounds: int) -> None:
    for _ in range(rounds):
        run.find("data/schemas/resources/")
        run.press("Enter", "enter: search result deep in a 2205-entry folder")
        settle(0.6)
        run.press("l")
        run.press("End")


def main() -> int:
    if len(sys.argv) > 2 and sys.argv[1] == "--app":
        return run_app(sys.argv[2], sys.argv[3:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", help="image to open (default: the big bench image)")
    parser.add_argument("--demo", action="store_true", help="open the built-in demo image instead")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keys", choices=("quick", "all"), default="all")
    parser.add_argument("--via", choices=("pipe", "poll"), default="pipe",
                        help="see the app's answers in a FIFO fed by tmux (default) or by polling the screen")
    args = parser.parse_args()
    target = "demo" if args.demo else ensure_image(args.image)
    env = explorer_env()
    if target != "demo":
        subprocess.run([sys.executable, "-m", "explorer", "scan", target, "--format", "json"], env=env,
                       stdout=subprocess.DEVNULL, check=True)  # warm the layer cache
    os.makedirs(os.path.dirname(LOG), exist_ok=True)
    open(LOG, "w").close()
    tmux("kill-session", "-t", SESSION)
    command = " ".join([f"cd {REPO} &&", f"PYTHONPATH={env['PYTHONPATH']}", "exec", sys.executable,
                        os.path.abspath(__file__), "--app", LOG, target])
    subprocess.run(["tmux", "new-session", "-d", "-s", SESSION, "-x", "200", "-y", "55", command], check=True)
    run = Run()
    try:
        seen_indexing, end = None, time.perf_counter() + 300
        while time.perf_counter() < end:
            shown = screen()
            if seen_indexing is None and "indexing" in shown:
                seen_indexing = time.perf_counter()
            if "─ Layers ─" in re.sub(r"\x1b\[[0-9;:]*m", "", shown):  # the title's colour may differ from the border's
                break
            time.sleep(0.002)
        else:
            raise SystemExit("the layer list never appeared")
        first_paint = (time.perf_counter() - seen_indexing) * 1000 if seen_indexing else None
        time.sleep(3)
        settle(0.5)
        if args.via == "pipe":
            run.output = PaneOutput()
        for steps in MAIN:
            run.steps(steps, args.rounds)
        findings(run)
        search_sorts(run, "lib")
        if args.keys == "all" and target != "demo":
            viewer(run, "sed/changelog.Debian.gz", args.rounds)
            big_folder(run, args.rounds)
        elif args.keys == "all":
            viewer(run, "srv/app/.env", args.rounds)
        run.press("q")
    finally:
        if run.output is not None:
            run.output.close()
        tmux("kill-session", "-t", SESSION)
    report(run, target, first_paint, args.via)
    return 0


def report(run: Run, target: str, first_paint: float | None, via: str) -> None:
    def spread(xs: list[float]) -> str:
        return f"{min(xs):.0f}/{statistics.median(xs):.0f}/{max(xs):.0f}" if xs else "-"

    print(f"first paint ('indexing…' -> layer list, in tmux): {first_paint and round(first_paint)} ms")
    print(f"answers seen via {'a FIFO fed by tmux pipe-pane' if via == 'pipe' else 'polling tmux capture-pane'}")
    print(f"{'key':52} {'n':>3} {'tmux min/med/max':>18} {'app min/med/max':>17}")
    over = []
    for label, entry in run.results.items():
        print(f"{label:52} {len(entry['tmux']):>3} {spread(entry['tmux']):>18} {spread(entry['app']):>17}")
        over += [(label, round(t)) for t in entry["tmux"] if t > 100]
    presses = sum(len(e["tmux"]) for e in run.results.values())
    loads = [x for e in run.results.values() for x in e["load"]]
    print(f"{presses} presses, {len(over)} over 100 ms in tmux: {over}; load average {min(loads):.1f}-{max(loads):.1f}")
    path = save("results-ui.json", {"image": target, "via": via, "first_paint_ms": first_paint, "keys": run.results,
                                    "over_100ms": over, "loadavg": [min(loads), max(loads)]})
    print(f"saved {path}")


if __name__ == "__main__":
    raise SystemExit(main())
