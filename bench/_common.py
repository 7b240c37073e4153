"""Shared helpers for the benchmark scripts: the image, its blobs, timing with peak RSS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
WORK = os.path.join(BENCH, ".work")


def ensure_image(image: str | None) -> str:
    """The image to measure: the one given, or the cached big image (built on first use)."""
    if image:
        return os.path.abspath(image)
    subprocess.run([sys.executable, os.path.join(BENCH, "make_big_image.py")], check=True)
    return os.path.join(WORK, "big-image.tar")


def explorer_env() -> dict:
    """Run the explorer of this checkout, whether or not it is pip-installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    # measure explorer as installed, with its bytecode cached (__pycache__ is git-ignored): compiling
    # every module on each run costs ~0.35 s that no pip-installed explorer pays
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _key(image: str) -> str:
    st = os.stat(image)
    return f"{os.path.basename(image)}-{st.st_size}-{int(st.st_mtime)}"


def extract_layer_blobs(image: str) -> list[tuple[str, bool]]:
    """Layer blobs of a docker-archive tar as files under .work/ (cached): [(path, is_gzip)] in manifest order."""
    out = os.path.join(WORK, "blobs-" + _key(image))
    index = os.path.join(out, "layers.json")
    if not os.path.exists(index):
        os.makedirs(out, exist_ok=True)
        with tarfile.open(image) as tar:
            manifest = json.load(tar.extractfile("manifest.json"))
            if len(manifest) != 1:
                raise SystemExit(f"{image}: manifest.json lists {len(manifest)} images; give a single-image archive")
            names = manifest[0]["Layers"]
            layers = []
            for i, name in enumerate(names):
                dest = os.path.join(out, f"layer{i:03d}")
                with tar.extractfile(name) as src, open(dest, "wb") as fh:
                    while chunk := src.read(1 << 20):
                        fh.write(chunk)
                with open(dest, "rb") as fh:
                    gz = fh.read(2) == b"\x1f\x8b"
                layers.append((dest, gz))
        with open(index, "w") as fh:
            json.dump(layers, fh)
    with open(index) as fh:
        return [tuple(x) for x in json.load(fh)]


def extract_final_rootfs(image: str) -> str:
    """The image's final root filesystem under .work/ (cached): layers applied in order, whiteouts honoured."""
    import shutil

    dest = os.path.join(WORK, "rootfs-" + _key(image))
    done = dest + ".done"
    if os.path.exists(done):
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    for blob, _gz in extract_layer_blobs(image):
        # whiteouts first (they refer to lower layers only), then everything else of this layer
        with tarfile.open(blob, "r:*") as tar:
            for m in tar:
                parent, base = os.path.split(os.path.normpath("/" + m.name).lstrip("/"))
                if base == ".wh..wh..opq":
                    d = os.path.join(dest, parent)
                    if os.path.isdir(d) and not os.path.islink(d):
                        for child in os.listdir(d):
                            _remove(os.path.join(d, child))
                elif base.startswith(".wh."):
                    _remove(os.path.join(dest, parent, base[4:]))
        subprocess.run(["tar", "-xf", blob, "-C", dest, "--exclude=.wh.*", "--no-same-owner",
                        "--delay-directory-restore"], check=True)
    open(done, "w").close()
    return dest


def _remove(path: str) -> None:
    import shutil

    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


@dataclass
class Run:
    seconds: float
    max_rss_kb: int
    returncode: int
    cpu: float = 0.0
    """user + system CPU seconds of the child and its waited-for children"""


def run_timed(cmd: list[str], stdout=subprocess.DEVNULL, env: dict | None = None, cwd: str | None = None) -> Run:
    """Wall time and the child's own peak RSS (wait4, so earlier children do not count)."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, env=env, cwd=cwd)
    # stderr is small for every command measured; read it after exit
    _, status, usage = os.wait4(p.pid, 0)
    seconds = time.perf_counter() - t
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    run = Run(seconds, usage.ru_maxrss, p.returncode, usage.ru_utime + usage.ru_stime)
    run.stderr = err  # type: ignore[attr-defined]
    return run


@dataclass
class Measure:
    name: str
    runs: list[float] = field(default_factory=list)
    cpu_runs: list[float] = field(default_factory=list)
    max_rss_kb: int = 0
    note: str = ""

    @property
    def best(self) -> float:
        return min(self.runs) if self.runs else float("nan")

    @property
    def best_cpu(self) -> float:
        return min(self.cpu_runs) if self.cpu_runs else float("nan")

    def add(self, seconds: float, cpu: float, rss_kb: int) -> None:
        self.runs.append(seconds)
        self.cpu_runs.append(cpu)
        self.max_rss_kb = max(self.max_rss_kb, rss_kb)

    def doc(self) -> dict:
        return {"name": self.name, "best_s": round(self.best, 3), "runs_s": [round(r, 3) for r in self.runs],
                "best_cpu_s": round(self.best_cpu, 3), "cpu_runs_s": [round(r, 3) for r in self.cpu_runs],
                "max_rss_mb": round(self.max_rss_kb / 1024, 1), "note": self.note}


def ratio(a: Measure, b: Measure, cpu: bool = False) -> str:
    x, y = (a.best_cpu, b.best_cpu) if cpu else (a.best, b.best)
    if not a.runs or not b.runs or not y > 0:
        return "n/a"
    return f"{x / y:.2f}x"


def print_table(rows: list[Measure]) -> None:
    print(f"{'measure':44} {'best wall s':>11} {'best CPU s':>10} {'wall runs s':>24} {'peak RSS':>9}  note")
    for m in rows:
        runs = " ".join(f"{r:.2f}" for r in m.runs) or "-"
        rss = f"{m.max_rss_kb / 1024:.0f} MB" if m.max_rss_kb else "-"
        best = f"{m.best:.2f}" if m.runs else "-"
        cpu = f"{m.best_cpu:.2f}" if m.cpu_runs else "-"
        print(f"{m.name:44} {best:>11} {cpu:>10} {runs:>24} {rss:>9}  {m.note}")


def save(name: str, doc: dict) -> str:
    os.makedirs(WORK, exist_ok=True)
    path = os.path.join(WORK, name)
    with open(path, "w") as fh:
        json.dump(doc, fh, indent=2)
    return path
