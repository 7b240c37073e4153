"""The layer-result cache: one SQLite row per (layer content, rule set, tool build, settings).

A layer seen before (same diff_id, same stored blob digest) with the same detectors costs no
decompression, no tar walk and no detection: its entries, file-level matches and problems come
back from the row. What a hit still costs is one sha256 over the *stored* (compressed) blob:

    An archive is hostile input. A tampered archive can name a digest we have cached and ship
    other bytes; trusting the name would report the cached (clean) results for the attacker's
    content. Checking only the size does not help (same size, other bytes is trivial), so a hit is
    taken only when the blob hashes to the digest the row was written for. Hashing runs at memory
    bandwidth (SHA-NI: about 1.6 GB/s per core, threads in parallel, no decompression), a small
    fraction of a cold read; `bench/README.md` has the measured numbers. A blob that fails the
    check is read in full as if there were no cache, which reports the digest mismatch.

Rows are written only for layers read completely whose digests matched what the image claims, and
whose detectors did not fail. The payload carries a sha256 of itself: a row that does not match it
is a miss. Any SQLite error (locked beyond the busy timeout, corrupt file, read-only folder) turns
the cache off for the rest of the run with one warning; the scan itself never fails because of it.
Two runs may share the folder: WAL mode, a busy timeout, and one `INSERT OR REPLACE` per row.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import sys
import time
from pathlib import Path

import explorer

SCHEMA = 1
ENV_DIR = "EXPLORER_CACHE_DIR"
BUSY_TIMEOUT_MS = 10_000
MAX_BYTES = 2 << 30
"""Payload bytes the cache keeps; past that, the rows used longest ago go (a row is a few MB for a
big layer: 4 MB for the 1.6 GB bench image)."""


def cache_folder() -> Path:
    """$EXPLORER_CACHE_DIR, else $XDG_CACHE_HOME/explorer, else ~/.cache/explorer."""
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "explorer"


_BUILD: str | None = None


def tool_build() -> str:
    """The tool version, made exact: the package version plus a hash of the code that produces a
    layer's results (a development checkout changes without a new version number), the Python
    version (payloads are `marshal` data) and the YARA version."""
    global _BUILD
    if _BUILD is None:
        import yara

        root = Path(explorer.__file__).resolve().parent
        digest = hashlib.sha256()
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if rel.startswith(("tui/", "reports/", "commands/")):
                continue  # presentation: does not change what a layer pass finds
            digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
        _BUILD = (f"{explorer.__version__}+{digest.hexdigest()[:16]} py{sys.version_info[0]}.{sys.version_info[1]} "
                  f"yara{yara.YARA_VERSION}")
    return _BUILD


class LayerCache:
    """Best-effort store of encoded layer results; `None`-returning on any trouble."""

    def __init__(self, folder: str | os.PathLike | None = None) -> None:
        self.folder = Path(folder) if folder is not None else cache_folder()
        self.path = self.folder / "layers.sqlite"
        self.warning: str | None = None
        """Why the cache was turned off during this run, if it was."""
        self._db: sqlite3.Connection | None = None
        self._failed = False

    # -- keys --------------------------------------------------------------------------------

    @staticmethod
    def key(diff_id: str, digest: str, rules: str, settings: str) -> str:
        parts = (f"schema{SCHEMA}", tool_build(), diff_id, digest, rules, settings)
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    # -- storage -----------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection | None:
        if self._failed:
            return None
        if self._db is None:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                     check_same_thread=False)
                db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")
                db.execute("CREATE TABLE IF NOT EXISTS layers (key TEXT PRIMARY KEY, blob_digest TEXT NOT NULL, "
                           "blob_size INTEGER NOT NULL, checksum TEXT NOT NULL, payload BLOB NOT NULL, "
                           "written REAL NOT NULL)")
                self._db = db
            except (sqlite3.Error, OSError) as exc:
                self._fail(exc)
                return None
        return self._db

    def _fail(self, exc: Exception) -> None:
        self._failed = True
        self.warning = f"layer cache {self.path} not used: {type(exc).__name__}: {exc}"
        self.close()

    def _row(self, columns: str, key: str) -> tuple | None:
        db = self._connect()
        if db is None:
            return None
        try:
            return db.execute(f"SELECT {columns} FROM layers WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            self._fail(exc)
            return None

    def lookup(self, key: str) -> tuple[str, int] | None:
        """(blob digest, blob size) the row was written for, or None."""
        return self._row("blob_digest, blob_size", key)

    def payload(self, key: str) -> bytes | None:
        """The stored payload, when its checksum holds; the row counts as just used."""
        row = self._row("checksum, payload", key)
        if row is None:
            return None
        checksum, payload = row
        if not isinstance(payload, bytes) or hashlib.sha256(payload).hexdigest() != checksum:
            return None
        self._execute("UPDATE layers SET written = ? WHERE key = ?", (time.time(), key))
        return payload

    def store(self, key: str, blob_digest: str, blob_size: int, payload: bytes, max_bytes: int = MAX_BYTES) -> None:
        """Insert one row (atomically: a reader sees the whole row or none), then drop the rows used
        longest ago while the payloads add up to more than `max_bytes`."""
        self._execute("INSERT OR REPLACE INTO layers VALUES (?, ?, ?, ?, ?, ?)",
                      (key, blob_digest, blob_size, hashlib.sha256(payload).hexdigest(), payload, time.time()))
        self._execute("DELETE FROM layers WHERE key IN (SELECT key FROM (SELECT key, SUM(length(payload)) "
                      "OVER (ORDER BY written DESC, key) AS kept FROM layers) WHERE kept > ?)", (max_bytes,))

    def _execute(self, sql: str, params: tuple) -> None:
        db = self._connect()
        if db is None:
            return
        try:
            db.execute(sql, params)
        except sqlite3.Error as exc:
            self._fail(exc)

    def close(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
            self._db = None
