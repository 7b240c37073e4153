"""explorer.scan.framing: the detection pool's messages (an 8-byte big-endian length, then the bytes) on real
pipes and sockets."""

import os
import socket
import threading

import pytest

from explorer.scan import framing


@pytest.fixture(params=["pipe", "socket"])
def ends(request):
    """(read fd, write fd) of a real pipe or socket pair."""
    if request.param == "pipe":
        r, w = os.pipe()
        yield r, w
        os.close(r)
        os.close(w)
    else:
        a, b = socket.socketpair()
        yield a.fileno(), b.fileno()
        a.close()
        b.close()


def _writer(fd, *messages):
    """Write from a thread (a message over the pipe's buffer would block a single thread)."""
    thread = threading.Thread(target=framing.write, args=(fd, *messages))
    thread.start()
    return thread


def test_round_trip(ends):
    r, w = ends
    big = bytes(range(256)) * 4096 + b"end"  # over any pipe buffer: several writes and reads
    thread = _writer(w, [b"head"], [b"ab", b"", memoryview(b"cd"), big], [])
    assert framing.read(r) == b"head"
    assert framing.read(r) == b"abcd" + big
    assert framing.read(r) == b""  # the empty message is one too
    thread.join()


def test_the_format_is_a_big_endian_length_then_the_bytes(ends):
    r, w = ends
    framing.write(w, [b"xyz"], [])
    got = b""
    while len(got) < 19:
        got += os.read(r, 19 - len(got))
    assert got == b"\0\0\0\0\0\0\0\x03xyz" + bytes(8)


def test_many_parts_take_several_writev_calls(ends, monkeypatch):
    r, w = ends
    monkeypatch.setattr(framing, "IOV_MAX", 3)
    parts = [bytes([i]) * (i + 1) for i in range(20)]
    framing.write(w, parts[:10], parts[10:])
    assert framing.read(r) == b"".join(parts[:10])
    assert framing.read(r) == b"".join(parts[10:])


def test_short_reads_still_give_whole_messages(ends):
    """The peer writes a byte at a time (prefix included): each read returns little, the message is whole."""
    r, w = ends
    message = b"".join([framing.PREFIX.pack(5), b"hello", framing.PREFIX.pack(0)])

    def trickle():
        for i in range(len(message)):
            os.write(w, message[i:i + 1])

    thread = threading.Thread(target=trickle)
    thread.start()
    assert framing.read(r) == b"hello"
    assert framing.read(r) == b""
    thread.join()


def test_a_length_over_the_cap_is_refused_before_reading_on(ends):
    r, w = ends
    os.write(w, framing.PREFIX.pack(1 << 62) + b"rest")
    with pytest.raises(framing.FrameError, match="over the cap"):
        framing.read(r)
    assert os.read(r, 4) == b"rest"  # nothing past the prefix was read (nor allocated: 4 EiB)
    framing.write(w, [b"12345"])
    with pytest.raises(ValueError):  # FrameError is a ValueError: the pool's handlers catch it
        framing.read(r, cap=4)
    assert os.read(r, 5) == b"12345"
    os.write(w, framing.PREFIX.pack(4) + b"1234")
    assert framing.read_length(r, cap=4) == 4


@pytest.mark.parametrize("cut", [3, 8 + 5])
def test_the_stream_ending_inside_a_message_is_eof(cut):
    """Inside the prefix or inside the body: EOFError, never a short message."""
    r, w = os.pipe()
    try:
        os.write(w, (framing.PREFIX.pack(10) + b"0123456789")[:cut])
        os.close(w)
        w = None
        with pytest.raises(EOFError):
            framing.read(r)
    finally:
        os.close(r)
        if w is not None:
            os.close(w)
