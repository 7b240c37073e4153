"""The UI outside a terminal: it refuses to start (one line, exit 2, pointing at `scan`) without a
terminal or under CI; in a terminal, a run stopped by SIGTERM, SIGHUP or SIGINT ends in order and leaves
no `explorer-workers-*.log` in the temporary folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update(PYTHONPATH=str(ROOT), TMPDIR=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"), **extra)
    return env


@pytest.mark.parametrize("command", [["demo"], ["open", "no-such-image"], ["no-such-image"]])
def test_no_terminal_refused(tmp_path, command):
    done = subprocess.run([sys.executable, "-m", "explorer", *command], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, env=_env(tmp_path), timeout=60)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == ("explorer: the UI needs a terminal on stdin, stdout and stderr; "
                           "use `explorer scan IMAGE` for a report\n")


def _in_pty(tmp_path, command, **env):
    leader, follower = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "explorer", *command], stdin=follower, stdout=follower,
                            stderr=follower, env=_env(tmp_path, TERM="xterm-256color", **env), cwd=tmp_path,
                            start_new_session=True)
    os.close(follower)
    screen = bytearray()

    def drain():  # the app blocks on a full terminal buffer otherwise
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:
                return
            if not data:
                return
            screen.extend(data)
    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    return proc, leader, screen, reader


def test_ci_refused_even_in_a_terminal(tmp_path):
    proc, leader, screen, reader = _in_pty(tmp_path, ["demo"], CI="true")
    assert proc.wait(60) == 2
    reader.join(5)
    os.close(leader)
    assert b"the UI does not start under CI (CI is set); use `explorer scan IMAGE` for a report" in screen


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_stop_signal_removes_the_worker_log(tmp_path, sig):
    proc, leader, screen, reader = _in_pty(tmp_path, ["demo"])
    try:
        for _ in range(1200):  # the app made its worker log on mount; the first frame follows
            if list(tmp_path.glob("explorer-workers-*.log")) and b"Layers" in screen:
                break
            assert proc.poll() is None, bytes(screen)[-2000:]
            time.sleep(0.05)
        else:
            pytest.fail(f"the UI never started: {bytes(screen)[-2000:]!r}")
        proc.send_signal(sig)
        assert proc.wait(60) == 128 + sig
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(leader)
        reader.join(5)
    assert list(tmp_path.glob("explorer-workers-*.log")) == []
    assert b"\x1b[?1049l" in screen  # the alternate screen was left: the terminal is restored
