"""Account files: a second uid-0 user, accounts without a password, sudoers rules that give away root."""

from __future__ import annotations

import re
from typing import Iterable

from explorer.detectors.base import FileDetector
from explorer.detectors.heuristics._paths import active_lines, text_lines
from explorer.core.rules import RuleInfo
from explorer.core.findings import Match
from explorer.core.model import FileEntry

UID0 = RuleInfo("backdoor.accounts.second-uid0", "backdoor", "high", "Second account with uid 0",
                "An account other than root has uid 0 in /etc/passwd: a root login under another name.")
EMPTY_PASSWORD = RuleInfo("backdoor.accounts.empty-password", "backdoor", "high", "Account with an empty password",
                          "An empty password field in /etc/shadow or /etc/passwd lets anyone log in or `su` "
                          "without a password (`*`, `!` and `!!` are locked, not empty).")
NOPASSWD_ALL = RuleInfo("backdoor.accounts.sudoers-nopasswd", "backdoor", "medium",
                        "sudoers grants everything without a password",
                        "A sudoers rule gives a user or group other than root every command with NOPASSWD.")
SUDOERS_RULE = RuleInfo("backdoor.accounts.sudoers-rule", "backdoor", "info", "sudoers rule added",
                        "A sudoers rule for a user or group other than the stock root/%sudo/%admin/%wheel ones.")

_LOCKED = ("*", "!", "x")
_MASK_AFTER = 4


def _masked_line(fields: list[str]) -> str:
    """The passwd/shadow line with the password field replaced by a marker."""
    shown = list(fields)
    if len(shown) > 1 and shown[1] and not shown[1].startswith(_LOCKED):
        shown[1] = shown[1][:_MASK_AFTER] + "****"
    elif len(shown) > 1 and not shown[1]:
        shown[1] = "<empty>"
    return ":".join(shown)


class PasswdAccounts(FileDetector):
    """/etc/passwd: uid 0 for anyone but root; an empty password field (no shadow lookup at all)."""

    name = "heuristic-passwd"
    RULES = (UID0, EMPTY_PASSWORD)

    def wants(self, entry: FileEntry) -> bool:
        return entry.path == "/etc/passwd" and entry.size > 0

    def scan(self, entry: FileEntry, data: bytes) -> Iterable[Match]:
        for number, line in active_lines(data):
            fields = line.split(":")
            if len(fields) < 7:
                continue
            user, password, uid = fields[0], fields[1], fields[2].strip()
            if uid == "0" and user != "root":
                yield UID0.match(_masked_line(fields), line=number)
            if password == "":
                yield EMPTY_PASSWORD.match(_masked_line(fields), line=number,
                                           severity="high" if uid == "0" or user == "root" else "medium")


class ShadowPasswords(FileDetector):
    """/etc/shadow: an empty hash field (`*`, `!`, `!!`, `!*` are locked accounts and fine).

    It also reads /etc/passwd (which tars list first, and lower layers hold earlier) to know which
    accounts have uid 0: an empty password on any of them is high, not only on `root`."""

    name = "heuristic-shadow"
    RULES = (EMPTY_PASSWORD,)

    def __init__(self) -> None:
        self._uid0 = {"root"}

    def wants(self, entry: FileEntry) -> bool:
        return entry.path in ("/etc/shadow", "/etc/passwd") and entry.size > 0

    def scan(self, entry: FileEntry, data: bytes) -> Iterable[Match]:
        if entry.path == "/etc/passwd":
            for _number, line in active_lines(data):
                fields = line.split(":")
                if len(fields) >= 3 and fields[2].strip() == "0":
                    self._uid0.add(fields[0])
            return
        for number, line in active_lines(data):
            fields = line.split(":")
            if len(fields) >= 2 and fields[1] == "":
                yield EMPTY_PASSWORD.match(_masked_line(fields), line=number,
                                           severity="high" if fields[0] in self._uid0 else "medium")


_STOCK_SUBJECTS = frozenset({"root", "%sudo", "%admin", "%wheel"})
_NOT_RULES = re.compile(r"^(?:Defaults\b|(?:User|Runas|Host|Cmnd|Cmd)_Alias\b|@include|#include)")


def _sudoers_statements(data: bytes) -> Iterable[tuple[int, str]]:
    """Statements with `\\` continuations joined, comments dropped (`#include` is a directive)."""
    pending, start = "", 0
    for number, line in text_lines(data):
        stripped = line.strip()
        if not pending and (not stripped or (stripped.startswith("#") and not stripped.startswith("#include"))):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        yield start, pending + stripped
        pending = ""
    if pending:
        yield start, pending


_NOPASSWD = re.compile(r"\bNOPASSWD\s*:")
_RUNAS = re.compile(r"\([^)]{0,1024}\)")
"""A Runas list `(root : wheel)`; bounded, so that many `(` with no `)` after them cost one read each."""
_TAG = re.compile(r"\b[A-Z_]+\s*:")


def _commands_grant_all(spec: str) -> bool:
    """True when the command part (after `=`) carries NOPASSWD and the command ALL."""
    if not _NOPASSWD.search(spec):
        return False
    tail = _RUNAS.sub(" ", spec.split("NOPASSWD", 1)[1].lstrip(" :"))
    tail = _TAG.sub(" ", tail)
    return any(command.strip() == "ALL" for command in tail.split(","))


class SudoersRules(FileDetector):
    """/etc/sudoers and /etc/sudoers.d/*: NOPASSWD: ALL for anyone but root; other non-stock rules (info)."""

    name = "heuristic-sudoers"
    RULES = (NOPASSWD_ALL, SUDOERS_RULE)

    def wants(self, entry: FileEntry) -> bool:
        return (entry.path == "/etc/sudoers" or entry.path.startswith("/etc/sudoers.d/")) and 0 < entry.size

    def scan(self, entry: FileEntry, data: bytes) -> Iterable[Match]:
        for number, statement in _sudoers_statements(data):
            if _NOT_RULES.match(statement) or "=" not in statement:
                continue
            subject = statement.split(None, 1)[0]
            if subject == "root":
                continue
            if _commands_grant_all(statement.split("=", 1)[1]):
                yield NOPASSWD_ALL.match(statement, line=number)
            elif subject not in _STOCK_SUBJECTS:
                yield SUDOERS_RULE.match(statement, line=number)
