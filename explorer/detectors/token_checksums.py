"""Token formats that carry a checksum: GitHub's `ghp_`/`gho_`/`ghu_`/`ghs_` tokens and npm's `npm_` tokens
end in six base62 characters that encode the CRC32 of the thirty characters before them (GitHub's
"Behind GitHub's new authentication token formats", 2021; npm's 2021 token format). A value of such a
shape whose checksum does not hold was never issued: an example, a placeholder or a made-up test value.
"""

from __future__ import annotations

import string
import zlib

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
CHECKSUMMED = frozenset({"secret.github-pat", "secret.github-oauth-token", "secret.github-app-token",
                         "secret.npm-token"})
FAILED = "fails the token format's checksum (never issued: an example or made-up value)"


def _base62(value: int, width: int = 6) -> str:
    out = ""
    while value:
        value, digit = divmod(value, 62)
        out = BASE62[digit] + out
    return out.rjust(width, "0")


def checksum_holds(rule_id: str, secret: str) -> bool | None:
    """True or False for a token of a checksummed format; None for every other rule or shape."""
    if rule_id not in CHECKSUMMED or len(secret) != 40 or secret[3] != "_":
        return None
    return _base62(zlib.crc32(secret[4:34].encode("ascii", "replace"))) == secret[34:]


def with_checksum(prefix: str, body: str) -> str:
    """`prefix` + the first 30 characters of `body` + their checksum: a well-formed token (tests, demo)."""
    return prefix + body[:30] + _base62(zlib.crc32(body[:30].encode("ascii")))
