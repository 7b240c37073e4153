#!/usr/bin/env python3
"""`explorer layers` against the `tar -tvf` floor, in one run, on the same warm page cache.

floor    = sum over the image's layer blobs of `tar -tvf BLOB` (`tar -tzvf` for gzip blobs)
explorer = `python -m explorer layers IMAGE --format json --no-cache` (decompresses, walks, hashes every file and
           every stream, stacks the layers, computes the diff and efficiency)
Both: one warm-up run, then best of N. Goal: explorer within 3x of the floor.

    python bench/bench_layers.py [--image IMAGE] [-n 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (Measure, WORK, ensure_image, explorer_env, extract_layer_blobs, print_table,  # noqa: E402
                     ratio, run_timed, save)

GOAL = 3.0


def floor_once(blobs) -> tuple[float, float, int]:
    total, cpu, rss = 0.0, 0.0, 0
    for path, gz in blobs:
        r = run_timed(["tar", "-tzvf" if gz else "-tvf", path])
        if r.returncode != 0:
            raise SystemExit(f"tar failed on {path}: {r.stderr.strip()}")  # type: ignore[attr-defined]
        total += r.seconds
        cpu += r.cpu
        rss = max(rss, r.max_rss_kb)
    return total, cpu, rss


def explorer_once(image: str, out_path: str) -> tuple[float, float, int]:
    with open(out_path, "wb") as out:
        r = run_timed([sys.executable, "-m", "explorer", "layers", image, "--format", "json", "--no-cache"],
                      stdout=out, env=explorer_env())
    if r.returncode != 0:
        raise SystemExit(f"explorer layers exited {r.returncode}: {r.stderr.strip()[-2000:]}")  # type: ignore
    return r.seconds, r.cpu, r.max_rss_kb


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", help="docker-archive tar (default: the cached big image, built if missing)")
    ap.add_argument("-n", type=int, default=3, help="measured runs per command after one warm-up (default 3)")
    args = ap.parse_args()
    image = ensure_image(args.image)
    blobs = extract_layer_blobs(image)
    out_path = os.path.join(WORK, "layers-out.json")

    floor = Measure("floor: tar -t[z]vf over every layer blob", note=f"{len(blobs)} blobs, "
                    f"{sum(1 for _, gz in blobs if gz)} gzip")
    expl = Measure("explorer layers --format json")
    floor_once(blobs)            # warm-up: page cache for blobs and for the image
    explorer_once(image, out_path)
    for _ in range(max(1, args.n)):  # interleaved, so both see the same machine state
        floor.add(*floor_once(blobs))
        expl.add(*explorer_once(image, out_path))

    with open(out_path) as fh:
        doc = json.load(fh)
    entries = sum(layer["entries"] for layer in doc["layers"])
    mb = sum(os.path.getsize(p) for p, _ in blobs) / 1e6
    expl.note = f"{entries} entries, {doc['total_size'] / 1e6:.0f} MB of files, {len(doc['layers'])} layers"
    print(f"image: {image} ({os.path.getsize(image) / 1e6:.0f} MB archive, {mb:.0f} MB of layer blobs)")
    print_table([floor, expl])
    r = ratio(expl, floor)
    verdict = "within goal" if expl.best <= GOAL * floor.best else "OVER goal"
    print(f"ratio explorer/floor, wall: {r} (goal <= {GOAL:.0f}x: {verdict}); CPU time: {ratio(expl, floor, cpu=True)}")
    print(f"explorer peak RSS {expl.max_rss_kb / 1024:.0f} MB; throughput {mb / expl.best:.0f} MB/s of blobs, "
          f"{doc['total_size'] / 1e6 / expl.best:.0f} MB/s of file content")
    load = os.getloadavg()[0]
    if load > (os.cpu_count() or 1):
        print(f"warning: load average {load:.1f} on {os.cpu_count()} CPUs: other work ran during the benchmark, "
              f"wall times are noisy; the CPU-time ratio is the steadier number")
    path = save("results-layers.json", {"image": image, "floor": floor.doc(), "explorer": expl.doc(),
                                        "ratio": round(expl.best / floor.best, 3),
                                        "cpu_ratio": round(expl.best_cpu / floor.best_cpu, 3), "goal": GOAL,
                                        "loadavg": os.getloadavg()})
    print(f"results: {os.path.relpath(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
