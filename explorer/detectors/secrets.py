"""Secret detectors: file contents, image config (ENV, labels) and history lines.

All three run the rule table of `secret_rules` through one engine (`RuleSet.scan`): the keywords'
occurrences (one YARA pass; for file contents the YARA detector's own pass, whose rule set holds the
keyword rules), the regex of each rule whose keyword occurs, run near those occurrences (`locate`),
entropy floor, then the precision pass that lowers a match to `low` (with the reason) when it sits in
a documentation or test path or is a documented example / placeholder value. Evidence never holds a
whole secret (`mask`, `build_evidence`).
"""

from __future__ import annotations

import functools
import math
import re
import threading
from dataclasses import replace
from collections import Counter
from typing import Callable, Iterable, Iterator

from explorer.core.rules import RuleInfo
from explorer.core.options import ScanOptions
from explorer.detectors.base import FileDetector, HistoryItem, ImageDetector
from explorer.detectors.secret_rules import CONFIG, FILE, HISTORY, SecretRule
from explorer.detectors.gitleaks_rules import RULES
from explorer.detectors.gitleaks_config import UserRules
from explorer.detectors.token_checksums import FAILED as CHECKSUM_FAILED, checksum_holds
from explorer.core.findings import SEVERITY_RANK, Match
from explorer.core.model import EntryKind, FileEntry, ImageConfig
from explorer.core.textsafe import safe

MAX_FILE_SIZE = 10 * 1024 * 1024
EVIDENCE_MAX = 120
_PREFIX_MAX = 48
_MAX_MATCHES_PER_RULE = 64
CATEGORY = "secret"

# --- masking and evidence ------------------------------------------------------------------------


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def mask(secret: str, keep: int = 8) -> str:
    """First `keep` characters (at most a third of the secret), the rest as `*` (at most 24 shown)."""
    secret = re.sub(r"\s+|\\[rn]", "", secret)
    keep = max(0, min(keep, len(secret) // 3))
    return secret[:keep] + "*" * min(len(secret) - keep, 24)


_TOKEN_RUN = re.compile(r"[A-Za-z0-9+/=_.~-]{16,}")


def _redact_context(text: str) -> str:
    """Mask token-like runs in the context too, so that a second secret on the line never leaks."""
    def sub(m: re.Match) -> str:
        run = m.group(0)
        return mask(run, 4) if re.search(r"\d", run) and entropy(run) >= 3.0 else run
    return _TOKEN_RUN.sub(sub, text)


def build_evidence(text: bytes, start: int, secret_start: int, secret_end: int, keep: int = 8) -> str:
    """One printable line: the context from the start of the match's line up to the secret, then the
    masked secret. `text[secret_start:secret_end]` is the secret; `start` is where the match begins."""
    line_start = max(text.rfind(b"\n", 0, start) + 1, secret_start - 4 * _PREFIX_MAX)
    prefix = text[line_start:secret_start].decode("utf-8", "replace")
    prefix = re.split("[\x00\ufffd]", prefix)[-1].lstrip()  # in binary data, context starts after the garbage
    prefix = _redact_context(re.sub(r"(?:\s|\\[rn])+", " ", prefix))
    if len(prefix) > _PREFIX_MAX:
        prefix = "…" + prefix[-_PREFIX_MAX:]
    secret = text[secret_start:secret_end].decode("utf-8", "replace")
    out = safe(prefix) + safe(mask(secret, keep))
    return out if len(out) <= EVIDENCE_MAX else out[:EVIDENCE_MAX - 1] + "…"


# --- precision: documentation/test paths and example values --------------------------------------

_DOC_PATH = re.compile(
    r"^/usr/(?:local/)?share/(?:doc|man|info|gtk-doc|help|devhelp|javascript/[^/]+/docs?)/"
    r"|/(?:docs?|documentation|examples?|samples?|demos?|tutorials?)/"
    r"|/(?:readme|changelog|changes|news|history)(?:\.[\w.]+)?$|\.(?:md|rst|adoc|html?)$|/man/man\w*/"
    r"|\.d\.[cm]?ts$"  # TypeScript declarations: API documentation comments, no configuration
    r"|[._-](?:example|sample|dist|template|tmpl|tpl)(?:\.[\w]+)?$|/(?:examples?|samples?)[^/]*$"
    r"|\.(?:dist|egg)-info/(?:METADATA|PKG-INFO|DESCRIPTION\.rst)$|/PKG-INFO$", re.I)
_TEST_PATH = re.compile(
    r"/(?:tests?|testing|testdata|test[_-]data|__tests__|fixtures?|spec|specs|testcases?|test[_-]?vectors?"
    r"|vectors|mocks?|__snapshots__|unittests?)/"
    r"|/(?:test_[^/]*|[^/]*_test\.\w+|[^/]*\.(?:test|spec)\.\w+|conftest\.py)$", re.I)
_EXAMPLE_MARKERS = ("example", "xxxx", "dummy", "fake", "your_", "your-", "yourkey", "yourtoken", "placeholder",
                    "changeme", "change_me", "redacted", "sample", "1234567890", "abcdefgh", "...", "…")
_PLACEHOLDER_VALUES = frozenset({
    "password", "passwd", "pass", "secret", "changeit", "admin", "root", "test", "tiger", "foobar", "foo", "bar",
    "123456", "12345678", "qwerty", "none", "null", "nil", "true", "false", "yes", "no", "empty", "default",
    "required", "optional", "string", "token", "apikey", "api_key", "mypassword", "mysecret", "secretpassword",
    "mysecretpassword", "letmein", "hunter2", "pa55word", "p@ssw0rd", "passw0rd", "user", "username", "guest",
    "value", "key", "undefined", "todo", "tbd", "replace_me", "replaceme", "insert_here",
    "put your unique phrase here", "password_here", "database_name_here", "username_here"})
_DOCUMENTED_VALUES = frozenset({"pass:insta"})
"""Exact values shipped as examples in real packages (Debian's openssl.cnf: the Insta Demo CA secret)."""
_TEMPLATE = re.compile(r"^(?:env|file|fd):|^\$\w+(?:::\w+)?$|\$\{[^}]{0,128}\}|\{\{.{0,128}?\}\}|%\([^)]{0,128}\)s"
                       r"|<[^<>]{0,128}>|^%\w+%$|^\*+$|^\$\(|^`")
"""Template and placeholder syntax; a `${…}`, `{{…}}`, `%(…)s` or `<…>` holds at most 128 characters
(unbounded, each of many unclosed openers read the rest of the value: quadratic)."""


def value_reason(secret: str, context: str = "") -> str:
    """Why a matched value is not a live secret (`documented example value`, `placeholder value`), or ''.

    `context` (the whole match, e.g. a URL's host) is searched for example markers too."""
    lowered = secret.lower().strip("\"'")
    if lowered in _DOCUMENTED_VALUES or any(marker in lowered or marker in context.lower()
                                            for marker in _EXAMPLE_MARKERS):
        return "documented example value"
    if lowered in _PLACEHOLDER_VALUES or _TEMPLATE.search(secret):
        return "placeholder value"
    body = re.sub(r"[^A-Za-z0-9]", "", secret.split("_")[-1] if "_" in secret[:12] else secret)
    if len(body) >= 6 and len(set(body.lower())) <= 2:
        return "placeholder value"
    return ""


def path_reason(path: str) -> str:
    """Why a file's matches are not taken at face value (`documentation path`, `test fixture path`), or ''."""
    if _TEST_PATH.search(path):
        return "test fixture path"
    if _DOC_PATH.search(path):
        return "documentation path"
    if _PACKAGE_DIR.search(path):
        return PACKAGED
    return ""


# --- the engine ----------------------------------------------------------------------------------


def _secret_span(m: re.Match, group: str) -> tuple[int, int]:
    if group.isdigit():  # a user rule's group by number (gitleaks' secretGroup)
        number = int(group)
        return m.span(number) if number and m.group(number) is not None else m.span(0)
    names = [group] + sorted(n for n in m.re.groupindex if n.startswith("secret") and n != group)
    for name in names:
        if name in m.re.groupindex and m.group(name) is not None:
            return m.span(name)
    return m.span(0)


def _line_of(text: bytes, pos: int) -> int:
    return text.count(b"\n", 0, pos) + 1


def _overlaps(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in spans)


_PACKAGE_DIR = re.compile(r"/(?:site-packages|dist-packages|node_modules|gems|vendor/bundle)/")
PACKAGED = "bundled in an installed package"
EMBEDDED = "compiled into a binary"
_CAPPING_REASONS = {PACKAGED: None, EMBEDDED: "low"}
"""Reasons that lower only the rules with a `packaged_severity` (private keys): packages ship demo
keys, and libraries compile in self-test keys (libgnutls); the cap is the rule's, or the one given."""


Allowed = Callable[[str, re.Match, int, int], bool]
"""allowed(rule id, match, secret start, secret end): True when an allowlist of the user's drops the match."""


def _best_match(rule: SecretRule, text: bytes, reason: str | Callable[[], str], claimed: list[tuple[int, int]],
                spans: list[tuple[int, int]], found: Iterable[re.Match] | None = None,
                allowed: Allowed | None = None) -> Match | None:
    """The most severe acceptable match of one rule (the first among equals); adds every accepted
    secret span to `spans`. Spans in `claimed` (taken by earlier rules) are skipped.

    `found` is the rule's `finditer` over the text (`locate` gives it near the keywords); None runs
    it over the whole text. `reason` comes from the path (or a function that gives it, called only
    for an accepted match): a doc/test path lowers to `low`; PACKAGED and EMBEDDED cap only the rules
    that have a `packaged_severity`."""
    best: Match | None = None
    for n, m in enumerate(rule.regex.finditer(text) if found is None else found):
        if n >= _MAX_MATCHES_PER_RULE:
            break
        s, e = _secret_span(m, rule.group)
        if _overlaps((s, e), claimed) or (allowed is not None and allowed(rule.id, m, s, e)):
            continue
        secret = text[s:e].decode("utf-8", "replace")
        why = value_reason(secret, m.group(0).decode("utf-8", "replace"))
        if not why and rule.entropy and entropy(secret) < rule.entropy:
            continue
        if not why and checksum_holds(rule.id, secret) is False:
            why = CHECKSUM_FAILED
        spans.append((s, e))
        severity, why = ("low", why) if why else _path_severity(rule, reason() if callable(reason) else reason)
        if best is None or SEVERITY_RANK[severity] > SEVERITY_RANK[best.severity]:
            start = m.start() + len(m.group(0)) - len(m.group(0).lstrip())
            best = Match(rule_id=rule.id, category=CATEGORY, severity=severity, title=rule.title,
                         evidence=build_evidence(text, start, s, e), line=_line_of(text, start), reason=why)
    return best


def _path_severity(rule: SecretRule, reason: str) -> tuple[str, str]:
    if not reason:
        return rule.severity, ""
    if reason not in _CAPPING_REASONS:
        return "low", reason
    cap = _CAPPING_REASONS[reason] or rule.packaged_severity
    if rule.packaged_severity and cap and SEVERITY_RANK[rule.severity] > SEVERITY_RANK[cap]:
        return cap, reason
    return rule.severity, ""


def _yara_string(keyword: bytes) -> str:
    return "".join(chr(b) if 0x20 <= b < 0x7f and b not in b'"\\' else f"\\x{b:02x}" for b in keyword)


# --- keywords: one YARA pass says which rules may match a text, and where ------------------------

KEYWORDS: tuple[bytes, ...] = tuple(sorted({k for rule in RULES for k in rule.keywords + rule.anchors}))
"""Every rule's keywords and anchors, each once; YARA rule `kw<i>` of `keyword_source()` finds the i-th."""
KEYWORD_NAMESPACE = "explorer-secret-keywords"
"""The namespace of the keyword rules when they are compiled into the YARA detector's rule set."""
_KEYWORD_META = "explorer_secret_keyword"

Hits = dict[bytes, "list[int] | None"]
"""keyword -> offsets of all its occurrences in a text, in any case, overlapping ones too (None: YARA
stopped recording them, too many). Keywords that do not occur are absent."""


def keyword_source() -> str:
    """YARA source with one rule per keyword (any case); its matches are turned into Hits by
    `keyword_hits`. Not `fast`: the offsets of every occurrence are wanted."""
    return "\n".join(f'rule kw{i} {{ meta: {_KEYWORD_META} = {i} strings: $k = "{_yara_string(k)}" nocase '
                     f"condition: $k }}" for i, k in enumerate(KEYWORDS))


def is_keyword_rule(meta: dict) -> bool:
    return _KEYWORD_META in meta


def keyword_hits(found: Iterable, saturated: Iterable[str] = ()) -> Hits:
    """Hits from a YARA match list (its other rules are ignored); `saturated`: identifiers of the
    keyword rules YARA stopped recording (the too-many-matches warning)."""
    hits: Hits = {}
    for hit in found:
        if hit.namespace != KEYWORD_NAMESPACE or not isinstance(hit.meta.get(_KEYWORD_META), int):
            continue
        keyword = KEYWORDS[hit.meta[_KEYWORD_META]]
        hits[keyword] = None if hit.rule in saturated else [i.offset for s in hit.strings for i in s.instances]
    return hits


def saturation_watch(saturated: set[str]):
    """A YARA warnings callback that notes the keyword rules with too many matches in `saturated`
    and lets every other warning through as yara-python would (a RuntimeWarning)."""
    import warnings

    import yara

    def callback(kind: int, where) -> int:
        if kind == yara.CALLBACK_TOO_MANY_MATCHES and where.namespace == KEYWORD_NAMESPACE:
            saturated.add(where.rule)
        elif kind == yara.CALLBACK_TOO_MANY_MATCHES:
            warnings.warn(f'too many matches for string {where.string} in rule "{where.rule}"', RuntimeWarning)
        return yara.CALLBACK_CONTINUE
    return callback


@functools.lru_cache(maxsize=1)
def _keyword_rules():
    import yara  # the project's YARA dependency; imported here so that the table loads without it

    return yara.compile(sources={KEYWORD_NAMESPACE: keyword_source()})


KEYWORD_OFFSETS_MAX = 256 * 1024
"""Texts up to this size get every keyword occurrence's offset from one YARA pass (which keeps up to
1,000,000 per keyword, and yara-python makes an object of each: ~190 bytes an occurrence, so a 10 MiB
file of nothing but keywords cost 627 MB; YARA's own records of them cost ~60 bytes each). A larger
text is searched in windows of KEYWORD_WINDOW bytes (`_windowed_offsets`; after the YARA detector's
pass, only for the keywords that occur: `occurring_offsets`), up to FOUND_OFFSETS_MAX offsets in all
(past that, some keywords' rules search the whole text, as they did before keywords had offsets)."""
FOUND_OFFSETS_MAX = 1 << 18
KEYWORD_WINDOW = 64 * 1024
"""What one YARA pass over a large text sees (plus _WINDOW_OVERLAP): a window of nothing but `-`
holds 65,536 occurrences of `--`, 10 MB of objects (256 KiB windows: 41 MB, for about 2% less CPU)."""
_WINDOW_OVERLAP = max(map(len, KEYWORDS)) - 1
"""A window reaches this far into the next one: it holds whole every keyword that starts in it."""


def find_keywords(text: bytes) -> Hits:
    """The keyword hits of a text, from a YARA pass of its own (when the YARA detector's pass did not
    see this text)."""
    if len(text) > KEYWORD_OFFSETS_MAX:
        return _windowed_offsets(text)
    saturated: set[str] = set()
    return keyword_hits(_keyword_rules().match(data=text, warnings_callback=saturation_watch(saturated)),
                        saturated)


FIND_KEYWORDS = 3
"""A large text in which at most this many keywords occur gets their offsets from `bytes.find`
(`_found_offsets`: a lowered copy and a scan per keyword, about 1 ms per MiB each) rather than
from YARA passes over windows (5-8 ms per MiB, whatever occurs)."""


def occurring_offsets(text: bytes, found: Iterable) -> Hits:
    """The hits of a text over KEYWORD_OFFSETS_MAX, from the matches of a YARA pass over the whole of
    it in fast mode whose rule set holds the keyword rules (the YARA detector's: fast mode keeps one
    occurrence of each string, so a text dense with keywords costs no memory there, and it says
    which keywords occur). The same hits as `_windowed_offsets(text)` (`_found_offsets` of the
    keywords that occur gives what the windows give), except for binary data: only the keywords
    of the `binary` rules, the only ones the secret detector runs on it."""
    indexes = {hit.meta[_KEYWORD_META] for hit in found
               if hit.namespace == KEYWORD_NAMESPACE and isinstance(hit.meta.get(_KEYWORD_META), int)}
    if _binary(text):
        indexes &= _BINARY_KEYWORDS
    if len(indexes) > FIND_KEYWORDS:
        return _windowed_offsets(text)
    return _found_offsets(text, [KEYWORDS[i] for i in sorted(indexes)]) if indexes else {}


_BINARY_KEYWORDS = frozenset(i for i, k in enumerate(KEYWORDS)
                             if any(k in rule.keywords + rule.anchors for rule in RULES if rule.binary))
"""Indexes of the keywords (and anchors) of the rules that run on binary data."""


def _windowed_offsets(text: bytes) -> Hits:
    """The hits of a text over KEYWORD_OFFSETS_MAX, those that a fast YARA pass (which keywords occur)
    and `_found_offsets` (where) give, from one YARA pass with offsets per window of KEYWORD_WINDOW
    bytes (an occurrence is taken from the window it starts in): no copy of the text, one scan of it
    instead of one `find` scan per keyword found. Up to FOUND_OFFSETS_MAX occurrences in all, those
    are every occurrence of every keyword that occurs, as `_found_offsets` gives them then. Past it,
    the offsets are dropped, a fast pass over the rest of the text says which other keywords occur,
    and `_found_offsets` gives the hits (None past the bound)."""
    view, size = memoryview(text), KEYWORD_WINDOW
    found: dict[int, list[int]] = {}  # keyword index -> offsets, ascending
    total = 0
    for start in range(0, len(text), size):
        for index, offsets in _window_offsets(view[start:start + size + _WINDOW_OVERLAP], start, size):
            found.setdefault(index, []).extend(offsets)
            total += len(offsets)
        if total > FOUND_OFFSETS_MAX:
            rest = _keyword_rules().match(data=view[start + size:], fast=True) if start + size < len(text) else []
            indexes = sorted(found.keys() | {hit.meta[_KEYWORD_META] for hit in rest})
            found.clear()
            return _found_offsets(text, [KEYWORDS[i] for i in indexes])
    return {KEYWORDS[i]: found[i] for i in sorted(found)}


def _window_offsets(window: memoryview, start: int, size: int) -> list[tuple[int, list[int]]]:
    """(keyword index, offsets + start) of the occurrences that start in the first `size` bytes of
    `window`; YARA's objects for them are gone on return."""
    out = []
    for hit in _keyword_rules().match(data=window):
        offsets = [start + i.offset for s in hit.strings for i in s.instances if i.offset < size]
        if offsets:
            out.append((hit.meta[_KEYWORD_META], offsets))
    return out


def _found_offsets(text: bytes, keywords: list[bytes]) -> Hits:
    """Every occurrence of each keyword (in KEYWORDS order, the order of a YARA pass's matches), in
    any (ASCII) case, overlapping ones too, as YARA's `nocase` finds them; None for a keyword past the
    FOUND_OFFSETS_MAX bound."""
    lowered = text.lower()
    hits: Hits = {}
    left = FOUND_OFFSETS_MAX
    for keyword in keywords:
        needle, offsets = keyword.lower(), []
        at = lowered.find(needle)
        while at >= 0 and len(offsets) < left:
            offsets.append(at)
            at = lowered.find(needle, at + 1)
        hits[keyword] = offsets if at < 0 else None
        left -= len(offsets) if at < 0 else 0
    return hits


class SharedHits:
    """The keyword hits of the last YARA detector pass on this thread, for the secret detector.

    The file detectors of one file run one after the other on one thread with the same `data` object,
    YARA first: the YARA detector `put`s the hits of its pass (its rule set holds the keyword rules),
    the secret detector `take`s them for that very object and runs no YARA pass of its own. Anything
    else (a hard link YARA skips, a timeout, another object) gives None, and the secret detector makes
    its own pass. Only texts of at most MAX_FILE_SIZE are kept (the secret detector takes every
    file up to that size), so at most one such text is held beyond its scan."""

    def __init__(self) -> None:
        self._local = threading.local()

    def put(self, data: bytes, hits: Hits) -> None:
        self._local.last = (data, hits) if len(data) <= MAX_FILE_SIZE else None

    def take(self, data: bytes) -> Hits | None:
        last = getattr(self._local, "last", None)
        self._local.last = None
        return last[1] if last is not None and last[0] is data else None


# --- where a rule's regex runs -------------------------------------------------------------------

_ATTEMPT_BYTES = 64
"""One regex attempt at a keyword costs about what a whole-text search spends on this many bytes:
a rule with more attempts than len(text) / this runs over its lines or the whole text instead."""


def locate(rule: SecretRule, text: bytes, hits: Hits) -> Iterator[re.Match]:
    """The matches `rule.regex.finditer(text)` gives, in order, found near the rule's keywords.

    With `keyword_at`, the regex is tried (`match`) only where a match can start; with `one_line`,
    searched only in the lines that hold a keyword; else (or when YARA stopped recording a keyword's
    occurrences) over the whole text."""
    offsets: list[int] = []
    for keyword in rule.anchors or rule.keywords:
        found = hits.get(keyword, ())
        if found is None:
            return rule.regex.finditer(text)
        offsets += found
    offsets.sort()
    if rule.keyword_at and len(offsets) * len(rule.keyword_at) <= len(text) // _ATTEMPT_BYTES + 64:
        return _at_starts(rule.regex, text, offsets, rule.keyword_at)
    if rule.one_line:
        return _in_lines(rule.regex, text, offsets)
    return rule.regex.finditer(text)


def _at_starts(regex: re.Pattern[bytes], text: bytes, offsets: list[int],
               distances: tuple[int, ...]) -> Iterator[re.Match]:
    """`finditer`, tried only at the possible starts: search(text, pos) is the first place p >= pos
    where match(text, p) succeeds, and every such place is in `starts`."""
    if distances == (0,):
        starts: Iterable[int] = offsets
    else:
        starts = sorted({o - d for o in offsets for d in distances if o >= d})
    pos = 0
    for start in starts:
        if start < pos:
            continue
        m = regex.match(text, start)
        if m is not None:
            yield m
            pos = max(m.end(), start + 1)


def _in_lines(regex: re.Pattern[bytes], text: bytes, offsets: list[int]) -> Iterator[re.Match]:
    """`finditer` over the lines that hold an offset, adjacent ones merged. Each window ends at a
    newline (or the end), which no token of a one-line regex matches: a search cut there sees the
    same as in the whole text (look-aheads see an end where they saw a newline, and pass alike)."""
    lo = hi = -2
    for offset in offsets:
        if offset < hi:
            continue
        start = text.rfind(b"\n", 0, offset) + 1
        end = text.find(b"\n", offset)
        end = len(text) if end < 0 else end
        if start == hi + 1:
            hi = end
            continue
        if hi >= 0:
            yield from regex.finditer(text, lo, hi)
        lo, hi = start, end
    if hi >= 0:
        yield from regex.finditer(text, lo, hi)


class _Once:
    """A function of no arguments, called at most once (functools.cache costs more to set up)."""

    __slots__ = ("_fn", "_value")

    def __init__(self, fn: Callable[[], str]) -> None:
        self._fn = fn
        self._value: str | None = None

    def __call__(self) -> str:
        if self._value is None:
            self._value = self._fn()
        return self._value


class RuleSet:
    """Rules in run order (specific first, then fallbacks in table order); the keyword hits of a text
    say which of them may match it, and where."""

    def __init__(self, rules: Iterable[SecretRule], user: UserRules | None = None,
                 finder: Callable[[bytes], Hits] | None = None) -> None:
        self.rules = tuple(sorted(rules, key=lambda r: r.fallback))
        self.user = user if user is not None and user.allows else None
        """The user's global allowlists (--secret-rules), when there are any."""
        self.finder = finder or find_keywords
        """How the keyword hits of a text are found when none are given."""
        self._allows = {rule.id: rule.allow for rule in self.rules if rule.allow is not None}
        """Rules' own allowlists (gitleaks rules: the vendored ones and the user's), by rule id."""
        self._by_keyword: dict[bytes, list[int]] = {}
        for index, rule in enumerate(self.rules):
            for keyword in rule.keywords:
                self._by_keyword.setdefault(keyword, []).append(index)

    def candidates(self, hits: Hits) -> list[SecretRule]:
        """The rules one of whose keywords occurs, in run order."""
        indexes = {i for keyword in hits for i in self._by_keyword.get(keyword, ())}
        return [self.rules[i] for i in sorted(indexes)]

    def scan(self, text: bytes, *, path: str | None = None, reason: str | Callable[[], str] = "",
             hits: Hits | None = None, claimed: list[tuple[int, int]] | None = None
             ) -> tuple[list[Match], list[tuple[int, int]]]:
        """One match per rule that fires in text, and the spans of all secrets accepted.

        With `path`, rules whose path condition it fails are skipped (None: conditions ignored).
        Fallback rules (credential files, URLs, generic assignments) skip secrets an earlier rule
        claimed. `reason` is the path's reason (doc/test path lowers to `low`), or a function that
        gives it (called once, when a match needs it). `hits`: the text's keyword hits when a YARA
        pass already found them (None: found here). `claimed`: secret spans other rule sets reported
        (the user's rules run after the built-in ones and leave them their secrets)."""
        matches: list[Match] = []
        claimed = list(claimed or ())
        if hits is None:
            hits = self.finder(text) if self.rules else {}
        allowed = None if self.user is None and not self._allows else _allowed_in(self.user, self._allows, text, path)
        if callable(reason):
            reason = _Once(reason)
        required: dict[re.Pattern[bytes], bool] = {}  # the URL rules share one condition
        for rule in self.candidates(hits):
            if path is not None and (rule.path is not None and not rule.path.search(path)
                                     or rule.skip_path is not None and rule.skip_path.search(path)):
                continue
            if rule.requires is not None:
                if rule.requires not in required:
                    required[rule.requires] = (rule.requires_literal in text
                                               and rule.requires.search(text) is not None)
                if not required[rule.requires]:
                    continue
            spans: list[tuple[int, int]] = []
            found = _best_match(rule, text, reason, claimed if rule.fallback else [], spans,
                                locate(rule, text, hits), allowed)
            if found:
                matches.append(found)
            claimed.extend(spans)
        return matches, claimed


def _allowed_in(user: UserRules | None, own: dict[str, Callable], text: bytes, path: str | None) -> Allowed:
    def allowed(rule_id: str, m: re.Match, s: int, e: int) -> bool:
        start = text.rfind(b"\n", 0, m.start()) + 1
        end = text.find(b"\n", m.end())
        line = text[start: end if end >= 0 else len(text)]
        rule_allow = own.get(rule_id)
        return (rule_allow is not None and rule_allow(path, text[s:e], m.group(0), line)
                or user is not None and user.allowed(rule_id, path, text[s:e], m.group(0), line))
    return allowed


def _binary(data: bytes) -> bool:
    return b"\0" in data[:8192]


class SecretFileDetector(FileDetector):
    """Token formats, private keys and credential files in every regular file of every layer."""

    name = "secrets"
    version = "1"

    def __init__(self, options: ScanOptions = ScanOptions(), *, shared: SharedHits | None = None) -> None:
        rules = [r for r in RULES if r.id not in options.disabled and FILE in r.scopes]
        self.shared = shared
        """Where the YARA detector leaves the keyword hits of its pass (None: a pass of our own)."""
        self.user = user_rules(options)
        self._text_rules = RuleSet(rules, self.user)
        self._binary_rules = RuleSet((r for r in rules if r.binary), self.user)
        self._user_rules = _user_rule_set(self.user, options)
        self._credential_paths = tuple(r.path for r in rules if r.path is not None)
        if self.user is not None:
            self.version = f"1+{self.user.digest[:16]}"

    def _is_credential_file(self, path: str) -> bool:
        return any(p.search(path) for p in self._credential_paths)

    def wants(self, entry: FileEntry) -> bool:
        if entry.kind not in (EntryKind.FILE, EntryKind.HARDLINK) or entry.size <= 0:
            return False
        return entry.size <= MAX_FILE_SIZE or self._is_credential_file(entry.path)

    def scan(self, entry: FileEntry, data: bytes) -> list[Match]:
        hits = self.shared.take(data) if self.shared is not None else None
        if hits is None:
            hits = find_keywords(data)
        if not hits and self._user_rules is None:
            return []
        if _binary(data):
            def embedded() -> str:
                reason = path_reason(entry.path)
                return EMBEDDED if reason in ("", PACKAGED) else reason
            return self._binary_rules.scan(data, path=entry.path, reason=embedded, hits=hits)[0]
        found, claimed = self._text_rules.scan(data, path=entry.path, reason=lambda: path_reason(entry.path), hits=hits)
        if self._user_rules is not None:
            found += self._user_rules.scan(data, path=entry.path, reason=lambda: path_reason(entry.path),
                                           claimed=claimed)[0]
        return found


# --- the user's rules (--secret-rules: a gitleaks configuration) ---------------------------------

@functools.lru_cache(maxsize=4)
def _load_user_rules(path: str) -> UserRules:
    from explorer.detectors.gitleaks_config import load

    return load(path)


def user_rules(options: ScanOptions) -> UserRules | None:
    """The rules and allowlists of `options.secret_rules` (read once per process), or None."""
    return _load_user_rules(options.secret_rules) if options.secret_rules else None


def _user_rule_set(user: UserRules | None, options: ScanOptions) -> RuleSet | None:
    """The user's rules, not disabled, with a keyword pass of their own (one YARA pass that says which
    of their keywords occur; their regexes then search the whole text). None when there are none."""
    rules = [r for r in (user.rules if user is not None else ()) if r.id not in options.disabled]
    if not rules:
        return None
    import yara

    keywords = sorted({k for r in rules for k in r.keywords if k})
    compiled = yara.compile(source="\n".join(
        f'rule u{i} {{ meta: k = {i} strings: $k = "{_yara_string(k)}" nocase condition: $k }}'
        for i, k in enumerate(keywords))) if keywords else None

    def finder(text: bytes) -> Hits:
        hits: Hits = {b"": None}  # the rules without keywords run on every text
        if compiled is not None:
            hits.update((keywords[hit.meta["k"]], None) for hit in compiled.match(data=text, fast=True))
        return hits

    return RuleSet(rules, user, finder)


# --- config and history --------------------------------------------------------------------------

_SECRET_WORDS = frozenset({"PASSWORD", "PASSWD", "PASSPHRASE", "PASS", "PWD", "SECRET", "SECRETKEY", "TOKEN",
                           "KEY", "APIKEY", "ACCESSKEY", "PRIVATEKEY", "CREDENTIAL", "CREDENTIALS", "AUTH"})
_NOT_SECRET_PARTS = frozenset({"GPG", "PGP", "PUBLIC", "PUB", "PUBKEY", "FINGERPRINT", "GPGKEY", "KEYRING"})
_NOT_SECRET_NAMES = frozenset({"PWD", "OLDPWD", "KEY", "AUTH"})
_HEX_FINGERPRINT = re.compile(r"^(?:[0-9A-Fa-f]{16}|[0-9A-Fa-f]{40}|(?:[0-9A-Fa-f]{4}\s*){10})$")


def secret_name(name: str) -> bool:
    """True for variable names that say they hold a secret (`*_TOKEN`, `*_PASSWORD`, `*_KEY`, …)."""
    upper = name.upper()
    parts = [p for p in re.split(r"[_.\-]+", upper) if p]
    if not parts or upper in _NOT_SECRET_NAMES or _NOT_SECRET_PARTS.intersection(parts):
        return False
    return parts[-1] in _SECRET_WORDS or "".join(parts[-2:]) in _SECRET_WORDS


def _named_value_severity(name: str, value: str) -> str | None:
    """Severity for a secret-named variable's value, None when the value is no secret."""
    value = value.strip().strip("\"'")
    if not value or value_reason(value) or value.startswith(("/", "./", "file:")) or re.fullmatch(r"\d{1,6}", value):
        return None
    if name.upper().split("_")[-1] == "KEY" and _HEX_FINGERPRINT.match(value):
        return None
    return "high" if len(value) >= 16 and entropy(value) >= 3.5 else "medium"


ENV_RULE = RuleInfo("secret.env-secret-name", CATEGORY, "medium", "Secret in an ENV variable",
                          "An ENV variable whose name says it holds a secret (*_TOKEN, *_PASSWORD, *_KEY…) has a "
                          "literal value; it is baked into the image config.")
LABEL_RULE = RuleInfo("secret.label-secret-name", CATEGORY, "medium", "Secret in an image label",
                            "A label whose name says it holds a secret has a literal value.")
BUILD_ARG_RULE = RuleInfo("secret.build-arg", CATEGORY, "medium", "Secret passed as a build argument",
                                "A build argument (ARG) with a secret-looking name: its value is written into the "
                                "history line of every RUN that follows.")

_BUILD_ARGS = re.compile(r"^(?:RUN\s+)?\|(\d+)\s+(.*)$", re.S)
_ENV_ARG = re.compile(r"(?:#\(nop\)\s+|^)(ENV|ARG)\s+(.*)$", re.S)
_PAIR = re.compile(r"""([A-Za-z_][A-Za-z0-9_.-]*+)=("[^"]*"|'[^']*'|\S*)|[A-Za-z_][A-Za-z0-9_.-]*+""")
"""`NAME=value`. A name-like run with no `=` after it matches whole, without groups: the search goes
on after the run, not from each of its letters (which made a long run quadratic); every letter of it
would have failed alike, the name ending where the run ends."""


def _pairs(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in _PAIR.finditer(text) if m.group(1) is not None]


def _named_match(rule: RuleInfo, name: str, value: str, line: int) -> Match | None:
    severity = _named_value_severity(name, value) if secret_name(name) else None
    if severity is None:
        return None
    raw = f"{name}={value}".encode("utf-8", "surrogateescape")
    start = len(name) + 1
    return Match(rule_id=rule.id, category=CATEGORY, severity=severity, title=rule.title,
                 evidence=build_evidence(raw, 0, start, len(raw)), line=line)


class SecretConfigDetector(ImageDetector):
    """Secrets in ENV values, labels and history lines (build args, RUN command lines, ENV/ARG)."""

    name = "secrets-config"
    version = "1"

    def __init__(self, options: ScanOptions = ScanOptions()) -> None:
        self._disabled = options.disabled
        self.user = user_rules(options)
        self._config_rules = RuleSet((r for r in RULES if r.id not in options.disabled and CONFIG in r.scopes), self.user)
        self._history_rules = RuleSet((r for r in RULES if r.id not in options.disabled and HISTORY in r.scopes),
                                      self.user)
        self._user_rules = _user_rule_set(self.user, options)
        if self.user is not None:
            self.version = f"1+{self.user.digest[:16]}"

    def _table(self, text: str, rules: RuleSet, line: int) -> tuple[list[Match], list[tuple[int, int]]]:
        raw = text.encode("utf-8", "surrogateescape")
        matches, spans = rules.scan(raw)
        if self._user_rules is not None:
            extra, spans = self._user_rules.scan(raw, claimed=spans)
            matches += extra
        return [replace(m, line=line) for m in matches], spans

    def _items(self, items: Iterable[tuple[str, str]], rule: RuleInfo) -> list[Match]:
        out: list[Match] = []
        for position, (name, value) in enumerate(items, 1):
            matches, _ = self._table(f"{name}={value}", self._config_rules, position)
            if not matches and rule.id not in self._disabled:
                named = _named_match(rule, name, value, position)
                matches = [named] if named else []
            out.extend(matches)
        return out

    def scan_config(self, config: ImageConfig) -> list[Match]:
        env = [tuple(item.split("=", 1)) if "=" in item else (item, "") for item in config.env]
        return self._items(env, ENV_RULE) + self._items(config.labels, LABEL_RULE)

    def scan_history(self, item: HistoryItem) -> list[Match]:
        text = item.created_by
        out, spans = self._table(text, self._history_rules, item.position)
        raw = text.encode("utf-8", "surrogateescape")
        covered = [raw[s:e].decode("utf-8", "replace") for s, e in spans]
        for rule, name, value in self._history_pairs(text):
            if rule.id in self._disabled or any(c and c in value for c in covered):
                continue
            named = _named_match(rule, name, value, item.position)
            if named and all(m.rule_id != named.rule_id for m in out):
                out.append(named)
        return out

    @staticmethod
    def _history_pairs(text: str) -> Iterable[tuple[RuleInfo, str, str]]:
        build = _BUILD_ARGS.match(text)
        if build:
            count = int(build.group(1))
            for name, value in _pairs(build.group(2)):
                if count <= 0:
                    break
                count -= 1
                yield BUILD_ARG_RULE, name, value
            return
        decl = _ENV_ARG.search(text)
        if decl:
            rule = ENV_RULE if decl.group(1) == "ENV" else BUILD_ARG_RULE
            body = decl.group(2).strip()
            pairs = _pairs(body)
            if not pairs and decl.group(1) == "ENV" and " " in body:
                pairs = [tuple(body.split(None, 1))]
            for name, value in pairs:
                yield rule, name, value


def secret_rule_catalog() -> list[RuleInfo]:
    """(id, category, severity, title, description) of every rule id the secret detectors can emit."""
    table = [RuleInfo(r.id, CATEGORY, r.severity, r.title, r.description) for r in RULES]
    return table + [ENV_RULE, LABEL_RULE, BUILD_ARG_RULE]
