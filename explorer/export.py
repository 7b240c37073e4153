"""The confined writer behind `explorer extract` and the UI's export: write a file (or a folder's subtree) as it
was in layer N, and nothing outside DEST.

Everything in an image is hostile. Every file and folder is created relative to a directory file
descriptor with O_NOFOLLOW (and O_EXCL for files), so no symlink, neither one from the image nor one
already in DEST, is ever followed and nothing is overwritten. Device nodes and fifos are never
created, setuid/setgid/sticky bits are dropped, hard links become separate copies (each copied
from the first one written, one at a time), and a symlink is made only when its target, resolved
from where it sits, stays inside DEST. Content is streamed from the layer blobs in chunks, each
blob read at most once, through the same tar parser the scan used (by member position), so the
bytes written are the bytes that were hashed and scanned.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections import OrderedDict, defaultdict, deque
from dataclasses import dataclass, field

from explorer.core.errors import ExplorerError
from explorer.layerfs import ImageAnalysis, Tree
from explorer.layerfs.stream import CHUNK, LayerStream
from explorer.layerfs.tarheaders import Member, TarHeaders
from explorer.layerfs.walker import READ_ERRORS
from explorer.core.model import EntryKind, FileEntry
from explorer.core.textsafe import safe

MAX_HOPS = 40
"""Symlinks followed while resolving one path, as the kernel allows."""
MAX_HARD_LINKS = 65000
"""Hard links to one file written (each a copy); the rest are skipped (ext4 holds no more links to
one file either)."""
"""Skipped entries reported one by one; the rest are only counted."""

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True, slots=True)
class Item:
    """One entry to write, at a path relative to the extraction root."""

    rel: tuple[str, ...]
    entry: FileEntry


@dataclass
class Plan:
    root: str
    """Real path of the folder everything is written below (DEST, or DEST's folder for one file)."""
    create_root: bool
    """DEST is a folder that does not exist yet (a subtree extraction)."""
    root_entry: FileEntry | None
    items: list[Item]


@dataclass
class Tally:
    files: int = 0
    dirs: int = 0
    symlinks: int = 0
    skipped: int = 0
    failed: int = 0
    """Skipped entries that could not be written (an error, a cap), not left out by design: exit 1."""
    warnings: list[str] = field(default_factory=list)

    def skip(self, rel: tuple[str, ...] | str, why: str, failed: bool = False) -> None:
        self.skipped += 1
        self.failed += failed
        where = rel if isinstance(rel, str) else "/".join(rel)
        if len(where) > 300:  # 4 KB names: the start and the end say which
            where = f"{where[:200]}…{where[-80:]}"
        self.warnings.append(f"skipped {safe(where)}: {why}")


class CannotCreate(Exception):
    """This one entry cannot be created in DEST (name too long for the file system, …); skip it."""

    def __init__(self, exc: OSError):
        super().__init__(exc.strerror or str(exc))
        self.failed = exc.errno not in (errno.ENAMETOOLONG, errno.EILSEQ)
        """A real failure (exit 1), not a name no file system holds (which no container holds either)."""


# -- finding PATH in the image ---------------------------------------------------------------------

def lookup(tree: Tree, path: str, layer: int) -> FileEntry:
    """The entry at `path`, following symlinks in its folders (inside the image) but not the last one."""
    todo = deque(path.split("/"))
    cur: list[str] = []
    hops = 0
    while todo:
        comp = todo.popleft()
        if comp in ("", "."):
            continue
        if comp == "..":
            if cur:
                cur.pop()
            continue
        here = "/" + "/".join(cur + [comp])
        entry = tree.get(here)
        if entry is None:
            raise ExplorerError(f"{path}: no such file or folder in the image as of layer {layer}")
        if entry.kind == EntryKind.SYMLINK and todo:
            hops += 1
            if hops > MAX_HOPS:
                raise ExplorerError(f"{path}: too many levels of symbolic links in the image")
            target = entry.linkname or ""
            if target.startswith("/"):
                cur = []
            todo.extendleft(reversed(target.split("/")))
            continue
        if todo and entry.kind != EntryKind.DIR:
            raise ExplorerError(f"{path}: {here} is not a folder in the image as of layer {layer}")
        cur.append(comp)
    found = tree.get("/" + "/".join(cur))
    if found is None:  # pragma: no cover - every step above was looked up
        raise ExplorerError(f"{path}: no such file or folder in the image as of layer {layer}")
    return found


# -- what to write where ---------------------------------------------------------------------------

def make_plan(tree: Tree, entry: FileEntry, dest: str) -> Plan:
    dest = os.path.normpath(dest)
    if entry.kind != EntryKind.DIR:
        if os.path.isdir(dest):
            return Plan(os.path.realpath(dest), False, None, [Item((entry.name,), entry)])
        if os.path.lexists(dest):
            raise ExplorerError(f"{dest}: already exists; refusing to overwrite")
        return Plan(_existing_parent(dest), False, None, [Item((os.path.basename(dest),), entry)])
    if os.path.lexists(dest) and not os.path.isdir(dest):
        raise ExplorerError(f"{dest}: exists and is not a folder")
    create = not os.path.isdir(dest)
    root = os.path.join(_existing_parent(dest), os.path.basename(dest)) if create else os.path.realpath(dest)
    skip = 1 if entry.path == "/" else len(entry.path) + 1
    items = [Item(tuple(e.path[skip:].split("/")), e) for e in tree.walk(entry.path)]
    return Plan(root, create, entry, items)


def _existing_parent(dest: str) -> str:
    parent = os.path.dirname(os.path.abspath(dest))
    if not os.path.isdir(parent):
        raise ExplorerError(f"{parent}: no such folder")
    return os.path.realpath(parent)


def _has_nul(rel: tuple[str, ...]) -> bool:
    return any("\x00" in part for part in rel)


def _check_free(plan: Plan) -> None:
    """Refuse before writing anything: no existing file may be overwritten, no existing symlink used."""
    for item in plan.items:
        if item.entry.kind in (EntryKind.CHAR, EntryKind.BLOCK, EntryKind.FIFO) or _has_nul(item.rel):
            continue
        full = os.path.join(plan.root, *item.rel)
        try:
            st = os.lstat(full)
        except FileNotFoundError:
            continue
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                continue  # longer than PATH_MAX: the writer goes one folder at a time, with O_EXCL

            raise ExplorerError(f"{full}: {exc.strerror}") from None
        if item.entry.kind == EntryKind.DIR and stat.S_ISDIR(st.st_mode):
            continue
        if item.entry.kind == EntryKind.DIR:
            raise ExplorerError(f"{full}: exists and is not a folder")
        raise ExplorerError(f"{full}: already exists; refusing to overwrite")


# -- writing below a directory fd ------------------------------------------------------------------

class Writer:
    """Creates entries below `root` through directory fds; never follows a symlink."""

    def __init__(self, root: str, tally: Tally):
        self.root = root
        self.tally = tally
        self.root_fd = os.open(root, _DIR_FLAGS)
        self._fds: OrderedDict[tuple[str, ...], int] = OrderedDict()

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        os.close(self.root_fd)

    def where(self, rel: tuple[str, ...]) -> str:
        return os.path.join(self.root, *rel)

    def dir_fd(self, rel: tuple[str, ...]) -> int:
        """An fd of the folder at rel, which must be a real folder (not a symlink) all the way down."""
        if not rel:
            return self.root_fd
        fd = self._fds.get(rel)
        if fd is not None:
            self._fds.move_to_end(rel)
            return fd
        parent = self.dir_fd(rel[:-1])
        try:
            fd = os.open(rel[-1], _DIR_FLAGS, dir_fd=parent)
        except OSError as exc:
            raise ExplorerError(f"{self.where(rel)}: not a folder we can write into ({exc.strerror})") from None
        if len(self._fds) >= 64:
            os.close(self._fds.popitem(last=False)[1])
        self._fds[rel] = fd
        return fd

    def mkdir(self, rel: tuple[str, ...]) -> bool:
        """Create the folder (True) or accept an existing real folder (False)."""
        parent = self.dir_fd(rel[:-1])
        try:
            os.mkdir(rel[-1], 0o700, dir_fd=parent)
            created = True
        except FileExistsError:
            created = False
        except OSError as exc:
            raise CannotCreate(exc) from None
        st = os.stat(rel[-1], dir_fd=parent, follow_symlinks=False)
        if not stat.S_ISDIR(st.st_mode):
            raise ExplorerError(f"{self.where(rel)}: exists and is not a folder")
        return created

    def finish_dir(self, rel: tuple[str, ...], entry: FileEntry) -> None:
        fd = self.dir_fd(rel)
        os.fchmod(fd, (entry.mode & 0o777) | 0o700)
        _set_mtime(fd, entry, self.where(rel), self.tally)

    def create_file(self, rel: tuple[str, ...]) -> int:
        try:
            return os.open(rel[-1], _NEW_FILE_FLAGS, 0o600, dir_fd=self.dir_fd(rel[:-1]))
        except FileExistsError:
            raise ExplorerError(f"{self.where(rel)}: already exists; refusing to overwrite") from None
        except OSError as exc:
            raise CannotCreate(exc) from None

    def remove_file(self, rel: tuple[str, ...]) -> None:
        try:
            os.unlink(rel[-1], dir_fd=self.dir_fd(rel[:-1]))
        except OSError:
            pass

    def symlink(self, rel: tuple[str, ...], target: str) -> None:
        try:
            os.symlink(target, rel[-1], dir_fd=self.dir_fd(rel[:-1]))
        except FileExistsError:
            raise ExplorerError(f"{self.where(rel)}: already exists; refusing to overwrite") from None
        except OSError as exc:
            raise CannotCreate(exc) from None

    def resolves_inside(self, rel: tuple[str, ...], target: str) -> bool:
        """Would a symlink at rel with this target, resolved from its folder, stay below the root?

        Existing symlinks on the way are followed by hand (readlink); a `..` after a component that
        does not exist yet is refused, since a symlink made later could change where it leads.
        """
        if not target or target.startswith("/"):
            return False
        cur = list(rel[:-1])
        todo = deque(target.split("/"))
        hops = 0
        unknown = False
        while todo:
            comp = todo.popleft()
            if comp in ("", "."):
                continue
            if comp == "..":
                if unknown or not cur:
                    return False
                cur.pop()
                continue
            cur.append(comp)
            if unknown:
                continue
            try:
                st = os.lstat(os.path.join(self.root, *cur))
            except FileNotFoundError:
                unknown = True
                continue
            except OSError:
                return False
            if stat.S_ISLNK(st.st_mode):
                hops += 1
                link = os.readlink(os.path.join(self.root, *cur))
                if hops > MAX_HOPS or not link or link.startswith("/"):
                    return False
                cur.pop()
                todo.extendleft(reversed(link.split("/")))
            elif not stat.S_ISDIR(st.st_mode):
                unknown = True
        return True


# -- content: one pass per layer -------------------------------------------------------------------

class _HardlinkSources:
    """The regular-file member a hard link names: in the link's own layer, else the tree below it."""

    def __init__(self, analysis: ImageAnalysis):
        self.analysis = analysis
        self._by_layer: dict[int, dict[str, list[FileEntry]]] = {}

    def source(self, link: FileEntry, depth: int = 0) -> FileEntry | None:
        index = self._by_layer.get(link.layer)
        if index is None:
            index = defaultdict(list)
            for e in self.analysis.layers[link.layer].entries:
                if e.kind in (EntryKind.FILE, EntryKind.HARDLINK):
                    index[e.path].append(e)
            self._by_layer[link.layer] = index
        if depth > MAX_HOPS:
            return None
        earlier = [e for e in index.get(link.linkname or "", ()) if e.member < link.member]
        if earlier:  # a link to a link of the same layer is followed (the member order ends any loop)
            last = earlier[-1]
            return last if last.kind == EntryKind.FILE else self.source(last, depth + 1)
        if link.layer == 0:
            return None
        lower = self.analysis.tree_at(link.layer - 1).get(link.linkname or "")
        if lower is not None and lower.kind == EntryKind.FILE:
            return lower
        if lower is not None and lower.kind == EntryKind.HARDLINK:
            return self.source(lower, depth + 1)
        return None


def copy_layer(analysis: ImageAnalysis, layer: int, wanted: dict[int, list[Item]], writer: Writer) -> None:
    """Stream one layer blob once, through the parser the scan used, and write every wanted member
    (by position) to its targets."""
    tally = writer.tally
    done: set[int] = set()
    ref = analysis.layers[layer].ref
    try:
        blob = analysis.source.open_layer(ref)
    except Exception as exc:  # noqa: BLE001 - a missing blob skips its files, the rest is written
        reason = f"layer {layer} cannot be opened ({safe(str(exc))})"
    else:
        reason = f"layer {layer} ends before it"
        stream = LayerStream(blob)
        try:
            tar = TarHeaders(stream.reader)
            for position, member in enumerate(tar):
                if position in wanted:
                    _write_member(tar, member, wanted[position], writer)
                    done.add(position)
                    if len(done) == len(wanted):
                        break
        except READ_ERRORS as exc:
            cause = stream.error or exc
            reason = f"layer {layer} cannot be read ({safe(str(cause) or type(cause).__name__)})"
        finally:
            stream.close()
    for position, items in wanted.items():
        if position not in done:
            for item in items:
                tally.skip(item.rel, reason, failed=True)


def _write_member(tar: TarHeaders, member: Member, items: list[Item], writer: Writer) -> None:
    """Stream one member into the first item that can be created, then copy that file to every other
    item (two fds at most, linear in the links); read errors propagate, a partial file is removed."""
    if not member.isreg():
        for item in items:
            writer.tally.skip(item.rel, "the layer changed since it was read (member is not a file)", failed=True)
        return
    first: Item | None = None
    fd = -1
    rest = list(items)
    while rest and fd < 0:
        item = rest.pop(0)
        try:
            fd = writer.create_file(item.rel)
            first = item
        except CannotCreate as exc:
            writer.tally.skip(item.rel, f"cannot be created ({exc})", exc.failed)
    if first is None:
        return
    sha = hashlib.sha256()
    _write_file(writer, first, fd, tar.read, member.size, sha)
    digest = sha.hexdigest()
    if rest:
        _copy_to(writer, first, rest, member.size)
    for item in [first, *rest]:
        if item.entry.digest and item.entry.digest != digest:
            writer.tally.warnings.append(f"{safe('/'.join(item.rel))}: content differs from the first read "
                                         "of the layer (did the blob change?)")


def _copy_to(writer: Writer, first: Item, items: list[Item], size: int) -> None:
    """Copy the file just written at `first` to each item (the image's hard links to it), one at a
    time: two fds open at most, time linear in the bytes written; MAX_HARD_LINKS copies at most."""
    src = os.open(first.rel[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=writer.dir_fd(first.rel[:-1]))
    try:
        for n, item in enumerate(items):
            if n + 1 >= MAX_HARD_LINKS:
                writer.tally.skip(item.rel, f"over {MAX_HARD_LINKS} hard links to {safe('/'.join(first.rel))}",
                                  failed=True)
                continue
            try:
                fd = writer.create_file(item.rel)
            except CannotCreate as exc:
                writer.tally.skip(item.rel, f"cannot be created ({exc})", exc.failed)
                continue
            at = 0

            def read(k: int) -> bytes:
                nonlocal at
                chunk = os.pread(src, k, at)
                at += len(chunk)
                return chunk

            _write_file(writer, item, fd, read, size)
    finally:
        os.close(src)


def _write_file(writer: Writer, item: Item, fd: int, read, size: int, sha=None) -> None:
    """Write `size` bytes from `read(n)` into the new file `fd`, then its mode and time; the fd is
    closed, and a partial file removed (read errors propagate)."""
    try:
        left = size
        while left > 0:
            chunk = read(min(CHUNK, left))
            if not chunk:
                raise EOFError(f"content ends after {size - left} of {size} bytes")
            if sha is not None:
                sha.update(chunk)
            _write_all(fd, chunk, writer.where(item.rel))
            left -= len(chunk)
        _finish_file(fd, item.entry, writer.where(item.rel), writer.tally)
    except BaseException:
        os.close(fd)
        writer.remove_file(item.rel)
        raise
    os.close(fd)
    writer.tally.files += 1


def _write_all(fd: int, data: bytes, where: str) -> None:
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view):]
    except OSError as exc:
        raise ExplorerError(f"{where}: cannot write ({exc.strerror or exc})") from None


MAX_TIME = (1 << 63) // 10 ** 9
"""Docker's boundTime: a time before 1970 or past what a 64-bit nanosecond count holds is written
as 0 (1970-01-01)."""


def _mtime(entry: FileEntry) -> int:
    return entry.mtime if 0 <= entry.mtime <= MAX_TIME else 0


def _set_mtime(fd: int, entry: FileEntry, where: str, tally: Tally) -> None:
    mtime = _mtime(entry)
    try:
        os.utime(fd, (mtime, mtime))
    except (OSError, OverflowError, ValueError) as exc:
        tally.warnings.append(f"{safe(where)}: written, but its time {entry.mtime} cannot be set ({safe(str(exc))})")


def _finish_file(fd: int, entry: FileEntry, where: str, tally: Tally) -> None:
    """Permission bits without setuid/setgid/sticky (owner may always read and write), and mtime."""
    try:
        os.fchmod(fd, (entry.mode & 0o777) | 0o600)
    except OSError as exc:
        raise ExplorerError(f"{where}: cannot set mode ({exc.strerror or exc})") from None
    _set_mtime(fd, entry, where, tally)


# -- the command -----------------------------------------------------------------------------------

def extract(analysis: ImageAnalysis, plan: Plan, tally: Tally) -> None:
    """Write the plan: folders, then file contents layer by layer, then symlinks, then folder modes."""
    _check_free(plan)
    if plan.create_root:
        try:
            os.mkdir(plan.root, 0o700)
        except OSError as exc:
            raise ExplorerError(f"{plan.root}: cannot create ({exc.strerror})") from None
        tally.dirs += 1
    writer = Writer(plan.root, tally)
    try:
        dirs: list[Item] = []
        by_layer: dict[int, dict[int, list[Item]]] = defaultdict(lambda: defaultdict(list))
        links: list[Item] = []
        sources = _HardlinkSources(analysis)
        failed: set[tuple[str, ...]] = set()
        """Folders that could not be created: nothing below them is tried."""
        for item in plan.items:
            kind = item.entry.kind
            if any(item.rel[:n] in failed for n in range(1, len(item.rel))):
                tally.skip(item.rel, "its folder could not be created")
            elif _has_nul(item.rel):
                failed.add(item.rel)
                tally.skip(item.rel, "its name holds a NUL byte, which no file system allows")
            elif kind == EntryKind.DIR:
                try:
                    if writer.mkdir(item.rel):
                        tally.dirs += 1
                        dirs.append(item)
                except CannotCreate as exc:
                    failed.add(item.rel)
                    tally.skip(item.rel, f"cannot be created ({exc})", exc.failed)
            elif kind == EntryKind.FILE:
                by_layer[item.entry.layer][item.entry.member].append(item)
            elif kind == EntryKind.HARDLINK:
                src = sources.source(item.entry)
                if src is None:
                    tally.skip(item.rel, f"hard link to {safe(item.entry.linkname or '')}, "
                                         "which its layer does not hold")
                else:
                    by_layer[src.layer][src.member].append(item)
            elif kind == EntryKind.SYMLINK:
                links.append(item)
            else:
                tally.skip(item.rel, f"{kind.value} nodes are never created")
        for layer in sorted(by_layer):
            copy_layer(analysis, layer, by_layer[layer], writer)
        for item in links:
            target = item.entry.linkname or ""
            if "\x00" in target:
                tally.skip(item.rel, "its target holds a NUL byte, which no file system allows")
            elif writer.resolves_inside(item.rel, target):
                try:
                    writer.symlink(item.rel, target)
                    tally.symlinks += 1
                except CannotCreate as exc:
                    tally.skip(item.rel, f"cannot be created ({exc})", exc.failed)
            else:
                tally.skip(item.rel, f"symlink to {safe(target)} leads outside {safe(plan.root)}")
        for item in reversed(dirs):
            writer.finish_dir(item.rel, item.entry)
        if plan.create_root and plan.root_entry is not None:
            writer.finish_dir((), plan.root_entry)
    finally:
        writer.close()


def new_file(folder: str, names: list[str], data: bytes) -> str:
    """Write `data` as a new file in `folder` (made if missing), under the first of `names` that does not
    exist yet (a report: explorer-report.sarif, explorer-report-2.sarif…); returns its path. Through the
    Writer: no symlink followed below `folder`, nothing overwritten."""
    folder = os.path.realpath(os.path.expanduser(folder))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise ExplorerError(f"{folder}: cannot make the folder ({exc.strerror})") from None
    writer = Writer(folder, Tally())
    try:
        for name in names:
            try:
                fd = writer.create_file((name,))
            except ExplorerError:  # exists: the next name
                continue
            where = writer.where((name,))
            try:
                _write_all(fd, data, where)
            except BaseException:
                os.close(fd)
                writer.remove_file((name,))
                raise
            os.close(fd)
            return where
    except CannotCreate as exc:
        raise ExplorerError(f"{folder}: cannot write there ({exc})") from None
    finally:
        writer.close()
    raise ExplorerError(f"{folder}: {names[0]} and {len(names) - 1} other names exist already")
