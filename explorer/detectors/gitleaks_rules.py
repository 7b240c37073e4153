"""The whole secret rule table: the built-in rules and the rules vendored from gitleaks.

`explorer/data/gitleaks.toml` holds gitleaks' rule set (MIT), less the rules a built-in rule already
covers; `python -m explorer.detectors.gitleaks_import` writes it. Its rules are read with the
`--secret-rules` reader (Go regexes translated and bounded alike) and become `secret.gitleaks.<id>`, at
the severity the file gives (`medium` for gitleaks' "name near a value" rules, `high` for token formats).

They cost little: their keywords join the shared YARA keyword pass like every built-in rule's, and
`keyword_at` (where a match can start, relative to a keyword) is worked out from each regex
(`keyword_starts`), so a regex is tried only near its keywords. gitleaks' own allowlists go with them:
each rule's (stop words, regexes) and the global one (placeholder values; paths of installed packages,
lock files and pictures, where the vendored rules do not run at all).
"""

from __future__ import annotations

import functools
import re
import re._parser as sre  # noqa: the parser of Python's own `re`, to read where a match holds a keyword
from importlib import resources

from explorer.detectors import gitleaks_config
from explorer.detectors.secret_rules import RULES as BUILTIN, SecretRule, bounded

PREFIX = "secret.gitleaks."
_MAX_STARTS = 128
"""The most distances `keyword_starts` gives; a regex that needs more searches the whole text."""


def keyword_starts(pattern: re.Pattern[bytes], keywords: tuple[bytes, ...]) -> tuple[int, ...]:
    """Distances from the start of every match of `pattern` at which one of the keywords occurs (in any
    case) in it: what `SecretRule.keyword_at` says. Empty when the pattern does not tell (a keyword not
    written as a literal, or too many distances)."""
    if not keywords or not all(keywords) or pattern.flags & re.VERBOSE:
        return ()
    found = _starts(sre.parse(pattern.pattern, pattern.flags & ~re.UNICODE), keywords)
    return tuple(sorted(found)) if found else ()


def _letter(item) -> int | None:
    """The byte (lower case) that an item matches in some case: a literal, or a class of the cases of
    one letter (`[Ss]`); None for anything else."""
    op, arg = item
    if op is sre.LITERAL:
        return arg if arg < 128 else None
    if op is sre.IN and arg and all(o is sre.LITERAL for o, _ in arg):
        lowered = {chr(c).lower() for _, c in arg}
        return ord(lowered.pop()) if len(lowered) == 1 and all(c < 128 for _, c in arg) else None
    return None


def _run(items, i: int) -> bytes:
    """The literal bytes (lower case) from items[i] on, up to the first item that is not one."""
    out = bytearray()
    while i < len(items) and _letter(items[i]) is not None:
        out.append(_letter(items[i]))
        i += 1
    return bytes(out).lower()


def _starts(parsed, keywords: tuple[bytes, ...]) -> set[int] | None:
    """Distances from the start of a match of `parsed` where a keyword occurs in every match, or None."""
    offsets = {0}
    items = list(parsed)
    i = 0
    while i < len(items):
        op, arg = items[i]
        run = _run(items, i)
        if run:
            at = [run.find(k) for k in keywords if k in run]
            if at:
                return {o + min(at) for o in offsets}
            offsets = {o + len(run) for o in offsets}
            i += len(run)
            continue
        inner = None
        if op is sre.SUBPATTERN:
            inner = _starts(arg[3], keywords)
        elif op is sre.BRANCH:
            tail = _run(items, i + 1)  # `(?:pat|sat)\.`: each alternative, then the literal after it
            literal = [_run(alt, 0) if len(_run(alt, 0)) == len(alt) else None for alt in arg[1]]
            if tail and all(lit is not None for lit in literal):
                found = [[(lit + tail).find(k) for k in keywords if k in lit + tail] for lit in literal]
                inner = {min(f) for f in found} if all(found) else None
            else:
                alternatives = [_starts(alt, keywords) for alt in arg[1]]
                inner = set().union(*alternatives) if all(a is not None for a in alternatives) else None
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT) and arg[0] >= 1:
            inner = _starts(arg[2], keywords)
        if inner is not None:
            found = {o + d for o in offsets for d in inner}
            return found if len(found) <= _MAX_STARTS else None
        low, high = sre.SubPattern(parsed.state, [items[i]]).getwidth()
        if high - low >= _MAX_STARTS:
            return None
        offsets = {o + w for o in offsets for w in range(low, high + 1)}
        if len(offsets) > _MAX_STARTS:
            return None
        i += 1
    return None


_LEAD = re.compile(r"^((?:\(\?i\)|\(\?i:)*)\[\\w\.-\]\{0,50\}\?")
r"""`[\w.-]{0,50}?` at the start of a pattern (after `(?i)` or `(?i:`), as gitleaks' semi-generic rules
open: it only moves the start of a match back over the name's prefix."""


def _unprefixed(regex: str) -> str:
    r"""A gitleaks pattern without its leading `[\w.-]{0,50}?` (twice in some): the same secrets, from a
    match that starts at the name it looks for, so the regex is tried only at the name, not at 51
    places before it, each with up to 51 lengths of prefix (and, where two prefixes nest, 51 x 51:
    30 us a byte on a text of repeated names)."""
    while (stripped := _LEAD.sub(r"\1", regex, count=1)) != regex:
        regex = stripped
    return regex


class _Compiled:
    """A pattern compiled on first use (`re.Pattern`'s methods and attributes, through to it): most
    texts hold the keywords of few vendored rules, and compiling all of them in every process cost
    0.06 s, a tenth of a scan of the demo image."""

    __slots__ = ("source", "_pattern")

    def __init__(self, source: bytes) -> None:
        self.source = source
        self._pattern: re.Pattern[bytes] | None = None

    def __getattr__(self, name: str):
        if self._pattern is None:
            self._pattern = re.compile(self.source)
        return getattr(self._pattern, name)


def vendored_regex(go: str) -> bytes:
    """The Python pattern a vendored rule runs: gitleaks' (Go) one, translated, bounded, unprefixed."""
    return bounded(gitleaks_config.python_regex(_unprefixed(go)).encode("utf-8"))


def load_vendored(text: str) -> dict[str, SecretRule]:
    """gitleaks id -> rule, of a vendored rules file (its text). `keywordAt` and `secretGroup` are the
    converter's (what `keyword_starts` and the regex's groups say), so nothing is parsed here."""
    import tomllib

    doc = tomllib.loads(text)
    allows = gitleaks_config._allowlists(doc, "allowlist", "allowlists", "gitleaks.toml")
    shared = [a for a in allows if not a.paths]
    paths = [p.pattern for a in allows for p in a.paths]
    skip = re.compile("|".join(f"(?i:{p[4:]})" if p.startswith("(?i)") else f"(?:{p})" for p in paths)
                      ) if paths else None
    out: dict[str, SecretRule] = {}
    for item in doc.get("rules", []):
        rid = item["id"]
        own = gitleaks_config._allowlists(item, "allowlist", "allowlists", rid)
        path = item.get("path")
        out[rid] = SecretRule(
            id=PREFIX + rid, title=item.get("title") or _title(rid), severity=item["severity"],
            regex=_Compiled(vendored_regex(item["regex"])),  # type: ignore[arg-type]
            keywords=tuple(k.lower().encode() for k in item.get("keywords", ())),
            description=f"{item.get('description') or rid} (gitleaks rule {rid})",
            group=str(item.get("secretGroup", 0)), entropy=float(item.get("entropy", 0.0)),
            path=re.compile(gitleaks_config.python_regex(path)) if path else None,
            keyword_at=tuple(item.get("keywordAt", ())), skip_path=skip,
            allow=gitleaks_config.allowing(PREFIX + rid, own + shared),
            fallback=True)
    return out


def _title(rule_id: str) -> str:
    words = rule_id.replace("-", " ")
    return f"{words[:1].upper()}{words[1:]} (gitleaks)"


@functools.lru_cache(maxsize=1)
def vendored() -> tuple[SecretRule, ...]:
    """The vendored rules, in the file's order (read once)."""
    text = resources.files("explorer").joinpath("data/gitleaks.toml").read_text(encoding="utf-8")
    return tuple(load_vendored(text).values())


RULES: tuple[SecretRule, ...] = BUILTIN + vendored()
"""Every secret rule, built-in first; rule ids are unique."""
assert len({r.id for r in RULES}) == len(RULES), "duplicate secret rule id"
