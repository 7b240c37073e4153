"""Same output before and after a change that should change no behaviour (issue 15's check).

usage: python bench/same_output.py BASE_CHECKOUT [--quick | --warm]

Runs `python -m explorer scan --format json`, `layers --format json` and `tree --format json` with this
checkout and with BASE_CHECKOUT (each with its own code on PYTHONPATH, a layer cache of its own, the same
images) and compares stdout, stderr and the exit status byte for byte. The images: the demo image, dive's
test images (../shared/fixtures/dive beside the checkout, when present), every case of the hostile corpus
(tests/hostile/corpus.py) and a few images written with the image writer. Prints one line per difference
and the counts; exit 1 on any. --quick: scan only; --warm: each command a second time, from the layer cache.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DIVE = REPO.parent.parent / "shared" / "fixtures" / "dive"
if not DIVE.is_dir():
    DIVE = Path("/work/shared/fixtures/dive")


def images(work: Path) -> list[tuple[str, str]]:
    """(name, IMAGE argument) of every image compared; written with this checkout's code."""
    sys.path[:0] = [str(REPO), str(REPO / "tests" / "hostile")]
    from explorer.demo import write_demo
    from explorer.demo.imagewriter import Entry, ImageSpec, Layer, write_image

    work.mkdir(parents=True)
    found = [("demo", write_demo(str(work), integrity=True))]
    found += [(f"dive/{p.name}", str(p)) for p in sorted(DIVE.glob("*.tar"))]
    written = work / "writer"
    written.mkdir()
    layers = [Layer([Entry.file("/etc/os-release", b"ID=debian\n"), Entry.dir("/bin"),
                     Entry.file("/bin/sh", b"\x7fELF" + bytes(64), mode=0o755),
                     Entry.symlink("/bin/bash", "sh")], created_by="ADD rootfs /"),
              Layer([Entry.file("/root/.aws/credentials",
                                b"[default]\naws_access_key_id = AKIAQWERTYUIOPASDFGHJ\n"
                                b"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"),
                     Entry.file("/usr/bin/sud", b"\x7fELF", mode=0o4755)], created_by="COPY credentials /root/.aws/"),
              Layer([Entry.whiteout("/root/.aws/credentials")], created_by="RUN rm /root/.aws/credentials")]
    for fmt in ("docker-archive", "oci"):
        target = written / f"secret-{fmt}"
        found.append((f"writer/secret-{fmt}", write_image(ImageSpec(layers=layers), target, format=fmt)))
    import corpus
    for case in corpus.CASES:
        folder = work / "corpus" / case.id
        folder.mkdir(parents=True)
        (folder / "outside").mkdir()
        (folder / "outside" / "victim").write_text("victim\n")
        try:
            found.append((f"corpus/{case.id}", case.make(folder)))
        except Exception as exc:  # noqa: BLE001 - a case this checkout cannot write is said, not fatal
            print(f"skipped corpus/{case.id}: {exc!r}", file=sys.stderr)
    return found


def run(checkout: Path, cache: Path, argv: list[str]) -> tuple[int, bytes, bytes]:
    env = dict(os.environ, PYTHONPATH=str(checkout), EXPLORER_CACHE_DIR=str(cache), CI="1", COLUMNS="120")
    env.pop("EXPLORER_JOBS", None)
    done = subprocess.run([sys.executable, "-m", "explorer", *argv], cwd=checkout, env=env, capture_output=True,
                          timeout=600)
    return done.returncode, done.stdout, done.stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base", type=Path, help="the checkout to compare with (e.g. the previous main)")
    parser.add_argument("--quick", action="store_true", help="scan only (not layers and tree)")
    parser.add_argument("--warm", action="store_true", help="each command again, from the layer cache")
    args = parser.parse_args(argv)
    commands = [["scan", "--format", "json"]] if args.quick else [
        ["scan", "--format", "json"], ["layers", "--format", "json"], ["tree", "--format", "json"]]
    rounds = ("cold", "warm") if args.warm else ("cold",)
    same = differ = 0
    with tempfile.TemporaryDirectory(prefix="same-output-") as tmp:
        work = Path(tmp)
        caches = {side: work / f"cache-{side}" for side in ("new", "base")}
        for name, image in images(work / "images"):
            for command in commands:
                for round_ in rounds:
                    new = run(REPO, caches["new"], [*command, image])
                    old = run(args.base.resolve(), caches["base"], [*command, image])
                    if new == old:
                        same += 1
                        continue
                    differ += 1
                    what = [part for part, a, b in zip(("status", "stdout", "stderr"), new, old) if a != b]
                    print(f"DIFFERS {name} {' '.join(command)} ({round_}): {', '.join(what)}")
                    if "stderr" in what:
                        print(f"  new stderr: {new[2][-300:]!r}\n  base stderr: {old[2][-300:]!r}")
    print(f"{same} runs identical, {differ} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
