"""Reading shell command lines (cron entries, rc files, unit Exec lines, RUN lines) without running them.

Two questions are asked: does the line fetch something from the network and execute it, and which
programs does it start (the first word of each command, after wrappers like `nohup` or `sh -c`)?

Lines come from hostile images and can be megabytes long: everything here is linear in the line
(split into commands first, then anchored or bounded patterns per command), never a regex whose
unbounded repetition could be retried from every position.
"""

from __future__ import annotations

import posixpath
import re
import shlex

_SHELLS = r"(?:/usr)?(?:/bin/)?(?:ba|da|z|k|a|c|tc|fi)?sh"
_COMMAND_SPLIT = re.compile(r"(&&|\|\||[;|&\n])")
"""Splits a line into commands, keeping the separators (odd indexes)."""
_FETCH_WORD = re.compile(r"\b(?:curl|wget|fetch)\b|\bpython3?\s+-c\s+\S*urllib")
_INTERPRETER = re.compile(r"\s*(?:sudo\s+(?:-\S+\s+){0,4})?(?:env\s+(?:(?=\S+=)\S+\s+){0,8})?(?:"
                          + _SHELLS + r"|(?:/usr/bin/)?(?:python[0-9.]*|perl|ruby|php|node))(?![\w.])")
_SUBST_EXEC = re.compile(_SHELLS + r"\s+(?:-\S{1,10}\s+){0,4}[\"']?(?:<\(|\$\(|`)\s*(?:curl|wget)\b")
_EVAL_FETCH = re.compile(r"\beval\s+[\"']?(?:\$\(|`)\s*(?:curl|wget)\b")
_DEV_TCP = re.compile(r"/dev/(?:tcp|udp)/[^/\s\"']{1,255}/\d+")
_EXEC_MODE = re.compile(r"^(?:[0-7]*+(?<=[1357])|[0-7]*[1357][0-7]{1,2}|[ugoa]*+[+=](?=[rwXst]*+x)[rwxXst]*+)$")
"""Modes that set an execute bit. Each word is read once: `[rwxXst]*x[rwxXst]*` tried every place
for its `x` (quadratic on a long word)."""
_SEPARATORS = re.compile(r"&&|\|\||[;|&\n`]|\$\(|<\(|\(|\)")
_WRAPPERS = frozenset({"nohup", "exec", "setsid", "sudo", "nice", "ionice", "env", "command", "builtin",
                       "time", "doas", "su", "chroot", "stdbuf", "xargs", "screen", "tmux", "start-stop-daemon",
                       "-c", "-d", "-dm", "-dmS", "-n", "-b", "-s", "--", ".", "source", "then", "do", "else",
                       "if", "while", "until", "!", "{"})
_SHELL_NAMES = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ash", "busybox", "python", "python3", "perl"})
_CRON_FIELD = re.compile(r"^(?:[\d*/,\-]+|(?:[A-Za-z]{3}[,\-]?)+)$")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_FLAG_OR_NUMBER = re.compile(r"-\S*|\d+[smhd]?")


def _first_program(words: list[str]) -> int | None:
    """Index of the first word after assignments, wrappers, interpreters and their flags."""
    for index, word in enumerate(words):
        last = index == len(words) - 1
        if _ASSIGNMENT.match(word) and not word.startswith("/"):
            continue
        if word in _WRAPPERS or (not last and (word.rsplit("/", 1)[-1] in _SHELL_NAMES
                                               or _FLAG_OR_NUMBER.fullmatch(word))):
            continue
        return index
    return None


def _chmod_targets(words: list[str]) -> set[str]:
    """Base names a `chmod` command makes executable."""
    rest = words[1:]
    while rest and rest[0].startswith("-"):
        rest = rest[1:]
    if not rest or not _EXEC_MODE.match(rest[0]):
        return set()
    return {posixpath.basename(word.rstrip("/")) for word in rest[1:] if word and not word.startswith("-")}


def download_exec(line: str) -> str | None:
    """A short description when the line downloads and executes, else None."""
    if _SUBST_EXEC.search(line) or _EVAL_FETCH.search(line):
        return "shell runs downloaded text"
    parts = _COMMAND_SPLIT.split(line)
    commands, separators = parts[0::2], parts[1::2]
    fetched, executable = False, set()
    for index, command in enumerate(commands):
        fetches = _FETCH_WORD.search(command) is not None
        if fetches and index < len(separators) and separators[index] == "|" \
                and _INTERPRETER.match(commands[index + 1]):
            return "download piped to an interpreter"
        words = command.split()
        start = _first_program(words)
        if fetched and start is not None:
            if words[start] == "chmod":
                executable |= _chmod_targets(words[start:])
            elif posixpath.basename(words[start]) in executable:
                return "download, chmod +x and run"
        fetched = fetched or fetches
    return None


def dev_tcp(line: str) -> str | None:
    found = _DEV_TCP.search(line)
    return found.group(0) if found else None


def _words(segment: str) -> list[str]:
    try:
        return shlex.split(segment, comments=False, posix=True)
    except ValueError:
        return segment.replace('"', " ").replace("'", " ").split()


def programs(line: str, *, cron: bool = False, cron_user: bool = False, _depth: int = 0) -> list[str]:
    """The programs the line starts: first word of each command after wrappers and assignments.

    With cron=True the schedule (five fields or one `@word`) is skipped first, and with cron_user=True
    also the user field of system crontabs (/etc/crontab, /etc/cron.d). `cd DIR && ./x` gives DIR/x.
    """
    out: list[str] = []
    cwd = ""
    for index, segment in enumerate(_SEPARATORS.split(line)):
        words = _words(segment)
        if cron and index == 0:
            if words and words[0].startswith("@"):
                words = words[1:]
            elif len(words) > 5 and all(_CRON_FIELD.match(w) for w in words[:5]):
                words = words[5:]
            if cron_user and words:
                words = words[1:]
        start = _first_program(words)
        if start is not None and words[start] == "cd":
            cwd = words[start + 1] if start + 1 < len(words) else ""
        elif start is not None:
            program = words[start]
            out.append(posixpath.normpath(posixpath.join(cwd, program)) if cwd and program.startswith("./")
                       else program)
        # `sh -c "…"` keeps its command in one word: look inside it too
        if _depth < 3:
            out.extend(found for word in words if " " in word for found in programs(word, _depth=_depth + 1))
    return out
