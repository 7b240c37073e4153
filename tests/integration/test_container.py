"""`container:NAME`: a container changed at runtime by `docker exec`, read through the real daemon.

The runtime layer must list exactly what `docker diff` lists, hold the bytes `docker export` gives for
every changed file, and stack onto the image into the filesystem `docker export` shows (less Docker's
init layer: /.dockerenv, /etc/hosts… which `docker diff` does not count either). The detectors flag
what was planted at runtime, with `created_by` naming the runtime layer, and the container's own
HostConfig (Docker socket, host PID namespace, added capability). Running, paused and stopped alike.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import tarfile

import pytest

from explorer.detectors.base import ScanOptions
from explorer.detectors.registry import build_detectors
from explorer.scan.engine import scan
from explorer.core.model import EntryKind
from explorer.sources import open_image
from explorer.sources.container import normalise_changes, runtime_created_by
from test_scan_scenarios import MINER_CONFIG

pytestmark = pytest.mark.docker

NAME = "explorer-it-victim"
INIT_LAYER = {"/.dockerenv", "/dev", "/dev/console", "/dev/pts", "/dev/shm", "/etc/hostname", "/etc/hosts",
              "/etc/mtab", "/etc/resolv.conf", "/proc", "/sys", "/var", "/var/run", "/var/run/docker.sock"}
"""What `docker export` shows that no image layer and no `docker diff` row holds: Docker's init layer
and the mount point of the bind mount."""
TAMPER = " && ".join([
    "mkdir -p /tmp/.cache/kw",
    "echo " + base64.b64encode(MINER_CONFIG).decode() + " | base64 -d > /tmp/.cache/kw/config.json",
    "echo 'toor:x:0:0::/root:/bin/sh' >> /etc/passwd",
    "rm /etc/group",
    "rm -rf /srv/data",
    "mkdir /srv/data",
    "echo fresh > /srv/data/new.txt",
    "ln -s /tmp/.cache/kw/config.json /srv/link",
    "chmod 4755 /srv/data/new.txt",
])


@pytest.fixture(scope="module")
def victim(docker_client, build_image, tmp_path_factory):
    ref = build_image("FROM explorer-it/busybox:base\n"
                      "RUN mkdir -p /srv/data/sub && echo old > /srv/data/old.txt && echo x > /srv/data/sub/x\n")
    sock = tmp_path_factory.mktemp("sock") / "docker.sock"
    sock.write_text("")
    try:
        docker_client.containers.get(NAME).remove(force=True)
    except Exception:  # noqa: BLE001 - not there: fine
        pass
    container = docker_client.containers.run(
        ref, ["sh", "-c", "sleep 100000"], detach=True, network_mode="none", name=NAME, pid_mode="host",
        cap_add=["SYS_PTRACE"], volumes={str(sock): {"bind": "/var/run/docker.sock", "mode": "ro"}},
        environment={"GITHUB_TOKEN": "ghp_" + "Q" * 36})
    done = container.exec_run(["sh", "-c", TAMPER])
    assert done.exit_code == 0, done.output
    yield container
    container.remove(force=True)


def export_index(container) -> dict[str, tuple]:
    """path → (kind, mode, uid, gid, sha256 or link target) of `docker export`, streamed."""
    from explorer.sources.container import ChunkReader
    out = {}
    with tarfile.open(fileobj=ChunkReader(container.export(chunk_size=1 << 20)), mode="r|") as tar:
        for m in tar:
            path = "/" + m.name.strip("/")
            if path == "/":
                continue
            what = hashlib.sha256(tar.extractfile(m).read()).hexdigest() if m.isreg() else m.linkname
            kind = "file" if m.isreg() else "dir" if m.isdir() else "symlink" if m.issym() else "other"
            out[path] = (kind, m.mode & 0o7777, m.uid, m.gid, what)
    return out


def runtime_rows(analysis):
    layer = analysis.layers[-1]
    rows = set()
    for e in layer.entries:
        if e.kind == EntryKind.WHITEOUT:
            rows.add((e.path, "D"))
        elif e.kind == EntryKind.OPAQUE:
            rows.add((e.path, "opaque"))
        else:
            rows.add((e.path, "AC"))
    return rows


def diff_rows(container):
    return {(p, "D" if k == 2 else "AC") for p, k in normalise_changes(container.diff())}


def open_container(name: str, how: str = "paths"):
    """`container:NAME` read with one archive request per path (`paths`) or from one export (`export`)."""
    from explorer.sources import container as module
    saved = module.EXPORT_MIN_PATHS
    module.EXPORT_MIN_PATHS = 10 ** 9 if how == "paths" else -1
    try:
        return open_image(f"container:{name}")
    finally:
        module.EXPORT_MIN_PATHS = saved


def scan_container(name: str, how: str = "paths"):
    source = open_container(name, how)
    return source, scan(source, build_detectors(ScanOptions()))


def test_runtime_layer_is_docker_diff(victim):
    source, result = scan_container(NAME)
    with source:
        a = result.analysis
        assert len(a.layers) == len(source.config.diff_ids) == 3
        top = a.layers[-1]
        assert top.ref.created_by == runtime_created_by(NAME) == f"runtime changes (container {NAME})"
        assert top.stats.diff_id == top.ref.diff_id  # the synthesized tar hashes to what the source says
        rows = runtime_rows(a)
        expected = diff_rows(victim)
        # docker diff (vfs: a naive diff) names the removed children of a recreated folder one by one
        assert {r for r in rows if r[1] != "opaque"} == expected
        assert ("/etc/group", "D") in rows and ("/srv/data/old.txt", "D") in rows
        assert ("/srv/data/sub", "D") in rows and ("/srv/data/sub/x", "D") not in expected
        assert {"/tmp/.cache/kw/config.json", "/etc/passwd", "/srv/data/new.txt", "/srv/link"} <= {
            p for p, k in rows if k == "AC"}
        # every changed file holds the bytes, mode and owner `docker export` gives
        exported = export_index(victim)
        for e in top.entries:
            if e.kind == EntryKind.FILE:
                assert hashlib.sha256(a.read(e)).hexdigest() == e.digest == exported[e.path][4], e.path
                assert (e.mode, e.uid, e.gid) == exported[e.path][1:4], e.path
        assert exported["/srv/data/new.txt"][1] == 0o4755
        # the stacked image is the container's filesystem as `docker export` shows it
        final = {e.path: e for e in a.final.entries.values()}
        final.pop("/", None)
        assert set(exported) - set(final) <= INIT_LAYER
        assert set(final) - set(exported) == set()
        for path, e in final.items():
            kind, mode, uid, gid, what = exported[path]
            assert (e.kind.value, e.mode, e.uid, e.gid) == (kind, mode, uid, gid), path
            assert (e.digest if e.kind == EntryKind.FILE else e.linkname or "") == what, path
        assert "/etc/group" not in final and "/srv/data/old.txt" not in final and "/srv/data/sub" not in final


def test_detectors_flag_the_runtime_changes(victim):
    source, result = scan_container(NAME)
    with source:
        line = runtime_created_by(NAME)
        top = len(source.layers) - 1
        by_rule = {}
        for f in result.findings:
            by_rule.setdefault(f.rule_id, []).append(f)
        miner = [f for f in result.findings if f.path == "/tmp/.cache/kw/config.json"]
        assert {"miner.xmrig-config", "miner.wallet-with-pool"} <= {f.rule_id for f in miner}
        assert all(f.layer == top and f.created_by == line and f.in_final_image for f in miner)
        uid0 = by_rule["backdoor.accounts.second-uid0"]
        assert [(f.path, f.layer, f.created_by) for f in uid0] == [("/etc/passwd", top, line)]
        assert "toor" in uid0[0].evidence
        # the container's own config, not its image's
        for rule, text in (("misconfig.container.docker-socket-mount", "/var/run/docker.sock"),
                           ("misconfig.container.host-namespace", "--pid=host"),
                           ("misconfig.container.added-capability", "SYS_PTRACE")):
            assert [f.severity for f in by_rule[rule]] == ["high"] and text in by_rule[rule][0].evidence, rule
        assert "misconfig.container.privileged" not in by_rule
        token = [f for f in result.findings if f.source == "config" and f.category == "secret"]
        assert token and all("Q" * 12 not in f.evidence for f in token)
        # the config view's JSON tab: the container as inspected, its env token masked
        from explorer.reports.imageconfig import redacted_json
        inspected = json.loads(source.documents["container"])
        assert [m["Destination"] for m in inspected["Mounts"]] == ["/var/run/docker.sock"]
        shown = "\n".join(redacted_json(source.documents["container"]))
        assert "GITHUB_TOKEN" in shown and "Q" * 12 not in shown and '"PidMode": "host"' in shown


def test_paused_and_stopped_give_the_same_layer(victim):
    source, running = scan_container(NAME)
    source.close()

    def fingerprint(result):
        return sorted((e.path, e.kind.value, e.digest, e.mode) for e in result.analysis.layers[-1].entries)

    victim.pause()
    try:
        source, paused = scan_container(NAME)
        source.close()
    finally:
        victim.unpause()
    victim.stop(timeout=1)
    try:
        source, stopped = scan_container(victim.id[:12])
        source.close()
    finally:
        victim.start()
    assert fingerprint(running) == fingerprint(paused) == fingerprint(stopped)
    assert len(fingerprint(running)) > 8


def layer_rows(analysis):
    return sorted((e.path, e.kind, e.digest, e.mode, e.uid, e.gid, e.linkname, e.size)
                  for e in analysis.layers[-1].entries)


def test_export_gives_the_same_layer(victim):
    """From one `docker export` stream (a large change set) the runtime layer is the same, member for member."""
    source, per_path = scan_container(NAME, "paths")
    source.close()
    source, exported = scan_container(NAME, "export")
    with source:
        assert layer_rows(per_path.analysis) == layer_rows(exported.analysis)
        assert [f.rule_id for f in per_path.findings] == [f.rule_id for f in exported.findings]


def test_the_default_fetch_is_per_path_for_small_change_sets():
    from explorer.sources.container import use_export
    assert not use_export(16, 2 << 20) and use_export(17, 2 << 20)
    assert not use_export(64, 1 << 30) and use_export(65, 1 << 30)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "explorer", *args], capture_output=True, text=True,
                          timeout=300, env=dict(os.environ))


def test_cli_on_a_container(victim, tmp_path):
    done = run_cli("extract", f"container:{NAME}", "/tmp/.cache/kw/config.json", "-o", str(tmp_path / "planted"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "planted").read_bytes() == MINER_CONFIG
    done = run_cli("scan", f"container:{NAME}", "--format", "json", "--no-cache")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["layers"][-1]["created_by"] == runtime_created_by(NAME)
    assert any(f["rule_id"] == "backdoor.accounts.second-uid0" and f["created_by"] == runtime_created_by(NAME)
               for f in doc["findings"])
    done = run_cli("tree", f"container:{NAME}", "--changes", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert "/tmp/.cache/kw/config.json" in done.stdout
    done = run_cli("scan", "container:no-such-container-here")
    assert done.returncode == 2
    assert done.stderr.strip() == "explorer: container:no-such-container-here: no such container in the Docker daemon"


def test_many_changed_folders(docker_client, build_image):
    """A folder's archive request is closed after the folder's own header (its contents are rows of their
    own): 40 new folders and one changed folder holding 20 MB are read, each file once, the same way
    per path and from one export."""
    ref = build_image("FROM explorer-it/busybox:base\n"
                      "RUN mkdir -p /srv/big && dd if=/dev/zero of=/srv/big/blob bs=1M count=20 2>/dev/null\n")
    container = docker_client.containers.run(ref, ["sh", "-c", "sleep 100000"], detach=True, network_mode="none")
    try:
        done = container.exec_run(["sh", "-c", "for i in $(seq 1 40); do mkdir -p /opt/d$i && echo $i > /opt/d$i/f; "
                                               "done; echo new > /srv/big/new"])
        assert done.exit_code == 0, done.output
        from explorer.scan.engine import analyze_image
        analyses = []
        for how in ("paths", "export"):
            with open_container(container.id, how) as source:
                a = analyze_image(source)
                top = a.layers[-1]
                assert runtime_rows(a) == diff_rows(container)
                assert len(top.entries) == 2 * 40 + 4  # /opt, 40 folders and their files, /srv, /srv/big, new
                assert top.stats.size == sum(len(str(i)) + 1 for i in range(1, 41)) + 4
                assert a.read(a.final.get("/opt/d17/f")) == b"17\n"
                assert a.final.get("/srv/big/blob").layer == 1
                analyses.append(layer_rows(a))
        assert analyses[0] == analyses[1]
    finally:
        container.remove(force=True)


# -- explorer diff ----------------------------------------------------------------------------------

def created_export_index(docker_client, ref: str) -> dict[str, tuple]:
    """`docker export` of a container created (not started) from `ref`."""
    container = docker_client.containers.create(ref, ["true"], network_mode="none")
    try:
        return export_index(container)
    finally:
        container.remove(force=True)


def export_diff(a: dict, b: dict) -> set[tuple[str, str]]:
    out = {(p, "added") for p in b.keys() - a.keys()} | {(p, "removed") for p in a.keys() - b.keys()}
    return out | {(p, "changed") for p in a.keys() & b.keys() if a[p] != b[p]}


TWO_BUILDS = ("FROM explorer-it/busybox:base\n"
              "RUN mkdir -p /srv/app && echo shared > /srv/app/common.txt && echo keep > /srv/app/keep.txt\n"
              "RUN {step}\n"
              "RUN echo last > /srv/app/last.txt\n")
STEP_A = "echo v1 > /srv/app/config && rm /srv/app/keep.txt && echo gone > /srv/app/only-a"
STEP_B = ("echo v2 > /srv/app/config && chmod 600 /srv/app/config && rm /srv/app/keep.txt && mkdir -p /opt/kw && "
          "echo {b64} | base64 -d > /opt/kw/config.json")


def test_diff_of_two_builds_is_docker_export(docker_client, build_image):
    a = build_image(TWO_BUILDS.format(step=STEP_A))
    b = build_image(TWO_BUILDS.format(step=STEP_B.format(b64=base64.b64encode(MINER_CONFIG).decode())))
    done = run_cli("diff", a, b, "--format", "json", "--no-cache")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    got = {(p["path"], p["change"]) for p in doc["paths"]}
    expected = export_diff(created_export_index(docker_client, a), created_export_index(docker_client, b))
    # /.dockerenv, /etc/hosts… are Docker's init layer: the same in both exports, so not in either diff
    assert got == expected
    assert {("/srv/app/config", "changed"), ("/srv/app/only-a", "removed"), ("/opt/kw", "added"),
            ("/opt/kw/config.json", "added")} <= got
    config = next(p for p in doc["paths"] if p["path"] == "/srv/app/config")
    assert config["differs"] == ["content", "mode"] and (config["a"]["layer"], config["b"]["layer"]) == (2, 2)
    assert STEP_B.split(" && ")[0] in config["b"]["created_by"]
    # the base layer and the first RUN are the same layer on both sides; the changed step and the ones after are not
    assert [layer["shared"] for layer in doc["layers"]["b"]] == [True, True, False, False]
    new = {(f["rule_id"], f["source"], f["layer"], f["path"]) for f in doc["new_findings"]}
    # the planted file, and the changed build step that wrote it (its history line holds the payload);
    # nothing from the layers both builds share
    assert {(source, layer, path) for _, source, layer, path in new} <= {
        ("file", 2, "/opt/kw/config.json"), ("history", 2, None)}
    assert ("miner.xmrig-config", "file", 2, "/opt/kw/config.json") in new
    done = run_cli("diff", a, b, "--format", "sarif", "--fail-on", "high")
    assert done.returncode == 1
    paths = {r["properties"]["path"] for r in json.loads(done.stdout)["runs"][0]["results"]}
    assert "/opt/kw/config.json" in paths and paths <= {"/opt/kw/config.json", None}


def test_diff_of_a_container_against_its_image(victim, docker_client):
    image = victim.attrs["Image"]
    done = run_cli("diff", image, f"container:{NAME}", "--format", "json", "--no-cache")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert [layer["shared"] for layer in doc["layers"]["b"]] == [True, True, False]
    assert doc["layers"]["b"][-1]["created_by"] == runtime_created_by(NAME)
    got = {(p["path"], p["change"]) for p in doc["paths"]}
    # the reference: `docker export` of the container against that of a fresh container of its image
    assert got == export_diff(created_export_index(docker_client, image), export_index(victim))
    # docker diff's `A` and `D` rows are all there; its `C` rows of folders are mtime only (not compared)
    diff = normalise_changes(victim.diff())
    assert {(p, "removed") for p, k in diff if k == 2} | {(p, "added") for p, k in diff if k == 1} <= got
    assert {p for p, c in got if c == "changed"} == {"/etc/passwd"}
    assert ("/srv/data/sub/x", "removed") in got  # below a removed folder: docker diff names the folder only
    new = {f["rule_id"] for f in doc["new_findings"]}
    assert {"backdoor.accounts.second-uid0", "miner.xmrig-config", "misconfig.container.docker-socket-mount"} <= new
    assert all(f["layer"] in (2, None) for f in doc["new_findings"])


# -- hard links ---------------------------------------------------------------------------------------

HARD_LINKS = ("mkdir -p /opt/x && echo same > /srv/h1 && ln /srv/h1 /srv/h2 && ln /srv/h1 /opt/x/h3 && "
              "ln /bin/busybox /srv/bb && echo same > /srv/c1 && echo same > /srv/c2")
"""Three names of one new file (`/opt/x/h3` first in `docker export`'s walk), a second name of an image
file the container did not change, and two separate files with the same content."""


def export_links(container) -> dict[str, str]:
    """path → the first name it is a hard link to, in `docker export`."""
    from explorer.sources.container import ChunkReader
    with tarfile.open(fileobj=ChunkReader(container.export(chunk_size=1 << 20)), mode="r|") as tar:
        return {"/" + m.name.strip("/"): "/" + m.linkname.strip("/") for m in tar if m.islnk()}


def test_runtime_hard_links_are_docker_exports(docker_client, build_image):
    ref = build_image("FROM explorer-it/busybox:base\nRUN mkdir -p /srv\n")
    container = docker_client.containers.run(ref, ["sh", "-c", "sleep 100000"], detach=True, network_mode="none")
    try:
        done = container.exec_run(["sh", "-c", HARD_LINKS])
        assert done.exit_code == 0, done.output
        links = export_links(container)
        assert {p: t for p, t in links.items() if p.startswith(("/srv", "/opt"))} == {
            "/srv/h1": "/opt/x/h3", "/srv/h2": "/opt/x/h3", "/srv/bb": "/bin/busybox"}
        rows = []
        for how in ("paths", "export"):
            with open_container(container.id, how) as source:
                from explorer.scan.engine import analyze_image
                a = analyze_image(source)
                assert not a.problems, a.problems
                top = {e.path: e for e in a.layers[-1].entries}
                got = {p: e.linkname for p, e in top.items() if e.kind == EntryKind.HARDLINK}
                assert got == {p: t for p, t in links.items() if p in top}, how
                assert top["/opt/x/h3"].kind == top["/srv/c1"].kind == top["/srv/c2"].kind == EntryKind.FILE
                for path in ("/srv/h1", "/srv/h2", "/srv/bb"):
                    assert a.read(a.final.get(path)) == a.read(a.final.get(links[path])), path
                assert a.read(a.final.get("/srv/h2")) == b"same\n"
                rows.append(layer_rows(a))
        assert rows[0] == rows[1]
    finally:
        container.remove(force=True)
