"""One image written in every archive format and compression reads the same; layers apply in manifest order."""

from __future__ import annotations

import pytest

from explorer.demo.imagewriter import FORMATS, Entry, ImageSpec, Layer, build_layer

F = Entry.file
D = Entry.dir


def spec(compression: str) -> ImageSpec:
    return ImageSpec(
        layers=[
            Layer([D("/bin"), F("/bin/busybox", b"\x7fELF" + bytes(range(256)) * 40, 0o755),
                   Entry.hardlink("/bin/sh", "/bin/busybox"), Entry.symlink("/bin/ls", "busybox"),
                   D("/etc"), F("/etc/passwd", b"root:x:0:0::/root:/bin/sh\n"), D("/tmp", 0o1777),
                   D("/dev"), Entry.char("/dev/null", 1, 3)],
                  created_by="ADD rootfs.tar /", compression=compression),
            Layer([D("/etc"), F("/etc/passwd", b"root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/srv:/bin/sh\n"),
                   D("/srv", uid=1000, gid=1000), F("/srv/.env", b"TOKEN=abc\n", 0o600, 1000, 1000)],
                  created_by="RUN adduser app", compression=compression),
            Layer([Entry.whiteout("/srv/.env"), Entry.opaque("/tmp"), F("/tmp/x", b"tmp"),
                   Entry.symlink("/etc/passwd", "/dev/null")],
                  created_by="RUN rm /srv/.env", compression=compression),
        ],
        extra_history=[(3, 'CMD ["/bin/sh"]')], cmd=["/bin/sh"], user="app", env=["PATH=/bin", "MODE=prod"],
    )


def summary(a) -> dict:
    """Everything the reader derives that must not depend on how the image was stored."""
    def entry(e):
        return (e.path, e.kind.value, e.mode, e.uid, e.gid, e.size, e.digest, e.linkname, e.mtime, e.member,
                e.data_offset, e.devmajor, e.devminor)

    return {
        "entries": [[entry(e) for e in r.entries] for r in a.layers],
        "stats": [(r.stats.size, r.stats.entries, r.stats.diff_id, r.stats.complete) for r in a.layers],
        "changes": [(sorted(e.path for e in r.changes.added),
                     sorted((o.path, o.layer, n.layer) for o, n in r.changes.modified),
                     sorted(e.path for e in r.changes.deleted)) for r in a.layers],
        "created_by": [r.ref.created_by for r in a.layers],
        "final": [entry(e) for e in a.final.walk("/")],
        "fates": sorted((k, v.layer, v.how) for k, v in a.fates.items()),
        "numbers": (a.total_size, a.final_size, a.wasted_bytes, a.efficiency),
        "config": (a.source.config.id, a.source.config.user, a.source.config.cmd, a.source.config.env),
        "problems": a.problems,
    }


@pytest.fixture
def reference(analysis_of):
    return summary(analysis_of(spec("none"), "docker-archive"))


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_and_compression_reads_the_same(fmt, compression, reference, analysis_of):
    a = analysis_of(spec(compression), fmt)
    assert summary(a) == reference
    assert [r.stats.compression for r in a.layers] == [compression] * 3
    for r in a.layers:
        assert r.stats.digest == r.ref.digest or (fmt == "docker-archive-legacy" and r.ref.digest is None)
        assert r.stats.diff_id == r.ref.diff_id


def test_reference_summary_is_what_the_spec_says(reference):
    total, final, wasted, _eff = reference["numbers"]
    busybox, passwd1, passwd2, env = 4 + 256 * 40, 26, 26 + 30, 10
    assert total == busybox + passwd1 + passwd2 + env + 3
    assert final == busybox + 3  # /etc/passwd ends as a symlink, .env is deleted
    assert wasted == passwd1 + passwd2 + env
    assert reference["changes"][2] == (["/tmp/x"], [("/etc/passwd", 1, 2)], ["/srv/.env"])
    assert reference["problems"] == []


def _order_spec(n: int, salt: int) -> ImageSpec:
    return ImageSpec(layers=[Layer([F("/order", f"layer {i} salt {salt}".encode())], created_by=f"RUN step {i}",
                                   compression="none") for i in range(n)])


@pytest.mark.parametrize("fmt", ["oci", "oci-archive", "docker-archive"])
def test_layers_apply_in_manifest_order_not_digest_order(fmt, make_image, open_analysis):
    """dive reads OCI layers in map order; the manifest order is the only right one."""
    salt = 0
    while True:  # find contents whose blob digests sort in reverse of the manifest order
        s = _order_spec(4, salt)
        digests = [build_layer(layer).digest for layer in s.layers]
        if digests == sorted(digests, reverse=True):
            break
        salt += 1
    path = make_image(s, fmt)
    a = open_analysis(path)
    assert [r.ref.digest for r in a.layers] == digests
    assert [r.ref.created_by for r in a.layers] == [f"RUN step {i}" for i in range(4)]
    assert a.read(a.final.get("/order")) == f"layer 3 salt {salt}".encode()
    assert [a.read(e) for e in a.history("/order")] == [f"layer {i} salt {salt}".encode() for i in range(4)]
    assert [len(r.changes.modified) for r in a.layers] == [0, 1, 1, 1]
