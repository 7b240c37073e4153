"""The terminal driver on a real pty: a lone Escape arrives when ESCDELAY ends (not ~100 ms later), and
escape sequences (arrows, function keys, Alt+key, mouse reports) still arrive as what they are, also
when a slow link splits one."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import tty

import pytest

pytest.importorskip("termios")

from textual import constants, events  # noqa: E402

from explorer.tui import ESCAPE_DELAY_MS  # noqa: E402
from explorer.tui.patches.driver import POLL, PromptEscapeDriver, select_timeout  # noqa: E402

pytestmark = pytest.mark.textual_patch  # the driver patch (CI runs these only where the gate is open)


class _App:
    """What the driver's input thread needs of an app: nothing but a place for the events."""


class RecordingDriver(PromptEscapeDriver):
    def __init__(self, fileno: int) -> None:
        super().__init__(_App(), mouse=False)  # no mouse: disable_input writes nothing to a terminal
        self.fileno = fileno
        self.events: list[tuple[float, object]] = []
        self.arrived = threading.Condition()

    def process_message(self, message) -> None:
        with self.arrived:
            self.events.append((time.perf_counter(), message))
            self.arrived.notify_all()


@pytest.fixture
def driver(monkeypatch):
    monkeypatch.setattr(constants, "ESCAPE_DELAY", ESCAPE_DELAY_MS / 1000)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTSTP, signal.SIGCONT)}  # the driver sets them
    leader, follower = os.openpty()
    tty.setraw(follower)  # as the driver's start_application_mode makes the terminal: bytes as they come

    async def make() -> RecordingDriver:  # a Driver keeps the running loop (for messages; unused here)
        return RecordingDriver(follower)
    loop = asyncio.new_event_loop()
    drv = loop.run_until_complete(make())
    thread = threading.Thread(target=drv.run_input_thread, daemon=True)
    drv._key_thread = thread
    thread.start()
    drv.write = lambda data: os.write(leader, data)
    yield drv
    drv.exit_event.set()
    thread.join(2)
    os.close(leader)
    os.close(follower)
    loop.close()
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


def received(drv: RecordingDriver, count: int = 1, timeout: float = 2.0) -> list[tuple[float, object]]:
    with drv.arrived:
        drv.arrived.wait_for(lambda: len(drv.events) >= count, timeout)
        return list(drv.events)


def keys(drv: RecordingDriver, count: int) -> list[str]:
    return [e.key for _t, e in received(drv, count) if isinstance(e, events.Key)]


def test_a_lone_escape_arrives_when_the_escape_delay_ends(driver):
    delays = []
    for _ in range(5):
        start = len(driver.events)
        sent = time.perf_counter()
        driver.write(b"\x1b")
        at, event = received(driver, start + 1)[start]
        assert isinstance(event, events.Key) and event.key == "escape"
        delays.append(at - sent)
    delays.sort()
    # Textual's own loop delivered it only when its 0.1 s select ended (~100 ms); the median is what
    # counts on a machine shared with other work
    assert ESCAPE_DELAY_MS / 1000 - 0.005 <= delays[2] < POLL * 0.7, delays


def test_escape_sequences_stay_keys(driver):
    driver.write(b"\x1b[A")  # up
    driver.write(b"\x1bOP")  # F1 (SS3 form)
    driver.write(b"\x1b[15~")  # F5
    driver.write(b"\x1bx")  # Alt+x
    assert keys(driver, 4) == ["up", "f1", "f5", "alt+x"]


def test_a_sequence_split_within_the_escape_delay_is_still_one_key(driver, monkeypatch):
    # a longer delay than ours, so that a busy machine cannot stretch the 20 ms pause below past it
    # (the parser reads the delay at each lone ESC)
    monkeypatch.setattr(constants, "ESCAPE_DELAY", 0.2)
    driver.write(b"\x1b")
    time.sleep(0.02)
    driver.write(b"[B")
    assert keys(driver, 1) == ["down"]
    time.sleep(0.1)
    assert len(driver.events) == 1  # no escape, '[' or 'B' besides


def test_a_mouse_report_is_a_mouse_event(driver):
    driver.write(b"\x1b[<0;10;5M\x1b[<0;10;5m")
    got = [e for _t, e in received(driver, 2)]
    assert [type(e) for e in got] == [events.MouseDown, events.MouseUp]
    assert (got[0].x, got[0].y) == (9, 4)


def test_input_stops_at_once(driver):
    """As on quit: Textual's own thread noticed it only when its 0.1 s select ended, then waited 0.1 s more."""
    driver.write(b"x")
    assert keys(driver, 1) == ["x"]
    start = time.perf_counter()
    driver.disable_input()
    assert time.perf_counter() - start < POLL / 2
    assert not driver._key_thread.is_alive()


def test_the_input_thread_waits_until_the_parsers_deadline_at_most_poll():
    class Parser:
        _timeout_time = None

    parser = Parser()
    assert select_timeout(parser, 10.0) == POLL
    parser._timeout_time = 10.02
    assert select_timeout(parser, 10.0) == pytest.approx(0.02)
    parser._timeout_time = 9.0
    assert select_timeout(parser, 10.0) == 0.0
    parser._timeout_time = 50.0
    assert select_timeout(parser, 10.0) == POLL


@pytest.mark.parametrize("user_value, expected", [(None, ESCAPE_DELAY_MS / 1000), ("300", 0.3)])
def test_the_ui_sets_escdelay_before_textual_reads_it_and_keeps_the_users(user_value, expected):
    """As `explorer` starts the UI: the command line, then the app (textual.constants reads ESCDELAY once,
    at its first import)."""
    env = {k: v for k, v in os.environ.items() if k != "ESCDELAY"}
    if user_value:
        env["ESCDELAY"] = user_value
    code = ("import sys, explorer.main, explorer.tui.launch\n"
            "assert 'textual' not in sys.modules, 'the command line imported textual before the UI'\n"
            "from explorer.tui.app import ExplorerApp\n"
            "from textual import constants\n"
            "print(constants.ESCAPE_DELAY)\n"
            "print(ExplorerApp.get_driver_class(ExplorerApp.__new__(ExplorerApp)).__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    delay, driver_name = out.stdout.split()
    assert float(delay) == pytest.approx(expected)
    assert driver_name == "PromptEscapeDriver"


def _bare_driver(fileno: int) -> RecordingDriver:
    async def make() -> RecordingDriver:  # a Driver keeps the running loop (unused here)
        return RecordingDriver(fileno)
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(make())
    finally:
        loop.close()


@pytest.fixture
def signals_back():
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTSTP, signal.SIGCONT)}  # the driver sets them
    yield
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


def test_the_input_thread_ends_at_end_of_file(monkeypatch, signals_back):
    """stdin a pipe that ended: Textual's loop selected it again at once, forever (100 % of a core, and a
    thread that could outlive the app); here the thread ends, with no exit event."""
    import selectors

    calls = []

    class Counting(selectors.SelectSelector):
        def select(self, timeout=None):
            calls.append(timeout)
            return super().select(timeout)

    monkeypatch.setattr(selectors, "SelectSelector", Counting)
    read_end, write_end = os.pipe()
    os.close(write_end)
    drv = _bare_driver(read_end)
    drv.input_tty = False
    thread = threading.Thread(target=drv.run_input_thread, daemon=True)
    thread.start()
    thread.join(2)
    os.close(read_end)
    assert not thread.is_alive() and not drv.exit_event.is_set() and len(calls) <= 3, len(calls)


def test_a_terminal_that_hung_up_ends_the_app(signals_back):
    """A pty whose window closed reads end of file: the input thread ends and asks the app to exit (a
    SIGHUP may not come: nohup), where Textual's thread spun and the app ran on with no terminal."""
    leader, follower = os.openpty()
    tty.setraw(follower)
    asked = []

    class _Exiting(_App):
        def exit(self) -> None:
            asked.append("exit")

        def call_later(self, callback) -> None:
            callback()

    async def make() -> RecordingDriver:
        driver = RecordingDriver(follower)
        driver._app = _Exiting()
        return driver
    loop = asyncio.new_event_loop()
    drv = loop.run_until_complete(make())
    loop.close()
    drv.input_tty = True
    thread = threading.Thread(target=drv.run_input_thread, daemon=True)
    thread.start()
    os.close(leader)
    thread.join(2)
    os.close(follower)
    assert not thread.is_alive() and asked == ["exit"]


class _GoneTerminal:
    """A terminal whose window closed: every write fails."""

    def write(self, text: str) -> int:
        raise OSError(5, "Input/output error")

    def flush(self) -> None:
        raise OSError(5, "Input/output error")

    def fileno(self) -> int:
        return 2


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the writer's end, by design
def test_writes_and_close_do_not_wait_for_a_terminal_that_went_away(signals_back):
    """Textual's writer thread ends on the first failed write; its queue (30) then filled and the next
    write, and the shutdown after SIGHUP, waited forever. Here they go on (what they wrote is dropped)."""
    from textual.drivers._writer_thread import WriterThread

    drv = _bare_driver(0)
    drv._writer_thread = WriterThread(_GoneTerminal())
    drv._writer_thread.start()

    def shutdown_writes() -> None:
        for n in range(100):
            drv.write(f"\x1b[{n}m")
        drv.close()
    worker = threading.Thread(target=shutdown_writes, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "a write or close waited for the ended writer thread"
