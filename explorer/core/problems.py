"""Every kind of problem a read can meet, and what each one means for the run.

A `ProblemKind` is a `str` (its value is the name the JSON, the cache and the messages use) that
carries:

- `rule`: the integrity/suspicious rule its finding is reported under (None: reported as a warning
  only, e.g. an image whose layers Docker keeps without their tar-split data);
- `bad_input`: the image is bad input (exit 2) although everything readable is still shown: damage,
  and layers cut short by a resource cap (explorer.core.limits);
- `cacheable`: the layer's outcome may be kept in the layer cache (a blob that could not be read to
  its end, is missing, or does not match its digest is read again next time);
- `cuts_short`: the layer's entries are incomplete after it (package verification stops there).
"""

from __future__ import annotations

import enum

from explorer.core.rules import RuleInfo


def _rule(rid: str, severity: str, title: str) -> RuleInfo:
    return RuleInfo(rid, rid.split(".")[0], severity, title, title)


class ProblemKind(enum.StrEnum):
    rule: RuleInfo | None
    bad_input: bool
    cacheable: bool
    cuts_short: bool

    def __new__(cls, value: str, rule: RuleInfo | None, flags: dict):
        member = str.__new__(cls, value)
        member._value_ = value
        member.rule = rule
        member.bad_input = flags.get("bad_input", False)
        member.cacheable = flags.get("cacheable", True)
        member.cuts_short = flags.get("cuts_short", False)
        return member

    DIGEST_MISMATCH = ("digest-mismatch", _rule("integrity.digest-mismatch", "high",
                                                "Layer blob does not match the manifest digest"),
                       dict(bad_input=True, cacheable=False))
    DIFF_ID_MISMATCH = ("diff-id-mismatch", _rule("integrity.diff-id-mismatch", "high",
                                                  "Uncompressed layer does not match the config diff_id"),
                        dict(bad_input=True, cacheable=False))
    TRUNCATED = ("truncated", _rule("integrity.truncated-layer", "high", "Layer blob cannot be read to its end"),
                 dict(bad_input=True, cacheable=False, cuts_short=True))
    CORRUPT = ("corrupt", _rule("integrity.corrupt-layer", "high",
                                "Layer tar has a damaged header (what follows it is not read) or members Docker "
                                "refuses"),
               dict(bad_input=True, cuts_short=True))
    MISSING = ("missing", _rule("integrity.missing-layer", "high", "Layer blob is missing"),
               dict(bad_input=True, cacheable=False, cuts_short=True))
    UNSAFE_PATH = ("unsafe-path", _rule("suspicious.unsafe-tar-path", "medium",
                                        "Tar member with an absolute or climbing path"), {})
    PATH_THROUGH_LINK = ("path-through-link", _rule("suspicious.tar-path-through-link", "medium",
                                                    "Tar member whose path runs through a symlink"), {})
    TOO_DEEP = ("too-deep", _rule("suspicious.tar-path-too-deep", "medium",
                                  "Tar member with a path deeper or longer than any real file system allows; left "
                                  "out"), {})
    DECOMPRESSION_BOMB = ("decompression-bomb", _rule("suspicious.decompression-bomb", "high",
                                                      "Layer decompresses far beyond its stored size (--max-ratio); "
                                                      "not read to its end"),
                          dict(bad_input=True, cuts_short=True))
    TOO_MANY_ENTRIES = ("too-many-entries", _rule("integrity.layer-too-many-entries", "medium",
                                                  "Layer holds more tar members than --max-entries allows; not read "
                                                  "to its end"),
                        dict(bad_input=True, cuts_short=True))
    NAMES_TOO_LONG = ("names-too-long", _rule("integrity.layer-names-too-long", "medium",
                                              "Layer's member names and link targets pass the cap on their total "
                                              "length; not read to its end"),
                      dict(bad_input=True, cuts_short=True))
    RUNTIME_UNREADABLE = ("runtime-unreadable", _rule("integrity.runtime-path-unreadable", "low",
                                                      "A path the container changed could not be read from it (gone, "
                                                      "or a socket)"), {})
    TOO_LARGE = ("too-large", _rule("integrity.image-too-large", "medium",
                                    "Image holds more uncompressed data than --max-total allows; not read to its end"),
                 dict(bad_input=True, cuts_short=True))
    NO_TAR_SPLIT = ("no-tar-split", None, {})


def problem_rules() -> list[RuleInfo]:
    """The rule of every kind that has one, in the order above."""
    return [kind.rule for kind in ProblemKind if kind.rule is not None]
