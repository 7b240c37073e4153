"""Reading shell command lines (cron entries, rc files, unit Exec lines, RUN lines) without running them.

Two questions are asked: does the line fetch something from the network and execute it, and which
programs does it start (the first word of each command, after wrappers like `nohup` or `sh -c`)?
"""

from __future__ import annotations

import posixpath
import re
import shlex

_SHELLS = r"(?:/usr)?(?:/bin/)?(?:ba|da|z|k|a|c|tc|fi)?sh"
_FETCH = r"\b(?:curl|wget|fetch|busybox\s+wget|python3?\s+-c\s+\S*urllib)\b"
_PIPE_TO_SHELL = re.compile(
    _FETCH + r"[^|;&\n]*\|\s*(?:sudo\s+(?:-\S+\s+)*)?(?:env\s+(?:\S+=\S*\s+)*)?"
    + r"(?:" + _SHELLS + r"|(?:/usr/bin/)?(?:python[0-9.]*|perl|ruby|php|node))\b(?!\.)")
_SUBST_EXEC = re.compile(_SHELLS + r"\s+(?:-\S+\s+)*[\"']?(?:<\(|\$\(|`)\s*(?:curl|wget)\b")
_EVAL_FETCH = re.compile(r"\beval\s+[\"']?(?:\$\(|`)\s*(?:curl|wget)\b")
_DEV_TCP = re.compile(r"/dev/(?:tcp|udp)/[^/\s\"']+/\d+")
_CHMOD_X = re.compile(r"\bchmod\s+(?:-\S+\s+)*(?:[0-7]*[1357][0-7]{0,2}|[ugoa]*\+[rwxXst]*x[rwxXst]*)\s+"
                      r"(?:[^\s;&|]+\s+)*?([^\s;&|\"']+)")
_SEPARATORS = re.compile(r"&&|\|\||[;|&\n`]|\$\(|<\(|\(|\)")
_WRAPPERS = frozenset({"nohup", "exec", "setsid", "sudo", "nice", "ionice", "env", "command", "builtin",
                       "time", "doas", "su", "chroot", "stdbuf", "xargs", "screen", "tmux", "start-stop-daemon",
                       "-c", "-d", "-dm", "-dmS", "-n", "-b", "-s", "--", ".", "source", "then", "do", "else",
                       "if", "while", "until", "!", "{"})
_SHELL_NAMES = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ash", "busybox", "python", "python3", "perl"})
_CRON_FIELD = re.compile(r"^(?:[\d*/,\-]+|(?:[A-Za-z]{3}[,\-]?)+)$")


def download_exec(line: str) -> str | None:
    """A short description when the line downloads and executes, else None."""
    if _PIPE_TO_SHELL.search(line):
        return "download piped to an interpreter"
    if _SUBST_EXEC.search(line) or _EVAL_FETCH.search(line):
        return "shell runs downloaded text"
    if re.search(r"\b(?:curl|wget)\b", line):
        for chmod in _CHMOD_X.finditer(line):
            target = chmod.group(1).rstrip("/")
            name = re.escape(target.rsplit("/", 1)[-1])
            after = line[chmod.end():]
            if name and re.search(r"(?:&&|;|\|\||\n|^)\s*(?:nohup\s+|setsid\s+|exec\s+|sudo\s+)*"
                                  r"(?:\S*/)?" + name + r"(?=[\s;&|'\"]|$)", after):
                return "download, chmod +x and run"
    return None


def dev_tcp(line: str) -> str | None:
    found = _DEV_TCP.search(line)
    return found.group(0) if found else None


def _words(segment: str) -> list[str]:
    try:
        return shlex.split(segment, comments=False, posix=True)
    except ValueError:
        return segment.replace('"', " ").replace("'", " ").split()


def programs(line: str, *, cron: bool = False, cron_user: bool = False) -> list[str]:
    """The programs the line starts: first word of each command after wrappers and assignments.

    With cron=True the schedule (five fields or one `@word`) is skipped first, and with cron_user=True
    also the user field of system crontabs (/etc/crontab, /etc/cron.d).
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
        while words:
            word = words[0]
            if "=" in word and not word.startswith(("/", "=")) and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", word):
                words = words[1:]
            elif word in _WRAPPERS or word.rsplit("/", 1)[-1] in _SHELL_NAMES and len(words) > 1:
                words = words[1:]
            elif re.fullmatch(r"-\S*|\d+[smhd]?", word) and len(words) > 1:
                words = words[1:]
            else:
                break
        if words and words[0] == "cd" and len(words) > 1:
            cwd = words[1]
        elif words:
            out.append(posixpath.normpath(posixpath.join(cwd, words[0])) if cwd and words[0].startswith("./") else words[0])
        # `sh -c "…"` keeps its command in one word: look inside it too
        for word in words[1:]:
            if " " in word:
                out.extend(programs(word))
    return out
