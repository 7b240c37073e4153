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

A blob file seen before need not even be hashed: once a blob has been hashed in full (by that
check, or by the cold read) and matched, the cache remembers the identity of the bytes it read: the
file's real path, device, inode, size, mtime and ctime, and the range of it for a blob inside an
archive (`sources.blobstore.file_identity`). A later run whose blob has that same identity takes the
hash as done. ctime is what makes this safe: the kernel sets it on every write, rename or `touch`,
and no user process can set it back (git's index relies on the same), so an archive rewritten with
other bytes, the same size and a restored mtime has another identity and is hashed again. A file
changed less than RACY_NS before it was hashed is not remembered (two writes within one tick of the
file system's clock can leave the same times: git's "racily clean" entries). Images exported from
the Docker daemon are a fresh temporary file each time: they are always hashed.

Rows are written only for layers read completely whose digests matched what the image claims, and
whose detectors did not fail. Any SQLite error (locked beyond the busy timeout, corrupt file,
read-only folder) turns the cache off for the rest of the run with one warning; the scan itself
never fails because of it. Two runs may share the folder: WAL mode, a busy timeout, and one
`INSERT OR REPLACE` per row.

Who can write the cache decides what a scan reports (a row says "this layer is clean"), so:

- Every row (layer results, whole results, hashed blob files) carries an HMAC-SHA256 of everything
  it says, under a per-user key (`key`: 32 random bytes, 0600, in the cache folder, created once
  with O_EXCL|O_NOFOLLOW and linked into place, so that a reader never sees half of it). A row
  whose MAC does not hold (damaged, or written by someone without the key) is a miss, read again
  and rewritten. A plain checksum would not do: whoever can write a row can compute it.
- The cache folder is checked as ssh checks `~/.ssh` (`usable_folder`): it must be a real folder,
  not a symlink, owned by this user and not writable by others; writable by its group only when
  that group is this user's own private group (no other member). Made when missing, with mode 0700.
  Every file in it (the database and its `-wal`/`-shm`/`-journal` companions, the key, compiled
  YARA rules, the demo image) is opened without following a symlink and must be a regular file of
  this user. A folder or file that fails is a warning, and the run goes on without the cache.
- Everything explorer keeps between runs lives in that one folder (`explorer.core.locations.cache_dir`),
  and nothing is written there with `--no-cache`.
"""

from __future__ import annotations

import hashlib
import hmac
import marshal
import os
import stat
import sqlite3
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import explorer

from explorer.core.locations import UnsafeCache, cache_dir, check_file, open_file, usable_folder
from explorer.core.limits import DEFAULT, Limits, ReadBudget

if TYPE_CHECKING:
    from explorer.core.model import LayerRef
    from explorer.sources import ImageSource
    from explorer.sources.blobstore import BlobIdentity

SCHEMA = 2
"""Bumped when the tables change (2: a MAC on every row); a database of another schema is emptied."""
BUSY_TIMEOUT_MS = 10_000
RACY_NS = 2_000_000_000
"""A blob file whose mtime or ctime is less than this before its hashing started is not remembered
as hashed (coarse file-system clocks: a second change within the same tick keeps the times)."""
MAX_BLOBS = 10_000
"""Identities of hashed blob files kept; past that, those remembered longest ago go."""
MAX_IMAGE_BYTES = 64 << 20
"""Bytes of whole-scan results kept (findings and layer numbers: tens of kB an image)."""
IMAGE_TOUCH = 3600.0
HASH_CHUNK = 1 << 20
MAX_BYTES = 2 << 30
"""Payload bytes the cache keeps; past that, the rows used longest ago go (a row is a few MB for a
big layer: 4 MB for the 1.6 GB bench image)."""


KEY_NAME = "key"
KEY_BYTES = 32


def user_key(folder: Path) -> bytes:
    """The per-user MAC key kept in `folder` (made on first use: written whole to a new file, then
    linked into place, so a concurrent run reads the whole key or makes its own attempt)."""
    path = folder / KEY_NAME
    try:
        fd = open_file(path)
    except FileNotFoundError:
        tmp = folder / f".key-{os.getpid()}-{os.urandom(6).hex()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(os.urandom(KEY_BYTES))
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass  # another run's key won: read below
        finally:
            os.unlink(tmp)
        fd = open_file(path)
    with os.fdopen(fd, "rb") as key_file:
        if stat.S_IMODE(os.fstat(key_file.fileno()).st_mode) & 0o077:
            raise UnsafeCache(f"cache key {path} can be read by others (remove it; a new one is made)")
        key = key_file.read(KEY_BYTES + 1)
    if len(key) != KEY_BYTES:
        raise UnsafeCache(f"cache key {path} is damaged (remove it; a new one is made)")
    return key


def pack(doc) -> bytes:
    """The stored form of a payload document (plain tuples, lists, strings, numbers): marshal, then
    zstd level 1 (on the bench image's rows: 17 % smaller than zlib level 1, 4x faster to write, 6x
    faster to read back)."""
    import zstandard

    return zstandard.ZstdCompressor(level=1).compress(marshal.dumps(doc))


def unpack(payload: bytes):
    """The document `pack` stored; ValueError when it is not one."""
    import zstandard

    try:
        return marshal.loads(zstandard.ZstdDecompressor().decompress(payload))
    except (zstandard.ZstdError, EOFError, TypeError) as exc:
        raise ValueError(f"not a stored payload: {exc}") from None


def detector_names(detectors: list) -> str:
    """Each detector's class and version, in order: part of the keys of everything they produce."""
    return ",".join(f"{type(d).__module__}.{type(d).__qualname__}:{d.version}" for d in detectors)


def settings_key(detectors: list, disabled: frozenset[str] = frozenset(), limits: Limits = DEFAULT) -> str:
    """Everything besides the rule set and the code that changes a layer's outcome."""
    return f"{ReadBudget.settings(limits)};detectors={detector_names(detectors)};disabled={','.join(sorted(disabled))}"


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
            if rel.startswith(("tui/", "reports/", "cli/", "export.py", "main.py")):
                continue  # presentation: does not change what a layer pass finds
            digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
        _BUILD = (f"{explorer.__version__}+{digest.hexdigest()[:16]} py{sys.version_info[0]}.{sys.version_info[1]} "
                  f"yara{yara.YARA_VERSION}")
    return _BUILD


class LayerCache:
    """Best-effort store of encoded layer results; `None`-returning on any trouble."""

    def __init__(self, folder: str | os.PathLike | None = None) -> None:
        self.folder = Path(folder) if folder is not None else cache_dir()
        self.path = self.folder / "layers.sqlite"
        self.warning: str | None = None
        """Why the cache was turned off during this run, if it was."""
        self._db: sqlite3.Connection | None = None
        self._key = b""
        """The user's MAC key (`user_key`), read when the database is opened."""
        self._failed = False
        self._watched: dict[str, tuple[BlobIdentity, Callable[[], BlobIdentity | None], int]] = {}

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
                self._open()
            except (sqlite3.Error, OSError) as exc:
                self._fail(exc)
                return None
        return self._db

    def _open(self) -> None:
        """Check the folder and its files (`usable_folder`, `open_file`), read the key, open the
        database; a database of another SCHEMA is emptied first."""
        usable_folder(self.folder)
        os.close(open_file(self.path, os.O_RDWR | os.O_CREAT))
        for suffix in ("-wal", "-shm", "-journal"):
            check_file(f"{self.path}{suffix}")
        self._key = user_key(self.folder)
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                             check_same_thread=False)
        try:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA:
                db.execute("BEGIN IMMEDIATE")
                if db.execute("PRAGMA user_version").fetchone()[0] != SCHEMA:
                    for table in ("layers", "images", "blobs"):
                        db.execute(f"DROP TABLE IF EXISTS {table}")
                    db.execute(f"PRAGMA user_version = {SCHEMA}")
                db.execute("COMMIT")
            db.execute("CREATE TABLE IF NOT EXISTS layers (key TEXT PRIMARY KEY, blob_digest TEXT NOT NULL, "
                       "blob_size INTEGER NOT NULL, checksum TEXT NOT NULL, payload BLOB NOT NULL, "
                       "written REAL NOT NULL)")
            db.execute("CREATE TABLE IF NOT EXISTS images (key TEXT PRIMARY KEY, checksum TEXT NOT NULL, "
                       "payload BLOB NOT NULL, written REAL NOT NULL)")
            db.execute("CREATE TABLE IF NOT EXISTS blobs (identity TEXT PRIMARY KEY, digest TEXT NOT NULL, "
                       "checksum TEXT NOT NULL, written REAL NOT NULL)")
        except BaseException:
            db.close()
            raise
        self._db = db

    def _mac(self, table: str, key: str, *fields: object, payload: bytes = b"") -> str:
        """The row's MAC: HMAC-SHA256 under the user's key of its table, key, fields and payload."""
        head = "\0".join((table, key, *map(str, fields))).encode("utf-8", "surrogateescape")
        mac = hmac.new(self._key, len(head).to_bytes(8, "big") + head, hashlib.sha256)
        mac.update(payload)
        return mac.hexdigest()

    def _fail(self, exc: Exception) -> None:
        self._failed = True
        why = str(exc) if isinstance(exc, UnsafeCache) else f"{type(exc).__name__}: {exc}"
        self.warning = f"layer cache {self.path} not used: {why}"
        self.close()

    def _row(self, columns: str, key: str, table: str = "layers", column: str = "key") -> tuple | None:
        db = self._connect()
        if db is None:
            return None
        try:
            return db.execute(f"SELECT {columns} FROM {table} WHERE {column} = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            self._fail(exc)
            return None

    def lookup(self, key: str) -> tuple[str, int] | None:
        """(blob digest, blob size) the row was written for, or None."""
        return self._row("blob_digest, blob_size", key)

    def has_blob(self, digest: str) -> bool:
        """Some row was written for this layer blob (under any rules or settings)."""
        return self._row("1", digest, column="blob_digest") is not None

    def payload(self, key: str, table: str = "layers", touch_after: float = 0) -> bytes | None:
        """The stored payload, when its MAC holds; the row counts as just used (when it was last
        used more than `touch_after` seconds ago: a run that only reads writes nothing)."""
        # a payload made text by damage comes back as bytes, and so is a miss
        fields = "blob_digest, blob_size, " if table == "layers" else ""
        row = self._row(f"{fields}checksum, CAST(payload AS BLOB), written", key, table)
        if row is None:
            return None
        *claims, checksum, payload, written = row
        if not isinstance(payload, bytes) or not isinstance(checksum, str) \
                or not hmac.compare_digest(self._mac(table, key, *claims, payload=payload), checksum):
            return None
        now = time.time()
        if not isinstance(written, (int, float)) or not 0 <= now - written <= touch_after:
            self._execute(f"UPDATE {table} SET written = ? WHERE key = ?", (now, key))
        return payload

    # -- whole scans ---------------------------------------------------------------------------

    @staticmethod
    def image_key(layer_keys: list[str], *parts: str) -> str:
        """The key of a whole scan's result: every layer's row key plus what else it depends on."""
        text = "\0".join((f"schema{SCHEMA}", tool_build(), "image", *layer_keys, "", *parts))
        return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()

    def image(self, key: str) -> bytes | None:
        """A whole scan's result stored under `key`, when its checksum holds (counted as used at most
        once every IMAGE_TOUCH seconds: a warm scan that takes it then writes nothing)."""
        return self.payload(key, "images", IMAGE_TOUCH)

    def store_image(self, key: str, payload: bytes, max_bytes: int = MAX_IMAGE_BYTES) -> None:
        """Insert one whole scan's result; drop those used longest ago past `max_bytes`."""
        if self._connect() is None:
            return
        self._execute("INSERT OR REPLACE INTO images VALUES (?, ?, ?, ?)",
                      (key, self._mac("images", key, payload=payload), payload, time.time()))
        self._evict("images", max_bytes)

    def store(self, key: str, blob_digest: str, blob_size: int, payload: bytes, max_bytes: int = MAX_BYTES) -> None:
        """Insert one row (atomically: a reader sees the whole row or none), then drop the rows used
        longest ago while the payloads add up to more than `max_bytes`."""
        if self._connect() is None:
            return
        self._execute("INSERT OR REPLACE INTO layers VALUES (?, ?, ?, ?, ?, ?)",
                      (key, blob_digest, blob_size, self._mac("layers", key, blob_digest, blob_size, payload=payload),
                       payload, time.time()))
        watched = self._watched.pop(key, None)
        if watched is not None:
            before, again, started = watched
            if before.size == blob_size:
                self.vouch(before, again(), blob_digest, started)
        self._evict("layers", max_bytes)

    def _evict(self, table: str, max_bytes: int) -> None:
        """Drop the rows of `table` used longest ago while its payloads add up to more than `max_bytes`."""
        self._execute(f"DELETE FROM {table} WHERE key IN (SELECT key FROM (SELECT key, SUM(length(payload)) "
                      f"OVER (ORDER BY written DESC, key) AS kept FROM {table}) WHERE kept > ?)", (max_bytes,))

    # -- blob files hashed before -------------------------------------------------------------

    @staticmethod
    def identity(source, ref) -> BlobIdentity | None:
        """The identity of the bytes of `ref`'s blob as the source stores them; None
        when the source cannot tell (no file behind it) or is a fresh export (the Docker daemon)."""
        if source.kind == "docker-daemon":
            return None
        identity = getattr(source.store, "identity", None)
        return identity(ref.blob) if identity is not None else None

    def vouched(self, identity: BlobIdentity | None, digest: str) -> bool:
        """Were these very bytes (same identity) hashed in full before, to `digest`?"""
        if identity is None:
            return False
        row = self._row("digest, checksum", identity.key, "blobs", "identity")
        return (row is not None and row[0] == digest and isinstance(row[1], str)
                and hmac.compare_digest(self._mac("blobs", identity.key, digest), row[1]))

    def vouch(self, before: BlobIdentity | None, after: BlobIdentity | None, digest: str,
              started: int) -> None:
        """Remember that the blob bytes of identity `before` hashed to `digest` in a read that began
        at `started` (time.time_ns()) and after which the identity was `after`: only when the two are
        the same and the file had not changed for RACY_NS when the read began."""
        if before is None or before != after or before.changed >= started - RACY_NS or self._connect() is None:
            return
        self._execute("INSERT OR REPLACE INTO blobs VALUES (?, ?, ?, ?)",
                      (before.key, digest, self._mac("blobs", before.key, digest), time.time()))
        self._execute("DELETE FROM blobs WHERE identity IN (SELECT identity FROM blobs ORDER BY written DESC "
                      "LIMIT -1 OFFSET ?)", (MAX_BLOBS,))

    def watch(self, key: str, before: BlobIdentity | None, again: Callable[[], BlobIdentity | None]) -> None:
        """The blob of the layer row `key` is about to be read in full (identity `before`; `again()`
        tells it afterwards): when its row is stored, the read vouches for the blob (`vouch`)."""
        if before is not None:
            self._watched[key] = (before, again, time.time_ns())

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


# -- checking a blob before a row is taken -------------------------------------------------------

def check_blobs(source: ImageSource, cache: LayerCache, claims: dict[int, tuple[LayerRef, str, int]],
                meanwhile: Callable[[], None] = lambda: None) -> dict[int, bool]:
    """For each claim (ref, digest, size): is the stored blob those bytes? At once when the cache
    vouches for the blob file (the same identity was hashed in full before), else by hashing it, in
    threads, one blob each, while `meanwhile()` runs; a blob that matched is then vouched for."""
    started = time.time_ns()
    identities = {i: cache.identity(source, ref) for i, (ref, _, _) in claims.items()}
    result = {i: cache.vouched(identities[i], digest) or _addressed(source, ref, digest)
              for i, (ref, digest, _) in claims.items()}
    todo = [i for i, ok in result.items() if not ok]
    if not todo:
        meanwhile()
        return result
    from concurrent.futures import ThreadPoolExecutor  # not needed by a warm run that hashes nothing

    with ThreadPoolExecutor(max_workers=min(len(todo), os.cpu_count() or 1)) as pool:
        hashing = {i: pool.submit(_blob_matches, source, *claims[i]) for i in todo}
        meanwhile()
        for i, future in hashing.items():
            result[i] = future.result()
            if result[i]:
                cache.vouch(identities[i], cache.identity(source, claims[i][0]), claims[i][1], started)
    return result


def _addressed(source: ImageSource, ref: LayerRef, digest: str) -> bool:
    """A content-addressed store (a registry: a blob is fetched by its digest, and the bytes are
    checked against it whenever they are downloaded) whose manifest names the very digest the row
    was written for: the row is those bytes' result, with nothing to download or hash."""
    return bool(getattr(source.store, "content_addressed", False)) and ref.digest == digest


def _blob_matches(source: ImageSource, ref: LayerRef, digest: str, size: int) -> bool:
    """Does the stored blob hash to `digest` (and have `size` bytes)? Any read error: no."""
    sha = hashlib.sha256()
    count = 0
    try:
        with source.open_layer(ref) as blob:
            buf = bytearray(HASH_CHUNK)
            view = memoryview(buf)
            while True:
                n = blob.readinto(buf)
                if not n:
                    break
                sha.update(view[:n])
                count += n
                if count > size:
                    return False
    except Exception:  # noqa: BLE001 - an unreadable blob is read (and reported) the normal way
        return False
    return count == size and "sha256:" + sha.hexdigest() == digest
