"""`containerd-root:`: reference normalisation, a container's OCI spec read as `docker inspect` fields, and a
damaged or foreign metadata database gives one clear line.

Real containerd roots (a private containerd fed by `ctr images import`) are read in
tests/integration/test_docker_root.py."""

from __future__ import annotations

import json
import struct

import pytest

from explorer.core.errors import SourceError
from explorer.sources import open_image
from explorer.sources.containerd_root import META, _any_value, container_attrs, normalised


@pytest.mark.parametrize("ref, stored", [
    ("busybox", "docker.io/library/busybox:latest"),
    ("explorer-it/build:1", "docker.io/explorer-it/build:1"),
    ("registry.local:5000/app", "registry.local:5000/app:latest"),
    ("localhost/app:2", "localhost/app:2"),
    ("app@sha256:" + "a" * 64, "docker.io/library/app@sha256:" + "a" * 64),
])
def test_normalised(ref, stored):
    assert normalised(ref) == stored


def bolt_meta(page_size: int, root: int) -> bytes:
    """A page holding a bbolt meta record (header, magic, version 2, page size, flags, root bucket…)."""
    head = struct.pack("<QHHI", 0, 0x04, 0, 0)
    meta = struct.pack("<IIIIQQQQQQ", 0xED0CDAED, 2, page_size, 0, root, 0, 2, 4, 1, 0)
    return (head + meta).ljust(page_size, b"\0")


@pytest.mark.parametrize("content, message", [
    (b"", "not a bbolt database"),
    (b"SQLite format 3\0" + b"\0" * 5000, "not a bbolt database"),
    (bolt_meta(4096, 7) + bolt_meta(4096, 7), "page 7 lies outside the file"),
    (bolt_meta(4096, 1) + bolt_meta(4096, 1), "page 1 is a meta page"),
])
def test_a_bad_metadata_database_is_one_clear_error(tmp_path, content, message):
    (tmp_path / META).parent.mkdir(parents=True)
    (tmp_path / META).write_bytes(content)
    with pytest.raises(SourceError, match=message):
        open_image(f"containerd-root:{tmp_path}:app")


def test_not_a_containerd_root(tmp_path):
    with pytest.raises(SourceError, match="not a containerd root"):
        open_image(f"containerd-root:{tmp_path}")


def protobuf_any(type_url: str, value: bytes) -> bytes:
    """A protobuf `Any` as containerd stores a container's spec: field 1 the type URL, field 2 the value."""
    def field(number: int, data: bytes) -> bytes:
        length, head = len(data), b""
        while length >= 0x80:
            head += bytes([length & 0x7F | 0x80])
            length >>= 7
        return bytes([number << 3 | 2]) + head + bytes([length]) + data
    return field(1, type_url.encode()) + field(2, value)


def test_a_spec_as_docker_inspect_fields():
    spec = {"process": {"args": ["sh", "-c", "sleep 1"], "env": ["PATH=/bin", "TOKEN=x"], "cwd": "/srv",
                        "user": {"uid": 1000, "gid": 10},
                        "capabilities": {"bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE"]}},
            "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                       {"destination": "/var/run/docker.sock", "type": "bind", "source": "/run/docker.sock",
                        "options": ["rbind", "ro"]}],
            "linux": {"namespaces": [{"type": "mount"}, {"type": "ipc"}, {"type": "uts"}]}}
    raw = json.dumps(spec).encode() * 3  # over 127 bytes: a two-byte length
    stored = protobuf_any("types.containerd.io/opencontainers/runtime-spec/1/Spec", raw)
    assert _any_value(stored) == raw
    attrs = container_attrs("k8s.io/web", json.dumps(spec).encode())
    assert attrs["Name"] == "/web" and attrs["Config"] == {
        "Cmd": ["sh", "-c", "sleep 1"], "Env": ["PATH=/bin", "TOKEN=x"], "WorkingDir": "/srv", "User": "1000:10"}
    assert attrs["Mounts"] == [{"Type": "bind", "Source": "/run/docker.sock", "Destination": "/var/run/docker.sock",
                                "RW": False, "Name": ""}]
    assert attrs["HostConfig"] == {"PidMode": "host", "NetworkMode": "host",
                                   "CapAdd": ["CAP_SYS_ADMIN", "CAP_SYS_PTRACE"]}
    assert container_attrs("default/x", b"not json")["Config"]["Cmd"] == []
    assert _any_value(b"\x0a\xff") == b""  # a truncated length: nothing, not an exception
