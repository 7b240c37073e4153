"""The terminal driver: Textual's LinuxDriver, except that a lone Escape key arrives when the escape
delay ends instead of up to 100 ms later.

Why: a terminal sends the Escape key as a lone ESC byte, and ESC also starts every escape sequence
(arrows, function keys, mouse reports, Alt+key). Textual's parser therefore waits ESCDELAY
(textual.constants.ESCAPE_DELAY) after a lone ESC for the rest of a sequence. But in Textual 8.2.8
the thread that reads the terminal (LinuxDriver.run_input_thread) waits in `selector.select(0.1)`
and asks the parser whether its deadline has passed (`parser.tick()`) only when that wait ends: with
no further input, only 0.1 s after the ESC was read. So the Escape key took ~100 ms whatever
ESCDELAY said (plus drawing: 120-150 ms in tmux), and a lower ESCDELAY changed nothing.

This driver's input loop is Textual's, with one change: `select` waits no longer than the parser's
pending deadline, so a lone Escape is delivered ESCDELAY after it was read (the delay itself is set
in explorer/tui/__init__.py). Escape sequences still complete as before: they are parsed the moment
their bytes arrive.

The same polling made quitting slow: disable_input sets the exit event and joins the thread, which
noticed it only when its select(0.1) ended and then waited in one more select(0.1) for input to
drain: the terminal came back ~200 ms after q. Here a pipe wakes the thread, and the last read takes
only what is already there.

Chosen by the app (explorer.tui.runtime) only while the gate of explorer.tui.patches is open; otherwise
Textual's own LinuxDriver runs (a lone Escape then takes ~100 ms). docs/textual-proposal.md proposes the
change upstream.
"""

from __future__ import annotations

import os
import queue
import selectors
from codecs import getincrementaldecoder

from textual._loop import loop_last
from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver

POLL = 0.1
"""Seconds between checks of the exit event when nothing is pending (Textual's own value)."""


def select_timeout(parser: XTermParser, now: float) -> float:
    """How long the input thread may wait for the terminal: until the parser's pending deadline (a
    lone ESC waiting to become the Escape key), at most POLL."""
    deadline = getattr(parser, "_timeout_time", None)
    if deadline is None:
        return POLL
    return max(0.0, min(POLL, deadline - now))


class PromptEscapeDriver(LinuxDriver):
    _wake: int | None = None
    """The write end of a pipe that the input thread also waits on: disable_input writes to it, so that
    quitting (and suspending) does not wait for two 0.1 s selects to end (~200 ms after q)."""

    def run_input_thread(self) -> None:
        """Textual 8.2.8's LinuxDriver.run_input_thread with `select_timeout` instead of a fixed 0.1 s, a
        wake-up pipe, and no wait in the last read of pending input."""
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        fileno = self.fileno
        wake_read, wake_write = os.pipe()
        selector.register(wake_read, selectors.EVENT_READ)
        self._wake = wake_write
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        ended = False
        """The terminal gave end of file (its window closed, or stdin is a pipe that ended): nothing
        more can come, so the thread ends. Textual's loop selected it again at once, forever: 100 % of
        a core, and after a SIGHUP and the SIGCONT that follows it (which restarts application mode: a
        second input thread) one of the two could miss the exit event's brief set and keep the process
        from ending."""

        def process_selector_events(selector_events, final: bool = False) -> None:
            nonlocal ended
            for last, (selector_key, mask) in loop_last(selector_events):
                if selector_key.fd == wake_read:
                    self.exit_event.wait(POLL)  # disable_input is about to set it
                elif mask & selectors.EVENT_READ:
                    unicode_data = decode(os.read(fileno, 1024 * 4), final=final and last)
                    if not unicode_data:
                        ended = True
                        break
                    for event in parser.feed(unicode_data):
                        self.process_message(event)
            for event in parser.tick():
                self.process_message(event)

        try:
            while not self.exit_event.is_set() and not ended:
                process_selector_events(selector.select(select_timeout(parser, get_time())))
            if ended:
                if self.input_tty:  # a raw terminal reads end of file only once it hung up: the app ends
                    self._app.call_later(self._app.exit)
            else:
                selector.unregister(fileno)
                process_selector_events(selector.select(0), final=True)
        finally:
            self._wake = None
            selector.close()
            os.close(wake_read)
            os.close(wake_write)
            try:
                for _event in parser.feed(""):
                    pass
            except (EOFError, ParseError):
                pass

    def write(self, data: str) -> None:
        """LinuxDriver.write, except that a terminal gone away holds up nothing: Textual's writer thread
        ends on the first write that fails (a window closed while the app starts: EIO), and its queue of
        30 writes then fills, so the next write, and the app's shutdown after SIGHUP, waited forever
        (the process stayed, spinning). Here a write waits for room only while that thread lives; after
        it ended, what would be drawn is dropped."""
        writer = self._writer_thread
        assert writer is not None, "Driver must be in application mode"
        _put_while_alive(writer, data)

    def close(self) -> None:
        """LinuxDriver.close (WriterThread.stop: its end marker, then join), not waiting for room in the
        queue of a writer thread that has ended."""
        writer = self._writer_thread
        if writer is not None:
            _put_while_alive(writer, None)
            writer.join()

    def disable_input(self) -> None:
        wake = self._wake
        if wake is not None:
            try:
                os.write(wake, b"\0")
            except OSError:  # the thread has just ended and closed it
                pass
        super().disable_input()


def _put_while_alive(writer, item) -> None:
    """WriterThread.write (its queue's blocking put), waiting for room only while the thread lives."""
    while writer.is_alive():
        try:
            writer._queue.put(item, timeout=POLL)
            return
        except queue.Full:
            pass
