"""Monero wallet addresses and XMRig-style pool configs: where a miner sends its coins.

An address is 95 base58 characters (106 for an integrated one) starting with 4 or 8. Monero encodes
base58 in 8-byte blocks (11 characters each, the last block shorter); the decoded bytes are a network
byte, two 32-byte public keys (plus an 8-byte payment id) and a 4-byte checksum, the first 4 bytes of
Keccak-256 (the original Keccak, not SHA3-256) over the rest. With pycryptodome the checksum is
verified and a valid address is a high finding; without it, a well-formed address is only low.
"""

from __future__ import annotations

import json
import re
from typing import Iterable

from explorer.detectors.base import FileDetector
from explorer.core.rules import RuleInfo
from explorer.core.findings import Match
from explorer.core.model import FileEntry

_keccak = False
"""pycryptodome's keccak module, imported on first use (it costs ~25 ms of start-up through cffi, and
most scans meet no address); None when it is not installed."""


def _keccak_module():
    global _keccak
    if _keccak is False:
        try:
            from Crypto.Hash import keccak
        except ImportError:  # optional dependency: without it addresses are only checked for form
            keccak = None
        _keccak = keccak
    return _keccak

WALLET = RuleInfo(
    "miner.monero.wallet-address", "miner", "high", "Monero wallet address",
    "A Monero address with a valid checksum (base58 blocks + Keccak-256): miners carry the wallet their "
    "pool pays. Low when the checksum could not be verified.")
POOL_CONFIG = RuleInfo(
    "miner.monero.pool-config", "miner", "high", "Mining pool configuration",
    "An XMRig-style JSON config with a `pools` list (`url`, `user`). High with a stratum URL, a wallet or "
    "miner options (algo, donate-level, randomx); medium otherwise.")

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {ch: i for i, ch in enumerate(ALPHABET)}
_BLOCK_SIZES = (0, 2, 3, 5, 6, 7, 9, 10, 11)
"""Encoded length of a block of 0..8 bytes."""
_NETWORK_BYTES = {18: "standard", 19: "integrated", 42: "subaddress"}
_RUN_TABLE = bytes(0x61 if chr(code) in _INDEX else 0x20 for code in range(256))
"""Maps base58 bytes to `a` and everything else to a space, so runs are found with a plain find()."""
_MIN_RUN = b"a" * 95
_ADDRESS_LENGTHS = (95, 106)
_SKIP_EXTENSIONS = (".gz", ".xz", ".bz2", ".zst", ".zip", ".whl", ".jar", ".png", ".jpg", ".jpeg", ".gif",
                    ".woff", ".woff2", ".ttf", ".mo", ".deb", ".rpm", ".7z", ".tgz")
_MAX_SCAN = 64 << 20


def base58_decode(text: str) -> bytes | None:
    """Monero's block base58, or None when the text is not valid Monero base58."""
    out = bytearray()
    for start in range(0, len(text), 11):
        block = text[start:start + 11]
        if len(block) not in _BLOCK_SIZES:
            return None
        size = _BLOCK_SIZES.index(len(block))
        number = 0
        for ch in block:
            digit = _INDEX.get(ch)
            if digit is None:
                return None
            number = number * 58 + digit
        if number >> (8 * size):
            return None
        out += number.to_bytes(size, "big")
    return bytes(out)


def base58_encode(raw: bytes) -> str:
    """Monero block base58, the inverse of `base58_decode` (tests and the demo image make addresses)."""
    out = []
    for start in range(0, len(raw), 8):
        block = raw[start:start + 8]
        number = int.from_bytes(block, "big")
        chars = []
        for _ in range(_BLOCK_SIZES[len(block)]):
            number, digit = divmod(number, 58)
            chars.append(ALPHABET[digit])
        out.append("".join(reversed(chars)))
    return "".join(out)


def make_address(network: int, keys: bytes) -> str:
    """An address with a valid checksum: network byte + 64 key bytes + the first 4 bytes of Keccak-256."""
    body = bytes([network]) + keys
    digest = keccak256(body)
    if digest is None:
        raise RuntimeError("pycryptodome (Keccak-256) is not installed")
    return base58_encode(body + digest[:4])


def keccak256(data: bytes) -> bytes | None:
    module = _keccak_module()
    if module is None:
        return None
    return module.new(digest_bits=256, data=data).digest()


def check_address(text: str) -> str | None:
    """`valid` (checksum verified), `well-formed` (checksum not verifiable here) or None."""
    raw = base58_decode(text)
    if raw is None or len(raw) not in (69, 77) or raw[0] not in _NETWORK_BYTES:
        return None
    if (raw[0] == 19) != (len(raw) == 77):
        return None
    digest = keccak256(raw[:-4])
    if digest is None:
        return "well-formed"
    return "valid" if digest[:4] == raw[-4:] else None


_STRIDE = 4
_STRIDE_RUN = b"a" * (len(_MIN_RUN) // _STRIDE)
"""95 consecutive offsets hold at least 23 multiples of 4: every run of 95 base58 bytes shows in the
sample of every 4th byte as 23 base58 bytes in a row."""
_WINDOW = 1 << 22
"""Data bytes sampled at a time (a multiple of _STRIDE): the sample of a 64 MiB file, taken whole, held
32 MB (the slice and its translation) beside the file."""
_BASE58_RUN = re.compile(rb"[1-9A-HJ-NP-Za-km-z]{95,}")


def address_candidates(data: bytes) -> Iterable[tuple[int, str]]:
    """(offset, text) of every base58 run of address length starting with 4 or 8, in order.

    translate() + find() run at memory speed (a regex with look-arounds was ~50 MB/s), but only over
    the stretches where a sample of every 4th byte has a long enough base58 run: a run of 23 sampled
    bytes between sampled non-base58 bytes at i-1 and j bounds every run it can belong to strictly
    between data offsets 4(i-1) and 4j, so each stretch holds whole runs and every run lies in one.
    The sample is taken _WINDOW bytes at a time; a sampled run reaching a window's end is carried on.
    """
    carry = -1
    """Sample index where the sampled run that reached the last window's end began."""
    for base in range(0, len(data), _WINDOW):
        sample = data[base:base + _WINDOW:_STRIDE].translate(_RUN_TABLE)
        at, pos = base // _STRIDE, 0
        if carry >= 0:
            pos = sample.find(b" ")
            if pos == -1:
                continue
            if at + pos - carry >= len(_STRIDE_RUN):
                yield from _stretch(data, carry, at + pos)
            carry = -1
        first = sample.find(_STRIDE_RUN, pos)
        while first != -1:
            stop = sample.find(b" ", first)
            if stop == -1:
                break
            yield from _stretch(data, at + first, at + stop)
            first = sample.find(_STRIDE_RUN, stop)
        tail = sample.rfind(b" ") + 1
        if tail < len(sample):
            carry = at + tail
    end = -(-len(data) // _STRIDE)
    if carry >= 0 and end - carry >= len(_STRIDE_RUN):
        yield from _stretch(data, carry, end)


def _stretch(data: bytes, first: int, stop: int) -> Iterable[tuple[int, str]]:
    """The runs of the data between sampled non-base58 bytes first-1 and stop."""
    return _runs(data, max(0, (first - 1) * _STRIDE + 1), min(len(data), stop * _STRIDE))


def _runs(data: bytes, lo: int, hi: int) -> Iterable[tuple[int, str]]:
    """`address_candidates` of data[lo:hi] (offsets into data), for a stretch that no base58 byte
    borders: every run in it is a whole run of data. Nothing is copied (a stretch can be a whole file)."""
    for run in _BASE58_RUN.finditer(data, lo, hi):
        start, end = run.span()
        if end - start in _ADDRESS_LENGTHS and data[start] in b"48":
            yield start, run.group().decode("ascii")


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


class MoneroWallets(FileDetector):
    name = "heuristic-monero-wallet"
    RULES = (WALLET,)

    def wants(self, entry: FileEntry) -> bool:
        return 95 <= entry.size and not entry.name.lower().endswith(_SKIP_EXTENSIONS)

    def scan(self, entry: FileEntry, data: bytes) -> Iterable[Match]:
        for offset, address in address_candidates(data[:_MAX_SCAN]):
            status = check_address(address)
            if status == "valid":
                yield WALLET.match(address, line=_line_of(data, offset))
                return
            if status == "well-formed":
                yield WALLET.match(address, line=_line_of(data, offset), severity="low",
                                   reason="checksum not verified (pycryptodome missing)")
                return


_POOL_HINT = re.compile(rb'"pools"\s*:\s*\[')
_POOL_FALLBACK = re.compile(rb'"url"\s*:\s*"([^"]{1,200})"')
_MINER_KEYS = frozenset({"algo", "donate-level", "randomx", "cpu", "coin", "rig-id", "donate-over-proxy"})
_CONFIG_SIZE = 1 << 20


def _pools(doc) -> list[dict]:
    if isinstance(doc, dict) and isinstance(doc.get("pools"), list):
        return [pool for pool in doc["pools"] if isinstance(pool, dict) and isinstance(pool.get("url"), str)]
    return []


def _mask_user(user: str) -> str:
    return user[:8] + "…" if len(user) > 12 else user


class MinerPoolConfig(FileDetector):
    name = "heuristic-pool-config"
    RULES = (POOL_CONFIG,)

    def wants(self, entry: FileEntry) -> bool:
        return 16 <= entry.size <= _CONFIG_SIZE and entry.name.lower().endswith((".json", ".conf", ".cfg", ".txt",
                                                                                   "config"))

    def scan(self, entry: FileEntry, data: bytes) -> Iterable[Match]:
        hint = _POOL_HINT.search(data)
        if hint is None:
            return
        line = _line_of(data, hint.start())
        try:
            doc = json.loads(data.decode("utf-8", "replace"))
        except (ValueError, RecursionError):  # nested past the parser's depth: read as text below
            doc = None
        pools = _pools(doc)
        if pools:
            urls = [pool["url"] for pool in pools]
            users = [str(pool.get("user", "")) for pool in pools]
            strong = (any("stratum" in url for url in urls)
                      or any(check_address(user.split(".")[0].split("+")[0]) == "valid" for user in users)
                      or bool(_MINER_KEYS & set(doc)) or any(_MINER_KEYS & set(pool) for pool in pools))
            evidence = f"pools: {', '.join(urls[:3])}; user {_mask_user(users[0])}" if users[0] else \
                f"pools: {', '.join(urls[:3])}"
            yield POOL_CONFIG.match(evidence, line=line, severity="high" if strong else "medium")
            return
        url = _POOL_FALLBACK.search(data, hint.end())
        if url and b'"user"' in data:
            text = url.group(1).decode("utf-8", "replace")
            yield POOL_CONFIG.match(f"pools (not valid JSON): {text}", line=line,
                                    severity="high" if "stratum" in text else "medium")
