"""User secret rules (`scan --secret-rules FILE`): a gitleaks configuration file (TOML), read as gitleaks
documents it, run beside the built-in secret rules.

What is read, per `[[rules]]`: `id`, `description`, `regex` (Go RE2 syntax, translated where Python's
`re` spells it otherwise; every unbounded repetition bounded as the built-in rules are), `secretGroup`
(else the first group that matched, else the whole match, as gitleaks does), `entropy`, `keywords`
(the rule runs only on texts holding one, any case; none: every text), `path` (the rule runs only on
files whose path it finds), and the rule's allowlists (`[rules.allowlist]` or `[[rules.allowlists]]`:
`regexes` with `regexTarget` secret/match/line, `paths`, `stopwords`, `condition` OR/AND). The global
`[allowlist]` / `[[allowlists]]` (with `targetRules`) applies to the built-in rules too. Keys of ours
that gitleaks ignores: `severity` (default `high`) and `title` per rule. `commits`, `[extend]` and
path-only rules (no `regex`) have no meaning for an image and are ignored with a warning.

A user rule's finding is `secret.user.<id>`; a secret a built-in rule already reported is left to it.
A file that cannot be read or parsed is bad input (one line, exit 2); a rule whose regex Python cannot
compile is left out with a warning naming it.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass

from explorer.detectors.secret_rules import SecretRule, bounded
from explorer.core.errors import ExplorerError
from explorer.core.findings import SEVERITIES
from explorer.core.textsafe import safe

PREFIX = "secret.user."
MAX_RULES = 2000
MAX_FILE = 4 << 20

_POSIX = {"alnum": "a-zA-Z0-9", "alpha": "a-zA-Z", "digit": "0-9", "xdigit": "0-9a-fA-F", "upper": "A-Z",
          "lower": "a-z", "space": r"\s", "word": r"\w", "punct": r"!-/:-@\[-`{-~", "blank": r" \t",
          "cntrl": r"\x00-\x1f\x7f", "print": r" -~", "graph": r"!-~", "ascii": r"\x00-\x7f"}


def python_regex(go: str) -> str:
    """A Go (RE2) pattern spelled for Python's `re`: POSIX classes, `\\z`, `(?s:…)`-style flags
    placed where Python accepts them (a flag group `(?i)` after the start applies to the whole
    pattern, as Python allows flags only there)."""
    text = re.sub(r"\[:(\w+):\]", lambda m: _POSIX.get(m.group(1), m.group(0)), go)
    text = text.replace(r"\z", r"\Z")
    flags = ""
    def lift(m: re.Match) -> str:
        nonlocal flags
        flags += "".join(f for f in m.group(1) if f not in flags)
        return ""
    text = re.sub(r"\(\?([imsU]+)\)", lift, text)
    flags = flags.replace("U", "")  # RE2's ungreedy swap has no Python spelling; rare in rule sets
    return (f"(?{flags})" if flags else "") + text


@dataclass(frozen=True)
class Allow:
    """One gitleaks allowlist: a match is allowed (dropped) when any (OR) or all (AND) of its
    conditions that are set hold."""

    description: str = ""
    regexes: tuple[re.Pattern[bytes], ...] = ()
    target: str = "secret"
    paths: tuple[re.Pattern[str], ...] = ()
    stopwords: tuple[str, ...] = ()
    condition: str = "OR"
    rules: frozenset[str] = frozenset()
    """targetRules (global allowlists): the rule ids it applies to, user ids as written; empty: all."""

    def applies(self, rule_id: str) -> bool:
        return not self.rules or rule_id in self.rules or rule_id.removeprefix(PREFIX) in self.rules

    def allows(self, path: str | None, secret: bytes, match: bytes, line: bytes) -> bool:
        checks = []
        if self.regexes:
            target = {"match": match, "line": line}.get(self.target, secret)
            checks.append(any(r.search(target) for r in self.regexes))
        if self.paths:
            checks.append(path is not None and any(p.search(path) for p in self.paths))
        if self.stopwords:
            lowered = secret.decode("utf-8", "replace").lower()
            checks.append(any(word in lowered for word in self.stopwords))
        if not checks:
            return False
        return all(checks) if self.condition == "AND" else any(checks)


@dataclass(frozen=True)
class UserRules:
    rules: tuple[SecretRule, ...] = ()
    allows: tuple[Allow, ...] = ()
    """The global allowlists (they apply to the built-in rules too); each rule's own are its `allow`."""
    warnings: tuple[str, ...] = ()
    digest: str = ""
    """sha256 of the file's bytes (part of the rule-set hash, so a changed file never reuses the cache)."""

    def allowed(self, rule_id: str, path: str | None, secret: bytes, match: bytes, line: bytes) -> bool:
        return any(a.applies(rule_id) and a.allows(path, secret, match, line) for a in self.allows)


def allowing(rule_id: str, allows: list[Allow]):
    """A rule's `SecretRule.allow` from its allowlists: allow(path, secret, match, line) is True when one
    that applies to the rule drops the match; None when it has none."""
    if not allows:
        return None

    def allow(path: str | None, secret: bytes, match: bytes, line: bytes) -> bool:
        return any(a.applies(rule_id) and a.allows(path, secret, match, line) for a in allows)
    return allow


def _strings(value, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} must be a list of strings")
    return value


def _compile(pattern: str, what: str, flags: int = 0) -> re.Pattern[bytes]:
    try:
        return re.compile(bounded(python_regex(pattern).encode("utf-8")), flags)
    except (re.error, OverflowError) as exc:
        raise ValueError(f"{what}: {exc}") from None


def _allow(doc, what: str) -> Allow:
    if not isinstance(doc, dict):
        raise ValueError(f"{what} must be a table")
    target = doc.get("regexTarget", "secret")
    condition = str(doc.get("condition", "OR")).upper()
    if target not in ("secret", "match", "line") or condition not in ("OR", "AND"):
        raise ValueError(f"{what}: regexTarget must be secret/match/line and condition OR/AND")
    paths = []
    for p in _strings(doc.get("paths"), f"{what}.paths"):
        try:
            paths.append(re.compile(python_regex(p)))
        except re.error as exc:
            raise ValueError(f"{what}.paths: {exc}") from None
    return Allow(description=str(doc.get("description", "")),
                 regexes=tuple(_compile(r, f"{what}.regexes") for r in _strings(doc.get("regexes"), f"{what}.regexes")),
                 target=target, paths=tuple(paths),
                 stopwords=tuple(w.lower() for w in _strings(doc.get("stopwords"), f"{what}.stopwords")),
                 condition=condition,
                 rules=frozenset(_strings(doc.get("targetRules"), f"{what}.targetRules")))


def _allowlists(doc: dict, single: str, many: str, what: str) -> list[Allow]:
    found = []
    if single in doc:
        found.append(_allow(doc[single], f"{what}.{single}"))
    items = doc.get(many, [])
    if not isinstance(items, list):
        raise ValueError(f"{what}.{many} must be an array of tables")
    found += [_allow(item, f"{what}.{many}[{i}]") for i, item in enumerate(items)]
    return found


def _rule(doc: dict, index: int, warnings: list[str]) -> SecretRule | None:
    rid = doc.get("id")
    if not isinstance(rid, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", rid):
        raise ValueError(f"rules[{index}]: `id` must be a name of letters, digits, `.`, `_` and `-`")
    what = f"rule {rid}"
    regex = doc.get("regex")
    if regex is None:
        warnings.append(f"{what}: no regex (path-only rules are not supported): left out")
        return None
    if not isinstance(regex, str):
        raise ValueError(f"{what}: regex must be a string")
    try:
        compiled = _compile(regex, f"{what}: regex")
    except ValueError as exc:
        warnings.append(f"{exc}: left out")
        return None
    group = doc.get("secretGroup", 0)
    if not isinstance(group, int) or group < 0 or group > compiled.groups:
        raise ValueError(f"{what}: secretGroup {group!r} is not a group of its regex")
    severity = doc.get("severity", "high")
    if severity not in SEVERITIES:
        raise ValueError(f"{what}: severity must be one of {', '.join(SEVERITIES)}")
    entropy = doc.get("entropy", 0.0)
    if not isinstance(entropy, (int, float)) or isinstance(entropy, bool):
        raise ValueError(f"{what}: entropy must be a number")
    path = doc.get("path")
    try:
        path_re = re.compile(python_regex(path)) if isinstance(path, str) and path else None
    except re.error as exc:
        raise ValueError(f"{what}: path: {exc}") from None
    keywords = tuple(k.lower().encode("utf-8") for k in _strings(doc.get("keywords"), f"{what}.keywords") if k)
    description = str(doc.get("description", "") or rid)
    rule = SecretRule(id=PREFIX + rid, title=str(doc.get("title", "") or description)[:200], severity=severity,
                      regex=compiled, keywords=keywords or (b"",), description=description,
                      group=str(group) if group else ("1" if compiled.groups else "0"), entropy=float(entropy),
                      path=path_re, binary=False, fallback=True,
                      allow=allowing(PREFIX + rid, _allowlists(doc, "allowlist", "allowlists", what)))
    return rule


def load(path: str) -> UserRules:
    """The rules and allowlists of a gitleaks configuration file; ExplorerError when it cannot be used."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE + 1)
    except OSError as exc:
        raise ExplorerError(f"--secret-rules {safe(path)}: {safe(exc.strerror or str(exc))}") from None
    if len(raw) > MAX_FILE:
        raise ExplorerError(f"--secret-rules {safe(path)}: larger than {MAX_FILE >> 20} MiB")
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
        warnings: list[str] = []
        if "extend" in doc:
            warnings.append("[extend] ignored: the built-in rules always run, other files are not read")
        items = doc.get("rules", [])
        if not isinstance(items, list) or len(items) > MAX_RULES:
            raise ValueError(f"[[rules]] must be an array of at most {MAX_RULES} tables")
        rules: list[SecretRule] = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise ValueError(f"rules[{index}] must be a table")
            rule = _rule(item, index, warnings)
            if rule is None:
                continue
            if any(r.id == rule.id for r in rules):
                raise ValueError(f"rule {rule.id.removeprefix(PREFIX)} is defined twice")
            rules.append(rule)
        allows = _allowlists(doc, "allowlist", "allowlists", "the file")
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError) as exc:
        raise ExplorerError(f"--secret-rules {safe(path)}: {safe(' '.join(str(exc).split()))}"[:400]) from None
    return UserRules(tuple(rules), tuple(allows), tuple(warnings), hashlib.sha256(raw).hexdigest())
