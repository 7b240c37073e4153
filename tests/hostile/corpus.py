"""The hostile-archive corpus: every case written as a real image (docker-archive, OCI layout or
oci-archive; gzip, zstd or plain layers) in a test's folder, with what explorer must make of it.

A case's builder gets the folder it may write in (`work`) and returns the IMAGE argument. `work/outside`
exists and holds `victim`, so that links in an image can aim at a real folder outside the output.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import bz2
import functools
import json
import lzma
import struct
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import zstandard

from hostile_images import member, oci_layout, tar_bytes, zero_bomb

REG, DIR, SYM, LNK = tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE
MAN = "application/vnd.oci.image.manifest.v1+json"
LAYER_TYPES = {"gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
               "zstd": "application/vnd.oci.image.layer.v1.tar+zstd", "none": "application/vnd.oci.image.layer.v1.tar"}
ANSI = "\x1b[2J\x1b[31m\x1b]8;;http://evil\x1b\\"
MARKUP = "[link=file:///etc/passwd]click[/link][bold]B[/]"
NAME_MARKUP = "[bold]B[link=x]y[red"
"""Markup that fits in one file name (a closing tag holds a `/`)."""


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class L:
    """One layer blob as stored, and the diff_id the config states for it."""

    blob: bytes
    diff_id: str
    created_by: str = ""

    @classmethod
    def of(cls, members: list, compression: str = "none", created_by: str = "", end: bool = True) -> "L":
        tar = tar_bytes(members, end=end)
        if compression == "gzip":
            blob = gzip.compress(tar, mtime=0)
        elif compression == "zstd":
            blob = zstandard.ZstdCompressor().compress(tar)
        else:
            blob = tar
        return cls(blob, sha(tar), created_by)


OK = L.of([member("etc/ok", data=b"ok")], "gzip", "RUN first")
LAST = L.of([member("srv/last", data=b"last")], "gzip", "RUN last")


def write(work: Path, layers: list[L], fmt: str = "docker-archive", *, wrong_digest: int | None = None,
          missing: int | None = None) -> str:
    """Write the image. `wrong_digest`: that layer is stored under another digest's name (a mismatch);
    `missing`: that layer's blob is left out of the archive."""
    config = {"architecture": "amd64", "os": "linux", "config": {"Env": ["PATH=/bin"], "User": "app"},
              "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
              "history": [{"created_by": layer.created_by or f"layer {i}"} for i, layer in enumerate(layers)]}
    config_bytes = json.dumps(config).encode()
    blobs = {sha(config_bytes): config_bytes}
    digests = []
    for i, layer in enumerate(layers):
        digest = sha(layer.blob if i != wrong_digest else layer.blob + b"x")
        digests.append(digest)
        if i != missing:
            blobs[digest] = layer.blob
    if fmt == "docker-archive":
        manifest = [{"Config": "blobs/sha256/" + sha(config_bytes)[7:], "RepoTags": ["hostile:latest"],
                     "Layers": ["blobs/sha256/" + d[7:] for d in digests]}]
        files = {"blobs/sha256/" + d[7:]: b for d, b in blobs.items()}
        files["manifest.json"] = json.dumps(manifest).encode()
        return _tar(work / "image.tar", files)
    manifest = json.dumps({"schemaVersion": 2, "mediaType": MAN,
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": sha(config_bytes), "size": len(config_bytes)},
                           "layers": [{"mediaType": LAYER_TYPES[_kind(layer.blob)], "digest": d, "size": len(layer.blob)}
                                      for layer, d in zip(layers, digests)]}).encode()
    blobs[sha(manifest)] = manifest
    index = {"schemaVersion": 2, "manifests": [{"mediaType": MAN, "digest": sha(manifest), "size": len(manifest),
                                                "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}
    if fmt == "oci":
        return oci_layout(work / "layout", index, blobs)
    files = {"blobs/sha256/" + d[7:]: b for d, b in blobs.items()}
    files["index.json"] = json.dumps(index).encode()
    files["oci-layout"] = b'{"imageLayoutVersion": "1.0.0"}'
    return "oci-archive:" + _tar(work / "image.oci.tar", files)


def _kind(blob: bytes) -> str:
    return "gzip" if blob[:2] == b"\x1f\x8b" else "zstd" if blob[:4] == b"\x28\xb5\x2f\xfd" else "none"


def _tar(path: Path, files: dict[str, bytes]) -> str:
    path.write_bytes(tar_bytes([member(name, data=data) for name, data in sorted(files.items())]))
    return str(path)


# -- layers ----------------------------------------------------------------------------------------

MINER = b"{\"pools\": [{\"url\": \"stratum+tcp://pool.minexmr.com:4444\"}], \"donate-level\": 0}\n"
"""The file of the compressed-layer variants: a miner config (what Docker would load unseen)."""


def gzip_member(data: bytes, flags: int = 0, *, extra: bytes = b"", name: bytes = b"", comment: bytes = b"",
                header_crc: int | None = None) -> bytes:
    """One gzip member with a header written field by field (RFC 1952), so that any flag can be set."""
    head = b"\x1f\x8b\x08" + bytes([flags]) + b"\0\0\0\0\0\xff"
    if flags & 4:
        head += struct.pack("<H", len(extra)) + extra
    if flags & 8:
        head += name + b"\0"
    if flags & 16:
        head += comment + b"\0"
    if flags & 2:
        head += struct.pack("<H", zlib.crc32(head) & 0xFFFF if header_crc is None else header_crc)
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    return head + packer.compress(data) + packer.flush() + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def _skippable() -> bytes:
    return struct.pack("<II", 0x184D2A5A, 5) + b"skip!"


def _xz(data: bytes) -> bytes:
    return lzma.compress(data, lzma.FORMAT_XZ)


STREAM_VARIANTS: dict[str, tuple[Callable[[bytes], bytes], bool]] = {
    # name: (tar -> stored blob, whether Docker loads it: it tells the compression by the first
    # bytes, then reads with Go's compress/gzip and compress/bzip2, the xz command, klauspost's zstd,
    # to the end of the stream; tests/integration/test_compressed_layers.py checks each verdict but
    # zstd's: the engine there, Docker 20.10, reads no zstd; these follow moby >= 23, whose zstd
    # check also takes a skippable frame first)
    "gzip-fextra-65k": (lambda tar: gzip_member(tar, 4, extra=b"E" * 65535), True),
    "gzip-fname-511": (lambda tar: gzip_member(tar, 8, name=b"n" * 511), True),
    "gzip-fcomment-and-fhcrc": (lambda tar: gzip_member(tar, 16 | 2, comment=b"made by hand"), True),
    "gzip-reserved-flags": (lambda tar: gzip_member(tar, 0xE0), True),
    "gzip-two-members": (lambda tar: gzip_member(tar[:700]) + gzip_member(tar[700:]), True),
    "gzip-fname-huge": (lambda tar: gzip_member(tar, 8, name=b"n" * 100_000), False),
    "gzip-trailing-junk": (lambda tar: gzip_member(tar) + b"junk after the member", False),
    "gzip-trailing-zeros": (lambda tar: gzip_member(tar) + bytes(4096), False),
    "gzip-bad-header-crc": (lambda tar: gzip_member(tar, 2, header_crc=0x1234), False),
    "gzip-bad-trailer-crc": (lambda tar: gzip_member(tar)[:-8] + bytes(8), False),
    "bzip2": (bz2.compress, True),
    "bzip2-two-streams": (lambda tar: bz2.compress(tar[:700]) + bz2.compress(tar[700:]), True),
    "bzip2-trailing-junk": (lambda tar: bz2.compress(tar) + b"junk", False),
    "xz": (_xz, True),
    "xz-two-streams-padded": (lambda tar: _xz(tar[:700]) + bytes(8) + _xz(tar[700:]) + bytes(4), True),
    "xz-trailing-junk": (lambda tar: _xz(tar) + b"junk", False),
    "zstd": (lambda tar: zstandard.ZstdCompressor().compress(tar), True),
    "zstd-two-frames": (lambda tar: zstandard.ZstdCompressor().compress(tar[:700]) +
                        zstandard.ZstdCompressor().compress(tar[700:]), True),
    "zstd-two-frames-and-skippable": (lambda tar: zstandard.ZstdCompressor().compress(tar[:700]) + _skippable() +
                                      zstandard.ZstdCompressor().compress(tar[700:]) + _skippable(), True),
    "zstd-skippable-first": (lambda tar: _skippable() + zstandard.ZstdCompressor().compress(tar), True),
    "zstd-trailing-junk": (lambda tar: zstandard.ZstdCompressor().compress(tar) + b"junk", False),
}


def stream_variant(name: str) -> L:
    """The miner layer stored as STREAM_VARIANTS[name] makes it (each variant's tar differs: Docker
    reuses a layer it already holds by diff_id without reading the blob)."""
    tar = tar_bytes([member("etc", DIR, mode=0o755), member("etc/xmrig.json", data=MINER),
                     member("etc/variant", data=name.encode()),
                     member("opt/run.sh", data=b"#!/bin/sh\nexec /opt/xmrig -c /etc/xmrig.json\n", mode=0o755)])
    return L(STREAM_VARIANTS[name][0](tar), sha(tar), f"ADD layer.{name} /")

def many_empty_files(n: int) -> L:
    """A gzip layer of n empty regular files (`d/0000000` …), from raw 512-byte ustar headers."""
    info = tarfile.TarInfo("d/0000000")
    info.mode, info.mtime = 0o644, 1_700_000_000
    template = bytearray(info.tobuf(tarfile.USTAR_FORMAT))
    template[148:156] = b" " * 8
    base = sum(template) - 7 * ord("0")
    plain = hashlib.sha256()
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    out, buf = [], bytearray()
    for i in range(n + 1):
        if i == n or len(buf) >= 1 << 22:
            if i == n:
                buf += bytes(1024)
            plain.update(buf)
            out.append(packer.compress(bytes(buf)))
            buf.clear()
        if i < n:
            name = b"%07d" % i
            header = bytearray(template)
            header[2:9] = name
            header[148:156] = b"%06o\0 " % (base + sum(name))
            buf += header
    out.append(packer.flush())
    return L(b"".join(out), "sha256:" + plain.hexdigest(), "RUN touch a million files")


def _traversal(work):
    return write(work, [OK, L.of([member("../../etc/evil-climb", data=b"climb"), member("/abs/evil", data=b"abs"),
                                  member("./../dotdot/evil", data=b"dotdot"), member("a/../../b/evil", data=b"mid")],
                                 created_by="ADD evil.tar /"), LAST])


def _symlink_same_layer(work):
    outside = str(work / "outside")
    return write(work, [OK, L.of([member("link", SYM, linkname=outside), member("link/pwned", data=b"pwned"),
                                  member("up", SYM, linkname="../../../../../../.."),
                                  member("up" + outside + "/victim", data=b"pwned"),
                                  member("etclink", SYM, linkname="/etc"), member("etclink/cron.d/evil", data=b"x")],
                                 "zstd"), LAST], "oci")


def _symlink_planted_earlier(work):
    outside = str(work / "outside")
    return write(work, [OK, L.of([member("opt", DIR, mode=0o755), member("opt/plant", SYM, linkname=outside),
                                  member("opt/rel", SYM, linkname="../../../../../../../../" + outside.lstrip("/"))],
                                 created_by="RUN ln -s"),
                        L.of([member("opt/plant/victim", data=b"pwned"), member("opt/rel/new", data=b"pwned")],
                             "gzip", "COPY victim /opt/plant/"), LAST], "oci-archive")


def _hardlinks(work):
    return write(work, [OK, L.of([member("hl-climb", LNK, linkname="../../../etc/passwd"),
                                  member("hl-abs", LNK, linkname="/etc/ok"), member("self", LNK, linkname="self"),
                                  member("loop-a", LNK, linkname="loop-b"), member("loop-b", LNK, linkname="loop-a"),
                                  member("hl-missing", LNK, linkname="nothing/here"),
                                  member("sl-loop", SYM, linkname="sl-loop"),
                                  member("sl-a", SYM, linkname="sl-b"), member("sl-b", SYM, linkname="sl-a")]), LAST])


def _devices(work):
    return write(work, [OK, L.of([member("dev/kmem", tarfile.CHRTYPE, mode=0o666), member("dev/sda", tarfile.BLKTYPE),
                                  member("tmp/fifo", tarfile.FIFOTYPE), member("dev/null", tarfile.CHRTYPE)]), LAST])


def _gzip_bomb(work):
    blob, diff_id = zero_bomb(1 << 30, "gzip")  # 1 GiB of zeros from ~1 MB: ratio ~1000
    return write(work, [OK, L(blob, diff_id, "ADD bomb.tar.gz /"), LAST])


def _zstd_bomb(work):
    blob, diff_id = zero_bomb(1 << 30, "zstd")  # ratio ~30000
    return write(work, [OK, L(blob, diff_id, "ADD bomb.tar.zst /"), LAST], "oci")


def _truncated(compression: str, fmt: str):
    def make(work):
        body = L.of([member(f"f{i}", data=hashlib.sha512(b"%d" % i).digest() * 40) for i in range(40)], compression)
        cut = L(body.blob[: len(body.blob) // 2], body.diff_id, "RUN cut")
        return write(work, [OK, cut, LAST], fmt)
    return make


def _corrupt_header(work):
    bad = bytearray(tar_bytes([member("b", data=b"B")], end=False))
    bad[148:150] = b"99"
    hidden = tar_bytes([member("hidden/xmrig", data=b"stratum+tcp://pool.minexmr.com:4444")], end=False)
    first = tar_bytes([member("a", data=b"A")], end=False)
    tar = first + bytes(bad) + hidden + bytes(1024)
    false_end = first + bytes(512) + hidden + bytes(1024)
    return write(work, [OK, L(gzip.compress(tar, mtime=0), sha(tar)), L(false_end, sha(false_end)), LAST])


def _garbage_header(work):
    tar = tar_bytes([member("a", data=b"A")], end=False) + b"\xff" * 512 + bytes(1024)
    return write(work, [OK, L(tar, sha(tar)), LAST], "oci")


def _missing_blob(work):
    return write(work, [OK, L.of([member("x", data=b"x")]), LAST], "oci", missing=1)


def _digest_mismatch(fmt):
    return lambda work: write(work, [OK, L.of([member("x", data=b"x")], "gzip"), LAST], fmt, wrong_digest=1)


def _duplicates(work):
    return write(work, [OK, L.of([member("etc/x", data=b"first"), member("etc/x", data=b"second"),
                                  member("etc/x", DIR), member("etc/x/inner", data=b"inner"),
                                  member("etc/y", DIR), member("etc/y", data=b"now a file"),
                                  member("etc/z", SYM, linkname="x"), member("etc/z", data=b"z")]), LAST])


def _whiteouts(work):
    return write(work, [OK, L.of([member(".wh."), member("./.wh.."), member("etc/.wh..."), member(".wh..."),
                                  member("../.wh.etc"), member("etc/.wh.ok/../x", data=b"x"),
                                  member("srv/.wh..wh..opq"), member("srv/kept", data=b"k")]), LAST])


def _names(work):
    long = "d/" + "/".join(["n" * 250] * 16)  # ~4 KB
    nul, _ = member("placeholder", data=b"nul")
    nul.pax_headers = {"path": "nul\x00name"}  # only a pax record can carry a NUL byte
    members = [member("bad\udcff\udcfename", data=b"latin"), member("\udce9t\udce9/x", data=b"x"),
               member(long, data=b"long"), member("f" * 4000, data=b"flat"), (nul, b"nul")]
    return write(work, [OK, L.of(members, "gzip", "RUN \udcff weird"), LAST], "oci-archive")


def _deep(work):
    """5000 folders deep (left out: every tree walk would recurse that deep) and 250 deep (kept)."""
    too_deep, _ = member("placeholder", data=b"deep")
    too_deep.pax_headers = {"path": "/".join(["d"] * 5000) + "/leaf"}
    return write(work, [OK, L.of([(too_deep, b"deep"), member("/".join(["k"] * 250) + "/leaf", data=b"kept")]), LAST])


def _ansi_markup(work):
    names = [f"esc{ANSI}red", NAME_MARKUP, MARKUP, "[/]", "new\nline", "csi\x9b31m", "rtl\u202etxt.exe", "bell\x07"]
    content = f"{ANSI}{MARKUP} password={MARKUP}\n".encode()
    layer = L.of([member(name, data=content) for name in names] +
                 [member(f"d{MARKUP}", SYM, linkname=f"{ANSI}{MARKUP}")], "gzip", f"RUN echo {ANSI}{MARKUP}")
    return write(work, [OK, layer, LAST])


def _bad_json(which: str):
    def make(work):
        path = Path(write(work, [OK, LAST]))
        data = io.BytesIO(path.read_bytes())
        files = {}
        with tarfile.open(fileobj=data) as tar:
            for info in tar:
                files[info.name] = tar.extractfile(info).read()
        if which == "manifest":
            files["manifest.json"] = b'[{"Config": '
        else:
            config = next(n for n, b in files.items() if n != "manifest.json" and b.startswith(b"{"))
            files[config] = b'{"rootfs": {"diff_ids": [}'
        return _tar(path, files)
    return make


# -- amplification: a few kilobytes that cost a naive reader gigabytes ----------------------------

def same_blob_listed(work: Path, times: int = 1000) -> str:
    """One small layer blob (a few KB) that the manifest lists `times` times (Docker applies it
    `times` times over: the same files)."""
    layer = L.of([member(f"etc/f{i}", data=b"%d" % i) for i in range(20)], "gzip", "RUN again")
    return write(work, [OK] + [layer] * times + [LAST])


def same_blob_listed_250(work: Path) -> str:
    return same_blob_listed(work, 250)


def many_tiny_layers(work: Path, count: int = 20_000) -> str:
    """`count` distinct layers of one small file each."""
    return write(work, [OK, *_tiny_layers(count), LAST])


@functools.lru_cache(maxsize=2)
def _tiny_layers(count: int) -> tuple[L, ...]:
    return tuple(L.of([member(f"l/{i}", data=b"x")], "gzip", f"RUN {i}") for i in range(count))


def index_dag(work: Path, fanout: int = 16, depth: int = 4) -> str:
    """An OCI layout whose index nests `depth` levels of indexes, each listing the next level's one
    index `fanout` times (a DAG of a few KB that is fanout**depth paths deep), over one image."""
    path = Path(write(work, [OK, LAST], "oci"))
    index = json.loads((path / "index.json").read_text())
    child = index["manifests"][0]
    for _ in range(depth):
        doc = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                          "manifests": [child] * fanout}).encode()
        (path / "blobs" / "sha256" / sha(doc)[7:]).write_bytes(doc)
        child = {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": sha(doc), "size": len(doc)}
    index["manifests"] = [child]
    (path / "index.json").write_text(json.dumps(index))
    return str(path)


def long_names(work: Path, count: int = 4000, length: int = 60_000, layers: int = 1) -> str:
    """`layers` layers of `count` files whose names are `length` characters (pax path records), gzip:
    a few hundred KB each."""
    return write(work, [OK, *(_long_names_layer(count, length, i) for i in range(layers)), LAST])


@functools.lru_cache(maxsize=8)
def _long_names_layer(count: int, length: int, layer: int = 0) -> L:
    members = []
    for i in range(count):
        info, data = member("placeholder", data=b"n")
        info.pax_headers = {"path": f"{layer}-{i:05d}" + "n" * (length - 7)}
        members.append((info, data))
    return L.of(members, "gzip", "RUN long names")


def _stream(name: str, fmt: str = "docker-archive"):
    return lambda work: write(work, [OK, stream_variant(name), LAST], fmt)


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[Path], str]
    status: int
    """Exit status of layers, scan and extract."""
    rules: frozenset[str] = frozenset()
    """The problem rules (explorer.core.problems.ProblemKind) `scan` must report: exactly these."""
    layers: int | None = 3
    """Layers shown (None: the image cannot be opened at all)."""
    error: str = ""
    """For images that cannot be opened: a fragment of the one line on stderr."""
    stderr: tuple[str, ...] = field(default_factory=tuple)
    """Fragments the warnings on stderr must hold."""


UNSAFE, THROUGH = "suspicious.unsafe-tar-path", "suspicious.tar-path-through-link"
CORRUPT = "integrity.corrupt-layer"
"""Also what Docker refuses to load although the tar reads (a path named twice, a hard link to nothing)."""
CASES = [
    Case("path-traversal", _traversal, 0, frozenset({UNSAFE}), stderr=("'../../etc/evil-climb'", "'/abs/evil'")),
    Case("symlink-escape-same-layer", _symlink_same_layer, 0, frozenset({THROUGH})),
    Case("symlink-planted-earlier", _symlink_planted_earlier, 0, frozenset({THROUGH})),
    Case("hardlink-escapes-and-loops", _hardlinks, 2, frozenset({UNSAFE, CORRUPT}),
         stderr=("hard link '/hl-missing' links to '/nothing/here', nothing, which Docker refuses",)),
    Case("devices-and-fifos", _devices, 0),
    Case("gzip-bomb", _gzip_bomb, 2, frozenset({"suspicious.decompression-bomb"}), stderr=("--max-ratio",)),
    Case("zstd-bomb-oci", _zstd_bomb, 2, frozenset({"suspicious.decompression-bomb"}), stderr=("--max-ratio",)),
    Case("truncated-gzip", _truncated("gzip", "docker-archive"), 2, frozenset({"integrity.truncated-layer"})),
    Case("truncated-zstd-oci-archive", _truncated("zstd", "oci-archive"), 2, frozenset({"integrity.truncated-layer"})),
    Case("corrupt-tar-headers", _corrupt_header, 2, frozenset({"integrity.corrupt-layer"}),
         stderr=("tar header at byte 1024: checksum is not a number", "false end of archive")),
    Case("garbage-tar-header-oci", _garbage_header, 2, frozenset({"integrity.corrupt-layer"})),
    Case("manifest-not-json", _bad_json("manifest"), 2, layers=None, error="manifest.json"),
    Case("config-not-json", _bad_json("config"), 2, layers=None, error="image config is not valid JSON"),
    Case("index-not-json", lambda work: (oci_layout(work / "layout", b'{"manifests": [', {})), 2, layers=None,
         error="not valid JSON"),
    Case("manifest-names-missing-blob-oci", _missing_blob, 2, frozenset({"integrity.missing-layer"})),
    Case("digest-mismatch-docker", _digest_mismatch("docker-archive"), 2, frozenset({"integrity.digest-mismatch"})),
    Case("digest-mismatch-oci", _digest_mismatch("oci"), 2, frozenset({"integrity.digest-mismatch"})),
    Case("duplicate-entries", _duplicates, 2, frozenset({CORRUPT}),
         stderr=("member 'etc/x' names a path an earlier member of the layer names",)),
    Case("whiteouts-of-root-and-dotdot", _whiteouts, 0, frozenset({UNSAFE}), stderr=("'.wh.'", "whiteout of '..'")),
    Case("non-utf8-nul-and-4k-names", _names, 2, frozenset({CORRUPT}), stderr=("a NUL in a pax path",)),
    Case("ansi-and-markup", _ansi_markup, 0),
    Case("nested-5000-deep", _deep, 0, frozenset({"suspicious.tar-path-too-deep"}), stderr=("lies 5001 folders deep",)),
    Case("same-blob-listed-250-times", same_blob_listed_250, 0),
    Case("same-blob-listed-1000-times", same_blob_listed, 2, layers=None, error="manifest lists 1002 layers"),
    Case("20000-tiny-layers", many_tiny_layers, 2, layers=None, error="holds more than 10000 members"),
    Case("index-dag-16-wide-4-deep", index_dag, 0),
    Case("4000-names-of-60000-characters", long_names, 2, frozenset({"integrity.layer-names-too-long"}),
         stderr=("member names and link targets pass",)),
    *(Case(f"stream-{name}", _stream(name, fmt), 0 if loads else 2,
           frozenset() if loads else frozenset({"integrity.truncated-layer"}))
      for name, fmt in (("gzip-fextra-65k", "docker-archive"), ("gzip-fname-huge", "oci"),
                        ("gzip-trailing-zeros", "docker-archive"), ("gzip-trailing-junk", "oci-archive"),
                        ("bzip2-trailing-junk", "docker-archive"), ("xz-two-streams-padded", "oci"),
                        ("zstd-skippable-first", "oci"))
      for loads in (STREAM_VARIANTS[name][1],)),
]
