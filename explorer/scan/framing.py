"""The framing of messages on the pipe between the reading process and its detection workers
(explorer.scan.detectpool), on raw file descriptors.

Format: a message is an 8-byte length, unsigned big-endian (struct "!Q"), then that many bytes; nothing
else, no padding, no type byte. An empty message (length 0) is a message too (the pool's "stop").
A reader names a cap for every length it reads: a length over it is refused (`FrameError`) before anything
is allocated or read past the prefix, so a broken or hostile peer cannot make it allocate what it says.
The end of the stream before a prefix or inside a message is `EOFError`.

Why not multiprocessing.connection's `send_bytes`/`recv_bytes`: the pool writes a batch's files with one
writev from their own bytes objects (never joined) and reads them into one reused buffer or straight into
their own objects, which needs the framing at hand; copying the private format of
`Connection._send_bytes` (a signed 4-byte length, -1 then an 8-byte one above 2 GiB) tied the pool to a
CPython detail. The pipe itself is still made by multiprocessing (`ctx.Pipe`), and waited on with
`multiprocessing.connection.wait`, both public.
"""

from __future__ import annotations

import os
import struct

PREFIX = struct.Struct("!Q")
"""The length before every message."""
MAX_MESSAGE = 1 << 30
"""The default cap of `read`: headers and answers are far below it."""

try:
    IOV_MAX = max(os.sysconf("SC_IOV_MAX"), 16)
except (ValueError, OSError):
    IOV_MAX = 16  # POSIX's least
"""Buffers one writev takes at most (more parts take more than one writev)."""


class FrameError(ValueError):
    """A length over the reader's cap."""


def write(fd: int, *messages: list) -> None:
    """Write each message (a list of bytes-like parts, sent one after the other as one message) with its
    prefix, all with as few writev calls as IOV_MAX allows; the parts are never joined."""
    parts: list = []
    for message in messages:
        parts.append(PREFIX.pack(sum(map(len, message))))
        parts.extend(part for part in message if len(part))
    while parts:
        n = os.writev(fd, parts[:IOV_MAX])
        if not n:
            raise BrokenPipeError("nothing written")
        done = 0
        while done < len(parts) and n >= len(parts[done]):
            n -= len(parts[done])
            done += 1
        parts = parts[done:]
        if n:
            parts[0] = memoryview(parts[0])[n:]


def read_length(fd: int, cap: int) -> int:
    """The length of the next message (its prefix read); FrameError when it is over `cap`."""
    head = bytearray(PREFIX.size)
    read_into(fd, memoryview(head))
    size, = PREFIX.unpack(head)
    if size > cap:
        raise FrameError(f"a message of {size} bytes, over the cap of {cap}")
    return size


def read(fd: int, cap: int = MAX_MESSAGE) -> bytearray:
    """The next whole message."""
    data = bytearray(read_length(fd, cap))
    read_into(fd, memoryview(data))
    return data


def read_into(fd: int, view: memoryview) -> None:
    """Fill `view` from `fd`, however many reads it takes; EOFError if the stream ends first."""
    while view:
        n = os.readv(fd, [view])
        if not n:
            raise EOFError("the pipe closed inside a message")
        view = view[n:]
