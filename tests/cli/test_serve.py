"""`explorer serve`: the UI in a browser through textual-serve, on loopback by default."""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from explorer.cli.parser import _parser
from explorer.cli.commands.serve import serve_command

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def browser_terminal(url: str, until: bytes, messages: int = 2000) -> bytes:
    """What the UI draws for a browser connected to `url`, up to the first message holding `until`."""
    import aiohttp  # textual-serve's own HTTP library

    drawn = b""
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        for _ in range(messages):
            message = await ws.receive(timeout=60)
            if message.type != aiohttp.WSMsgType.BINARY:
                break
            drawn += message.data
            if until in drawn:
                break
    return drawn


def test_the_command_quotes_every_word_of_a_hostile_image_name(tmp_path, monkeypatch):
    evil = "x.tar; touch pwned $(id) `id` 'q\""
    words = shlex.split(serve_command(evil, platform="linux/amd64", python="/usr/bin/python3"))
    assert words == ["/usr/bin/python3", "-m", "explorer", "--platform", "linux/amd64", "open", "--", evil]
    image = tmp_path / "a b.tar"
    image.write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    assert shlex.split(serve_command("a b.tar"))[-1] == str(image)  # an existing file: absolute, for the child
    assert shlex.split(serve_command(None))[-1] == "demo"


def test_loopback_by_default():
    args = _parser().parse_args(["serve"])
    assert (args.host, args.port, args.image) == ("127.0.0.1", 8000, None)


def test_serve_answers_over_http_on_loopback_and_stops_on_sigterm():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "explorer", "serve", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        page = None
        for _ in range(300):  # until it listens (or has died)
            if proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
                    page = (answer.status, answer.read().decode())
                break
            except OSError:
                time.sleep(0.1)
        assert page is not None, proc.stderr.read().decode() if proc.poll() is not None else "no answer"
        status, html = page
        assert status == 200 and "xterm.css" in html
        # the browser's terminal connects back to this server, which starts the UI on the demo image for it
        assert f'data-session-websocket-url="ws://127.0.0.1:{port}/ws"' in html
        drawn = asyncio.run(browser_terminal(f"ws://127.0.0.1:{port}/ws?width=120&height=40", b"Layers"))
        assert b"explorer demo image" in drawn and b"Layers" in drawn
        with socket.socket() as other:  # not on another address of this machine
            assert other.connect_ex(("127.0.0.2", port)) != 0
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    assert f"open http://127.0.0.1:{port} in a browser" in err.decode()


def test_bad_image_is_one_line_and_exit_2_before_serving(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "explorer", "serve", str(tmp_path / "missing.tar"), "--port",
                           str(free_port())], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "missing.tar" in proc.stderr
