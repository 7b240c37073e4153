"""A read-only reader of bbolt files (containerd's `meta.db`): buckets and their keys, nothing else.

The format (go.etcd.io/bbolt): two meta pages, then B+tree pages of `page_size` bytes. Every page starts
with a 16-byte header (id, flags, element count, overflow pages); branch elements are (pos, key size,
child page), leaf elements (flags, pos, key size, value size) with `pos` counted from the element. A
leaf value flagged as a bucket is (root page, sequence), followed, when the root is 0, by the bucket's
own page inline. Hostile files: every page number is checked, and a walk visits each page at most once.
"""

from __future__ import annotations

import struct
from typing import BinaryIO, Iterator

from explorer.core.errors import SourceError

MAGIC = 0xED0CDAED
BRANCH, LEAF, META = 0x01, 0x02, 0x04
BUCKET_LEAF = 0x01
MAX_PAGES_WALKED = 1_000_000


class Bolt:
    def __init__(self, fh: BinaryIO, size: int, description: str):
        self.fh, self.size, self.description = fh, size, description
        first = self._meta(0)
        if first is None:
            raise SourceError(f"{description}: not a bbolt database")
        second = self._meta(first[0])  # the second meta page, one page further
        self.page_size, self.root = max([first] + ([second] if second else []), key=lambda m: m[2])[:2]

    def _meta(self, offset: int):
        self.fh.seek(offset)
        raw = self.fh.read(16 + 64)
        if len(raw) < 80:
            return None
        magic, _version, page_size, _flags, root, _seq, _free, _pgid, txid = struct.unpack_from("<IIIIQQQQQ", raw, 16)
        if magic != MAGIC or page_size < 512 or page_size > 1 << 20:
            return None
        return page_size, root, txid

    def _page(self, pgid: int) -> bytes:
        offset = pgid * self.page_size
        if pgid < 2:
            raise SourceError(f"{self.description}: page {pgid} is a meta page, not part of a tree")
        if offset + 16 > self.size:
            raise SourceError(f"{self.description}: page {pgid} lies outside the file")
        self.fh.seek(offset)
        head = self.fh.read(16)
        overflow = struct.unpack_from("<I", head, 12)[0]
        length = self.page_size * (1 + overflow)
        if offset + length > self.size:
            raise SourceError(f"{self.description}: page {pgid} runs past the end of the file")
        return head + self.fh.read(length - 16)

    def items(self, bucket: tuple[int, bytes | None] | None = None) -> Iterator[tuple[bytes, bytes, bool]]:
        """(key, value, is_bucket) of a bucket (default: the root bucket), in key order."""
        root, inline = bucket if bucket is not None else (self.root, None)
        seen: set[int] = set()
        if root == 0:
            yield from self._leaf(inline or b"")
            return
        stack = [root]
        while stack:
            pgid = stack.pop()
            if pgid in seen or len(seen) > MAX_PAGES_WALKED:
                raise SourceError(f"{self.description}: page {pgid} is reached twice (a cycle)")
            seen.add(pgid)
            page = self._page(pgid)
            flags, count = struct.unpack_from("<HH", page, 8)
            if flags & BRANCH:
                children = [struct.unpack_from("<IIQ", page, 16 + 16 * i)[2] for i in range(count)]
                stack.extend(reversed(children))
            elif flags & LEAF:
                yield from self._leaf(page)
            else:
                raise SourceError(f"{self.description}: page {pgid} is neither a branch nor a leaf")

    def _leaf(self, page: bytes) -> Iterator[tuple[bytes, bytes, bool]]:
        if len(page) < 16:
            return
        count = struct.unpack_from("<H", page, 10)[0]
        for i in range(count):
            at = 16 + 16 * i
            if at + 16 > len(page):
                raise SourceError(f"{self.description}: leaf element {i} lies outside its page")
            flags, pos, ksize, vsize = struct.unpack_from("<IIII", page, at)
            start = at + pos
            if start + ksize + vsize > len(page):
                raise SourceError(f"{self.description}: leaf element {i} runs past its page")
            yield page[start:start + ksize], page[start + ksize:start + ksize + vsize], bool(flags & BUCKET_LEAF)

    def bucket(self, *path: bytes) -> tuple[int, bytes | None] | None:
        """The bucket at `path` from the root, or None."""
        current = None
        for name in path:
            for key, value, is_bucket in self.items(current):
                if key == name and is_bucket:
                    root = struct.unpack_from("<Q", value, 0)[0] if len(value) >= 16 else 0
                    current = (root, value[16:] if root == 0 else None)
                    break
            else:
                return None
        return current

    def values(self, *path: bytes) -> dict[bytes, bytes]:
        """The plain keys of the bucket at `path`."""
        bucket = self.bucket(*path)
        return {} if bucket is None else {k: v for k, v, sub in self.items(bucket) if not sub}

    def buckets(self, *path: bytes) -> list[bytes]:
        """The names of the buckets inside the bucket at `path`."""
        bucket = self.bucket(*path)
        return [] if bucket is None else [k for k, _v, sub in self.items(bucket) if sub]
