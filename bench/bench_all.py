#!/usr/bin/env python3
"""Every speed goal of the project in one run, on one machine state, for four forms of the same image.

forms     docker-archive gzip (the built image: 4 gzip + 2 plain layers, as `make_big_image.py` writes it),
          docker-archive zstd, oci-archive gzip, oci-archive zstd (made from it once with skopeo, cached)
floors    `tar -tvf` over the form's layer blobs (`-z` / `--zstd`), summed; `yara -C -N -r -p 2` with the
          project's compiled rules over the image's final root filesystem (the same for every form)
explorer  `layers --no-cache`; `scan` cold (a fresh, empty cache folder: reading + filling the cache);
          `scan` warm (the same cache folder again; its JSON must equal the cold one byte for byte);
          per form. Once, on the first form: `scan --jobs 1` (one process) for its peak RSS.
memory    peak of the summed RSS and the summed PSS of the process tree (the command and every
          descendant, e.g. forkserver workers), sampled from /proc every 50 ms; CPU = user + system
          of every process of the tree (last sample of each). Bytes per indexed entry: Python heap
          (tracemalloc) held by the stacked ImageAnalysis of the image, over its tar members.
ratios    layers / tar floor (goal <= 3x), cold scan / yara floor (goal <= 2x), warm / cold scan (goal
          <= 5 %), peak RSS against 1 KiB per entry + the largest file scanned (goal).

    python bench/bench_all.py [--image IMAGE] [-n 1] [--forms docker-gzip,docker-zstd,oci-gzip,oci-zstd]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import REPO, WORK, ensure_image, explorer_env, extract_final_rootfs, save  # noqa: E402
from bench_scan import compile_rules  # noqa: E402

FORMS = ("docker-gzip", "docker-zstd", "oci-gzip", "oci-zstd")
DETECTOR_CAP = 64 * 1024 * 1024
"""Largest prefix of one file the detectors see (explorer.layerfs.walker.MAX_CONTENT)."""


# -- the four forms -------------------------------------------------------------------------------

def make_forms(image: str, wanted: list[str]) -> dict[str, str]:
    out = {"docker-gzip": image}
    base = os.path.splitext(image)[0]
    for form in wanted:
        if form in out:
            continue
        kind, comp = form.split("-")
        oci = f"{base}-oci-{comp}.tar"
        if not os.path.exists(oci):
            print(f"making {os.path.basename(oci)} with skopeo ...", file=sys.stderr)
            subprocess.run(["skopeo", "copy", "-q", f"docker-archive:{image}", f"oci-archive:{oci}.tmp",
                            "--dest-compress-format", comp], check=True)
            os.replace(oci + ".tmp", oci)
        if kind == "oci":
            out[form] = oci
            continue
        docker = f"{base}-docker-{comp}.tar"
        if not os.path.exists(docker):
            _oci_to_docker(oci, docker)
        out[form] = docker
    return {f: out[f] for f in wanted}


def _oci_to_docker(oci: str, dest: str) -> None:
    """The Docker >= 25 `docker save` layout is an OCI layout plus manifest.json: add it."""
    with tarfile.open(oci) as src:
        index = json.load(src.extractfile("index.json"))
        manifest = json.load(src.extractfile("blobs/sha256/" + index["manifests"][0]["digest"][7:]))
        doc = [{"Config": "blobs/sha256/" + manifest["config"]["digest"][7:], "RepoTags": ["bench/big:latest"],
                "Layers": ["blobs/sha256/" + layer["digest"][7:] for layer in manifest["layers"]]}]
        with tarfile.open(dest + ".tmp", "w", format=tarfile.PAX_FORMAT) as out:
            for member in src:
                out.addfile(member, src.extractfile(member) if member.isfile() else None)
            data = json.dumps(doc).encode()
            info = tarfile.TarInfo("manifest.json")
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    os.replace(dest + ".tmp", dest)


def layer_blobs(image: str) -> list[tuple[str, str]]:
    """The image's layer blobs as files under .work/ (cached): [(path, compression)], read with explorer."""
    sys.path.insert(0, REPO)
    from explorer.layerfs.stream import sniff
    from explorer.sources import open_image

    st = os.stat(image)
    folder = os.path.join(WORK, f"blobs-{os.path.basename(image)}-{st.st_size}-{int(st.st_mtime)}")
    index = os.path.join(folder, "forms.json")
    if not os.path.exists(index):
        os.makedirs(folder, exist_ok=True)
        found = []
        with open_image(image) as source:
            for ref in source.layers:
                path = os.path.join(folder, f"layer{ref.index:03d}.blob")
                with source.open_layer(ref) as blob, open(path, "wb") as fh:
                    shutil.copyfileobj(blob, fh, 1 << 20)
                with open(path, "rb") as fh:
                    found.append((os.path.basename(path), sniff(fh.read(6))))
        with open(index, "w") as fh:
            json.dump(found, fh)
    with open(index) as fh:  # names relative to the folder (older runs stored absolute paths)
        return [(os.path.join(folder, os.path.basename(name)), comp) for name, comp in json.load(fh)]


# -- measuring a process tree ---------------------------------------------------------------------

def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(name))
    return kids


def _tree(root: int) -> list[int]:
    kids = _children()
    out, stack = [], [root]
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(kids.get(pid, ()))
    return out


def _sample(pid: int) -> tuple[int, int, float] | None:
    """(RSS kB, PSS kB, CPU s) of one process."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            fields = dict(line.split(":", 1) for line in fh if ":" in line and not line.startswith(("0", "7", "f")))
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read().rsplit(")", 1)[1].split()
    except (OSError, ValueError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    rss = int(fields.get("Rss", "0 kB").split()[0])
    pss = int(fields.get("Pss", "0 kB").split()[0])
    return rss, pss, (int(stat[11]) + int(stat[12])) / tick


class Run:
    def __init__(self, seconds, rss_kb, pss_kb, cpu, returncode, stderr):
        self.seconds, self.rss_kb, self.pss_kb, self.cpu = seconds, rss_kb, pss_kb, cpu
        self.returncode, self.stderr = returncode, stderr


def run_tree(cmd: list[str], env: dict | None = None, stdout=subprocess.DEVNULL) -> Run:
    """Wall time, peak summed RSS/PSS and total CPU of the command's process tree."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, env=env)
    cpu: dict[int, float] = {}
    peak = [0, 0]
    done = threading.Event()

    def sampler():
        while not done.is_set():
            rss = pss = 0
            for pid in _tree(p.pid):
                s = _sample(pid)
                if s:
                    rss, pss = rss + s[0], pss + s[1]
                    cpu[pid] = s[2]
            peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
            done.wait(0.05)

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    _, status, usage = os.wait4(p.pid, 0)
    seconds = time.perf_counter() - t
    done.set()
    thread.join()
    cpu[p.pid] = max(cpu.get(p.pid, 0.0), usage.ru_utime + usage.ru_stime)
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    return Run(seconds, max(peak[0], usage.ru_maxrss), peak[1], sum(cpu.values()),
               os.waitstatus_to_exitcode(status), err)


def checked(run: Run, what: str, ok=(0,)) -> Run:
    if run.returncode not in ok:
        raise SystemExit(f"{what} exited {run.returncode}: {run.stderr.strip()[-1500:]}")
    return run


# -- the measures ---------------------------------------------------------------------------------

def tar_floor(blobs) -> Run:
    total = Run(0.0, 0, 0, 0.0, 0, "")
    for path, comp in blobs:
        flag = {"gzip": ["-z"], "zstd": ["--zstd"]}.get(comp, [])
        r = checked(run_tree(["tar", *flag, "-tvf", path]), f"tar on {path}")
        total.seconds += r.seconds
        total.cpu += r.cpu
        total.rss_kb = max(total.rss_kb, r.rss_kb)
    return total


def entry_bytes(image: str, cache_dir: str) -> dict:
    """Python heap held per tar member by the stacked analysis (read from the warm cache)."""
    code = (
        "import json, sys, tracemalloc\n"
        "from explorer.scan.cache import LayerCache\n"
        "from explorer.scan.engine import analyze_image\n"
        "from explorer.sources import open_image\n"
        "src = open_image(sys.argv[1]); cache = LayerCache(sys.argv[2])\n"
        "analyze_image(src, cache=cache)\n"  # fills the layers-only rows, untraced
        "tracemalloc.start()\n"
        "a = analyze_image(src, cache=cache)\n"
        "held, peak = tracemalloc.get_traced_memory()\n"
        "n = sum(r.stats.entries for r in a.layers)\n"
        "big = max((e.size for e in a.entries() if e.kind.value == 'file'), default=0)\n"
        "print(json.dumps({'entries': n, 'held_bytes': held, 'peak_bytes': peak, 'largest_file': big}))\n")
    r = subprocess.run([sys.executable, "-c", code, image, cache_dir], capture_output=True, text=True,
                       env=explorer_env(), check=True)
    return json.loads(r.stdout)


def tiny_image() -> str:
    """A one-file image: `scan --jobs 1` on it costs the fixed memory of a scan (interpreter, rules,
    detectors), which the per-entry and per-file budget is measured on top of."""
    sys.path.insert(0, REPO)
    from explorer.demo.imagewriter import Entry, ImageSpec, Layer, write_image

    path = os.path.join(WORK, "tiny-image.tar")
    if not os.path.exists(path):
        write_image(ImageSpec(layers=[Layer([Entry.file("/hello.txt", b"hello\n")], created_by="COPY hello.txt /")]),
                    path)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", help="docker-archive tar (default: the cached big image, built if missing)")
    ap.add_argument("-n", type=int, default=1, help="measured rounds (best counts; default 1)")
    ap.add_argument("--forms", default=",".join(FORMS), help=f"comma-separated subset of {','.join(FORMS)}")
    args = ap.parse_args()
    image = ensure_image(args.image)
    forms = make_forms(image, [f for f in args.forms.split(",") if f])
    rootfs = extract_final_rootfs(image)
    rules, note = compile_rules()
    if not rules:
        raise SystemExit(f"no YARA floor: {note}")
    yara_cmd = ["yara", "-C", "-N", "-r", "-p", "2", rules, rootfs]
    env = explorer_env()
    py = [sys.executable, "-m", "explorer"]
    scratch = tempfile.mkdtemp(prefix="bench-cache-", dir=WORK)
    results: dict = {"image": image, "forms": {}, "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    load_before = os.getloadavg()
    checked(run_tree(yara_cmd), "yara")  # warm-up: page cache of the rootfs
    yara_runs = []
    for name, path in forms.items():
        blobs = layer_blobs(path)
        tar_floor(blobs)  # warm-up: page cache of the blobs
        checked(run_tree(py + ["layers", path, "--format", "json", "--no-cache"], env=env), "layers")
        best: dict[str, Run] = {}
        for round_ in range(max(1, args.n)):
            yara_runs.append(checked(run_tree(yara_cmd), "yara"))
            runs = {"tar": tar_floor(blobs),
                    "layers": checked(run_tree(py + ["layers", path, "--format", "json", "--no-cache"], env=env),
                                      "layers")}
            cache = os.path.join(scratch, f"{name}-{round_}")
            cold_out, warm_out = os.path.join(scratch, "cold.json"), os.path.join(scratch, "warm.json")
            scan = py + ["scan", path, "--format", "json", "--no-progress"]
            runs["cold"] = checked(run_tree(scan + ["--output", cold_out], env=dict(env, EXPLORER_CACHE_DIR=cache)),
                                   "scan", (0, 1))
            runs["warm"] = checked(run_tree(scan + ["--output", warm_out], env=dict(env, EXPLORER_CACHE_DIR=cache)),
                                   "warm scan", (0, 1))
            with open(cold_out, "rb") as a, open(warm_out, "rb") as b:
                if a.read() != b.read():
                    raise SystemExit(f"{name}: the warm scan's JSON differs from the cold one")
            for key, run in runs.items():
                if key not in best or run.seconds < best[key].seconds:
                    best[key] = run
        with open(cold_out) as fh:
            doc = json.load(fh)
        results["forms"][name] = {
            "path": path, "archive_mb": round(os.path.getsize(path) / 1e6),
            "blob_mb": round(sum(os.path.getsize(p) for p, _ in blobs) / 1e6),
            "compression": sorted({c for _, c in blobs}), "findings": len(doc["findings"]),
            **{k: {"wall_s": round(r.seconds, 2), "cpu_s": round(r.cpu, 2), "rss_mb": round(r.rss_kb / 1024),
                   "pss_mb": round(r.pss_kb / 1024)} for k, r in best.items()}}
    first = next(iter(forms.values()))
    one = checked(run_tree(py + ["scan", first, "--format", "json", "--no-progress", "--no-cache", "--jobs", "1",
                                 "--output", os.devnull], env=env), "scan --jobs 1", (0, 1))
    base = checked(run_tree(py + ["scan", tiny_image(), "--format", "json", "--no-progress", "--no-cache", "--jobs", "1",
                                  "--output", os.devnull], env=env), "scan --jobs 1 of a one-file image", (0, 1))
    results["jobs1"] = {"form": next(iter(forms)), "wall_s": round(one.seconds, 2), "cpu_s": round(one.cpu, 2),
                        "rss_mb": round(one.rss_kb / 1024), "pss_mb": round(one.pss_kb / 1024),
                        "fixed_rss_mb": round(base.rss_kb / 1024)}
    results["memory"] = entry_bytes(first, os.path.join(scratch, f"{next(iter(forms))}-0"))
    yara_best = min(yara_runs, key=lambda r: r.seconds)
    results["yara"] = {"wall_s": round(yara_best.seconds, 2), "cpu_s": round(yara_best.cpu, 2),
                       "runs_s": [round(r.seconds, 2) for r in yara_runs]}
    results["loadavg_before"], results["loadavg_after"] = load_before, os.getloadavg()
    shutil.rmtree(scratch, ignore_errors=True)
    report(results)
    print(f"results: {os.path.relpath(save('results-all.json', results))}")
    return 0


def report(res: dict) -> None:
    y = res["yara"]
    mem = res["memory"]
    print(f"image: {res['image']}; {mem['entries']} tar members; yara floor best {y['wall_s']} s wall "
          f"({y['cpu_s']} s CPU), runs {y['runs_s']}")
    head = (f"{'form':12} {'blobs':>7} {'tar -tv':>8} {'layers':>7} {'ratio':>6} {'scan cold':>9} {'/yara':>6} "
            f"{'CPU':>6} {'warm':>6} {'warm/cold':>9} {'RSS tree':>9} {'PSS tree':>9}")
    print(head)
    for name, f in res["forms"].items():
        print(f"{name:12} {f['blob_mb']:>5}MB {f['tar']['wall_s']:>7.2f}s {f['layers']['wall_s']:>6.2f}s "
              f"{f['layers']['wall_s'] / f['tar']['wall_s']:>5.2f}x {f['cold']['wall_s']:>8.2f}s "
              f"{f['cold']['wall_s'] / y['wall_s']:>5.2f}x {f['cold']['cpu_s']:>5.1f}s {f['warm']['wall_s']:>5.2f}s "
              f"{100 * f['warm']['wall_s'] / f['cold']['wall_s']:>8.1f}% {f['cold']['rss_mb']:>7}MB "
              f"{f['cold']['pss_mb']:>7}MB")
    j = res["jobs1"]
    per_entry = mem["held_bytes"] / max(mem["entries"], 1)
    budget = mem["entries"] * 1024 + min(mem["largest_file"], DETECTOR_CAP)
    grown = j["rss_mb"] - j.get("fixed_rss_mb", 0)
    print(f"scan --jobs 1 ({j['form']}): {j['wall_s']} s wall, {j['cpu_s']} s CPU, peak RSS {j['rss_mb']} MB; the same "
          f"on a one-file image (interpreter, rules, detectors): {j.get('fixed_rss_mb', '?')} MB; "
          f"growth with the image {grown} MB = {grown * 2**20 / max(mem['entries'], 1):.0f} bytes per member, "
          f"against the budget below")
    print(f"memory: {per_entry:.0f} bytes of Python heap per indexed entry ({mem['held_bytes'] / 2**20:.1f} MiB "
          f"for {mem['entries']} members); budget 1 KiB/entry + largest file scanned "
          f"({min(mem['largest_file'], DETECTOR_CAP) / 2**20:.0f} MiB) = {budget / 2**20:.0f} MiB")
    print("goals: layers <= 3x tar, cold scan <= 2x yara, warm <= 5 % of cold, peak RSS growth (--jobs 1) <= budget")
    lb, la = res["loadavg_before"][0], res["loadavg_after"][0]
    if max(lb, la) > (os.cpu_count() or 1) * 0.75:
        print(f"warning: load average {lb:.1f} before, {la:.1f} after, on {os.cpu_count()} CPUs: other work ran; "
              "wall-time ratios are noisy, the CPU columns are steadier")


if __name__ == "__main__":
    sys.exit(main())
