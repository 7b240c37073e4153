"""Path and text helpers shared by the heuristics: temporary and hidden places, line iteration."""

from __future__ import annotations

import posixpath
from typing import Iterator

TEMP_DIRS = ("/tmp/", "/var/tmp/", "/dev/shm/")

TOOL_DOT_DIRS = frozenset({
    ".cache", ".local", ".config", ".cargo", ".rustup", ".npm", ".nvm", ".node-gyp", ".yarn", ".pnpm-store",
    ".pyenv", ".rbenv", ".gem", ".bundle", ".m2", ".gradle", ".ivy2", ".sbt", ".sdkman", ".dotnet", ".nuget",
    ".vscode-server", ".vscode", ".git", ".github", ".gitlab", ".deno", ".bun", ".volta", ".asdf", ".venv",
    ".conda", ".linuxbrew", ".libs", ".mozilla", ".ssh", ".gnupg", ".oh-my-zsh", ".krew", ".kube", ".docker",
    ".composer", ".pub-cache", ".julia", ".ghcup", ".cabal", ".stack", ".opam", ".nix-profile", ".jupyter",
    ".ipython", ".build-id", ".bin", ".pnpm", ".husky", ".circleci", ".devcontainer", ".buildkite", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".hg", ".svn", ".idea", ".terraform",
    ".terraform.d", ".ansible", ".pki", ".dbus", ".emacs.d", ".vim", ".wine", ".meteor", ".expo", ".android",
})
"""Dot-directories that developer tools create in home folders and projects: not hiding places."""


def in_temp(path: str) -> bool:
    return path.startswith(TEMP_DIRS)


def temp_dir_of(path: str) -> str | None:
    return next((d.rstrip("/") for d in TEMP_DIRS if path.startswith(d)), None)


def hidden_part(path: str, *, include_name: bool = True) -> str | None:
    """The first path component that starts with a dot and is no known tool directory, else None."""
    if "/." not in path and not path.startswith("."):
        return None  # the common case, without splitting
    parts = [p for p in posixpath.normpath(path).split("/") if p]
    if not include_name:
        parts = parts[:-1]
    for part in parts:
        if part.startswith(".") and part not in (".", "..") and part not in TOOL_DOT_DIRS:
            return part
    return None


def split_home(path: str) -> tuple[str, str] | None:
    """(home folder, rest) for paths under /root or /home/USER, else None."""
    if path.startswith("/root/"):
        return "/root", path[len("/root/"):]
    if path.startswith("/home/"):
        user, _, rest = path[len("/home/"):].partition("/")
        if user and rest:
            return f"/home/{user}", rest
    return None


def text_lines(data: bytes) -> Iterator[tuple[int, str]]:
    """(1-based line number, line) of a text file, undecodable bytes replaced."""
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        yield number, line


def active_lines(data: bytes, comment: str = "#") -> Iterator[tuple[int, str]]:
    """Lines that are neither blank nor comments, stripped."""
    for number, line in text_lines(data):
        stripped = line.strip()
        if stripped and not stripped.startswith(comment):
            yield number, stripped
