"""Where explorer keeps files between runs and reads its settings: one function per folder, used by
every caller (the layer cache, the compiled YARA rules, the demo image; the settings file), and the
checks every file kept there passes before it is trusted (`usable_folder`, `open_file`, `check_file`:
not a symlink, this user's, not writable by others; see explorer.scan.cache's module doc)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

CACHE_ENV = "EXPLORER_CACHE_DIR"


def cache_dir() -> Path:
    """$EXPLORER_CACHE_DIR, else $XDG_CACHE_HOME/explorer, else ~/.cache/explorer: the one folder
    of every file explorer keeps between runs (layer results, compiled rules, the demo image)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "explorer"


def config_dir() -> Path:
    """$XDG_CONFIG_HOME/explorer, else ~/.config/explorer: the folder of the user's config.toml and of the UI's
    remembered settings (ui.json)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "explorer"


class UnsafeCache(OSError):
    """The cache folder or a file in it is not safe to trust (a symlink, someone else's, writable by others)."""


def usable_folder(folder: str | os.PathLike | None = None) -> Path:
    """The cache folder (default `cache_dir()`), made with mode 0700 when missing; UnsafeCache
    when it is a symlink, not a folder, not this user's, or writable by others (see the module doc)."""
    path = Path(folder) if folder is not None else cache_dir()
    if not os.path.lexists(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass  # another run made it meanwhile: checked below like any folder
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeCache(f"cache folder {path} is a symbolic link")
    if not stat.S_ISDIR(info.st_mode):
        raise UnsafeCache(f"cache folder {path} is not a folder")
    if info.st_uid != os.geteuid():
        raise UnsafeCache(f"cache folder {path} belongs to user {info.st_uid}, not to this user")
    if info.st_mode & stat.S_IWOTH or (info.st_mode & stat.S_IWGRP and not _own_group(info.st_gid)):
        raise UnsafeCache(f"cache folder {path} is writable by others (mode {stat.S_IMODE(info.st_mode):o})")
    return path


def _own_group(gid: int) -> bool:
    """Is `gid` this user's private group (their primary group, with no other member)? ssh accepts
    a group-writable ~/.ssh then (Debian's user-group-modes), and so do we."""
    import grp
    import pwd

    try:
        user = pwd.getpwuid(os.geteuid())
        group = grp.getgrgid(gid)
    except KeyError:
        return False
    return gid == user.pw_gid and set(group.gr_mem) <= {user.pw_name}


def open_file(path: str | os.PathLike, flags: int = os.O_RDONLY, mode: int = 0o600) -> int:
    """A descriptor of `path` in the cache folder, opened without following a symlink; UnsafeCache
    when it is a symlink or not a regular file of this user."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as exc:
        if os.path.islink(path):
            raise UnsafeCache(f"cache file {path} is a symbolic link") from None
        raise exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeCache(f"cache file {path} is not a regular file")
        if info.st_uid != os.geteuid():
            raise UnsafeCache(f"cache file {path} belongs to user {info.st_uid}, not to this user")
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_file(path: str | os.PathLike) -> bool:
    """Does `path` in the cache folder exist? UnsafeCache when it is a symlink or not a regular file
    of this user (for files others open: SQLite's companions, compiled rules, the demo image)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(info.st_mode):
        raise UnsafeCache(f"cache file {path} is a symbolic link")
    if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
        raise UnsafeCache(f"cache file {path} is not a regular file of this user")
    return True
