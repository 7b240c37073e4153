"""ContainerRisks and the config rows of a container: HostConfig and mounts as `docker inspect` gives them."""

from __future__ import annotations

from explorer.detectors.heuristics.container_config import ContainerRisks
from explorer.core.findings import Finding
from explorer.core.model import ImageConfig
from explorer.reports.imageconfig import config_rows, locate


def runtime(**host) -> dict:
    mounts = host.pop("Mounts", [])
    return {"Name": "web", "Id": "abc", "State": {"Status": "running"}, "HostConfig": host, "Mounts": mounts}


def matches(rt) -> dict[str, tuple[str, str]]:
    config = ImageConfig(id="sha256:0", runtime=rt)
    return {m.rule_id: (m.severity, m.evidence) for m in ContainerRisks().scan_config(config)}


SOCK = {"Type": "bind", "Source": "/var/run/docker.sock", "Destination": "/var/run/docker.sock", "RW": True}
ROOT = {"Type": "bind", "Source": "/", "Destination": "/host", "RW": False}
VOLUME = {"Type": "volume", "Name": "data", "Source": "/var/lib/docker/volumes/data/_data", "Destination": "/data"}


def test_an_image_has_no_runtime_and_raises_nothing():
    assert matches(None) == {}


def test_a_plain_container_raises_nothing():
    # what `docker run IMAGE` gives: default namespaces (cgroupns host is the cgroup v1 default), a named volume
    assert matches(runtime(NetworkMode="bridge", PidMode="", IpcMode="private", CgroupnsMode="host",
                           CapAdd=None, CapDrop=None, Privileged=False, Mounts=[VOLUME])) == {}


def test_each_risk_once_with_what_makes_it():
    found = matches(runtime(Privileged=True, PidMode="host", NetworkMode="host", CapAdd=["NET_BIND_SERVICE"],
                            Binds=["/etc:/host-etc:ro"], Mounts=[SOCK, ROOT]))
    assert found == {
        "misconfig.container.docker-socket-mount": ("high", "mount /var/run/docker.sock -> /var/run/docker.sock"),
        "misconfig.container.sensitive-host-mount": ("medium", "mount / -> /host, mount /etc -> /host-etc"),
        "misconfig.container.privileged": ("high", "--privileged (HostConfig.Privileged)"),
        "misconfig.container.host-namespace": ("high", "--pid=host --network=host"),
        "misconfig.container.added-capability": ("medium", "--cap-add NET_BIND_SERVICE"),
    }


def test_escape_capabilities_are_high():
    assert matches(runtime(CapAdd=["CHOWN", "CAP_SYS_ADMIN"]))["misconfig.container.added-capability"] == \
        ("high", "--cap-add CHOWN --cap-add CAP_SYS_ADMIN")


def test_config_rows_show_how_it_runs_and_locate_the_findings():
    rt = runtime(Privileged=True, PidMode="host", CapAdd=["SYS_PTRACE"], Mounts=[SOCK])
    config = ImageConfig(id="sha256:0", runtime=rt)
    rows = config_rows(config)
    texts = [r.text for r in rows]
    assert "# container web · running" in texts
    assert "--mount bind /var/run/docker.sock -> /var/run/docker.sock" in texts
    assert {"--privileged", "--pid=host", "--cap-add SYS_PTRACE"} <= set(texts)
    for m in ContainerRisks().scan_config(config):
        f = Finding.from_match(m, source="config", layer=None, path=None, in_final_image=True, created_by="")
        row = locate(rows, f)
        assert row is not None, m.rule_id
        assert rows[row].kind in ("mount", "host")
        assert rows[row].text.split(" ", 1)[0].split("=")[0].lstrip("-") in (m.evidence + " mount")
