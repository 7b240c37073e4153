"""The secret rules run near their keywords, and find exactly what a whole-text run finds.

`locate` tries a rule's regex only where the rule table says a match can be (`keyword_at`: at fixed
distances before a keyword or anchor; `one_line`: on the lines holding one). That is exact only if
the table's claims about each regex hold, so every test here compares against the plain
`regex.finditer(text)` over the whole text: on the positives and on variants that stress the
windows (matches across lines, at a window's edge, keywords close together, more than 64 matches),
on generated texts, and through the whole detector. The keyword hits come from the YARA detector's
own pass when it saw the same bytes (tested here too).
"""

from __future__ import annotations

import random
import re
import warnings

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from explorer.detectors import secrets
from explorer.detectors.registry import build_detectors
from explorer.detectors.secret_rules import RULES, RULES_BY_ID
from explorer.detectors.secrets import (KEYWORDS, SecretFileDetector, SharedHits, find_keywords,
                                        keyword_source, locate)
from explorer.detectors.yara_scan import YaraDetector
from explorer.core.options import ScanOptions
from explorer.core.model import EntryKind, FileEntry

from test_secrets import POSITIVES  # tests/detectors is on sys.path (rootdir-relative folder without __init__)

SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LOCATED = [rule for rule in RULES if rule.keyword_at or rule.one_line]


def spans(found) -> list:
    return [(m.span(), m.groups()) for m in found]


def whole(rule, text: bytes) -> list:
    return spans(rule.regex.finditer(text))


def near(rule, text: bytes, hits=None) -> list:
    return spans(locate(rule, text, find_keywords(text) if hits is None else hits))


def each_way(rule, text: bytes, hits=None) -> list[list]:
    """The matches `locate` gives, and those of each way the table allows for the rule on its own
    (`locate` picks one by cost, so each claim is checked here whichever it would pick)."""
    hits = find_keywords(text) if hits is None else hits
    offsets = sorted(o for k in (rule.anchors or rule.keywords) for o in hits.get(k, ()))
    ways = [spans(locate(rule, text, hits))]
    if rule.keyword_at:
        ways.append(spans(secrets._at_starts(rule.regex, text, offsets, rule.keyword_at)))
    if rule.one_line:
        ways.append(spans(secrets._in_lines(rule.regex, text, offsets)))
    return ways


def assert_same(rule, text: bytes, hits=None) -> bool:
    """Every way finds what the whole-text search finds; True when that is something."""
    expected = whole(rule, text)
    for found in each_way(rule, text, hits):
        assert found == expected, (rule.id, text[:300])
    return bool(expected)


def recase(text: str, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(ch.upper() if rng.random() < 0.5 else ch.lower() for ch in text)


def variants(text: str) -> list[str]:
    """The positive in forms that put matches across lines, at window edges and close together."""
    lines = text.splitlines(keepends=True)
    return [
        text,
        text.rstrip("\n"),                                   # the match ends the text: no newline after it
        text.replace(" = ", "\n \t\n=\r\n  ").replace("=", " \n= \n"),    # assignments across blank lines
        text.replace(": ", ":\n\n  ").replace("\n", "\n\n"),
        text.replace("\n", "\\n"),                           # one long line with JSON-escaped newlines
        text.replace("\n", "\r\n"),
        "".join(lines[::-1]),
        text * 3 + text.rstrip("\n"),                        # several matches, the last at the very end
        text.rstrip("\n") * 70,                              # more than 64 matches, glued together
        "\n".join([text.rstrip("\n")] * 70),                 # more than 64 matches, one per line
        "x" * 40 + text + "y" * 40,                          # keyword offsets far from a line start
        "secret token key pass password :// -us auth " * 30 + "\n" + text,   # many keyword hits before
        text.replace("\n", " secret=token:key://pass\n"),    # keywords of other rules on every line
        recase(text, 1), recase(text, 2),
    ]


@pytest.mark.parametrize("key", sorted(POSITIVES))
def test_positives_and_their_variants_match_the_same_near_keywords(key):
    path, text, _secret = POSITIVES[key]
    compared = 0
    for variant in variants(text):
        data = variant.encode()
        hits = find_keywords(data)
        for rule in LOCATED:
            compared += assert_same(rule, data, hits)
    assert compared, "no variant matched anything: the test would prove nothing"


def test_all_positives_in_one_text_and_mixed_into_each_other():
    texts = [POSITIVES[k][1] for k in sorted(POSITIVES)]
    rng = random.Random(7)
    blobs = ["".join(texts), "".join(t.rstrip("\n") for t in texts)]
    for _ in range(20):
        parts = [rng.choice(texts) for _ in range(8)]
        cut = [p[: rng.randrange(len(p) + 1)] + rng.choice(["", "\n", " ", "\\n", "=", "'"]) + p for p in parts]
        blobs.append("".join(cut))
    for blob in blobs:
        data = blob.encode()
        hits = find_keywords(data)
        for rule in LOCATED:
            assert_same(rule, data, hits)


def test_more_than_64_matches_keep_the_first_64_in_order():
    rule = RULES_BY_ID["secret.github-pat"]
    tokens = ["ghp_" + "".join(random.Random(i).choice("abcdefghijkLMNOP0123456789") for _ in range(36))
              for i in range(100)]
    data = (" ".join(tokens[:50]) + "\n" + "\n".join(tokens[50:])).encode()
    found = near(rule, data)
    assert len(found) == 100 and found == whole(rule, data)
    detector = SecretFileDetector()
    reference = with_whole_text_search(detector, "/srv/app/tokens.txt", data)
    assert detector.scan(entry("/srv/app/tokens.txt", data), data) == reference != []


def test_dense_keywords_fall_back_to_lines_or_the_whole_text():
    # more attempts than the text is worth: the rule runs over its lines (or the whole text), same result
    rule = RULES_BY_ID["secret.generic-secret-assignment"]
    data = ("key" * 2000 + "\n" + "password: Zq8uTr51xPw\n" + "keykey " * 500).encode()
    assert len(find_keywords(data)[b"key"]) > len(data) // secrets._ATTEMPT_BYTES
    assert near(rule, data) == whole(rule, data) != []
    rule = RULES_BY_ID["secret.aws-secret-access-key"]
    data = ("secret" * 3000 + "\naws_secret_access_key =\n\n  Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh7jKl0n\n").encode()
    assert near(rule, data) == whole(rule, data) != []


def test_keyword_occurrences_yara_stopped_counting_mean_the_whole_text():
    rule = RULES_BY_ID["secret.github-pat"]
    data = b"x ghp_" + b"a1B2" * 9 + b"\n"
    hits = dict(find_keywords(data))
    assert near(rule, data, {**hits, b"ghp_": []}) == []       # offsets say where: none, nothing is tried
    assert near(rule, data, {**hits, b"ghp_": None}) == whole(rule, data) != []


H32 = "0123456789abcdef" * 2
B40 = "Ab3dEf6hIj9lMn2pQr5tUv8xYz1bCd4fGh7jKl0n"
EDGES = {
    "secret.facebook-secret": ["fbsecret = '" + H32 + "'", "FB" + "x" * 20 + "TOKEN:" + H32,
                               "facebook" + "-" * 20 + "secret\n=\n" + H32, "facebook" + "." * 21 + "token=" + H32,
                               "fb_" + "a" * 19 + "Secret => " + H32, "EAACEdEose0cBA" + B40],
    "secret.telegram-bot-token": [d + ":AA" + B40[:33] for d in ("1234567", "12345678", "123456789", "1234567890",
                                                                   "12345678901")],
    "secret.discord-webhook": [f"https://{h}discord{a}.com/api/webhooks/123456789012345678/" + B40 + B40[:28]
                               for h in ("", "ptb.", "canary.") for a in ("", "app")],
    "secret.url-credentials": [f"{scheme}://user:{B40[:12]}@host.example.net/x" for scheme in
                               ("http", "https", "ftp", "ftps", "sftp", "ssh", "git", "svn", "smb", "ldap", "ldaps",
                                "HTTPS", "xhttps", "git+ssh")],
    "secret.sentry-dsn": [f"{s}://{H32}@o1.ingest.sentry.io/42" for s in ("http", "https", "HTTPS", "ftp")],
    "secret.aws-secret-access-key": [f"{k} = {B40}" for k in ("awssecretkey", "aws_secret_key", "AWS-SECRET-ACCESS-KEY",
                                                              "secret_access_key", "secretaccesskey", "aws_secret_accesskey")]
                                    + ["aws_secret_access_key\n\n   =\n\n  '" + B40 + "'"],
    "secret.aws-session-token": [f"{k}: {B40 * 3}" for k in ("aws_session_token", "awssessiontoken", "AWS-SESSION-TOKEN",
                                                            "aws_sessiontoken", "awssession_token", "SessionToken")]
                                + ["aws_session_token\n=\n" + B40 * 3],
    "secret.generic-secret-assignment": [f'{k}{sep}"{B40[:20]}"' for k in
                                         ("password", "passwd", "secret", "apikey", "api_key", "api-key", "accesskey",
                                          "access_key", "authtoken", "auth_token", "clientsecret", "client_secret")
                                         for sep in (": ", "=", " => ", "':\t")],
    "secret.docker-config-auth": [f'"{k}"\n:\n"{B40}"' for k in ("auth", "identitytoken", "registrytoken")],
    "secret.gcp-service-account": ['{"type": "service_account",\n"private_key"\n:\n"-----BEGIN RSA PRIVATE KEY-----'
                                   '\\n' + B40 + '"}'],
    "secret.mailgun-api-key": ["mailgun = 'key-" + H32 + "'", "MAILGUN KEY-" + H32],
    "secret.mailchimp-api-key": [H32 + "-us1", H32 + "-us12", "x" + H32 + "-US12"],
    "secret.terraform-cloud-token": ["ab" * 7 + ".atlasv1." + B40 + B40[:25]],
    "secret.azure-ad-client-secret": ["abc8Q~" + B40[:34], "abc8Q~" + B40[:31]],
    "secret.azure-shared-access-key": ["SharedAccessKey\n=\n" + B40 + "ab=", "sharedaccesskey = " + B40 + B40],
    "secret.azure-storage-key": ["AccountKey\n\n=  " + B40 * 2 + "abcdef=="],
    "secret.k8s-dockerconfig-secret": [".dockerconfigjson\n:\n" + B40 * 2, ".dockercfg': '" + B40 * 2],
    "secret.heroku-api-key": ["heroku_api_key\n=\n'01234567-89ab-cdef-0123-456789abcdef'"],
    "secret.atlassian-api-token": ["JIRA_TOKEN\n:\n" + B40[:24], "confluence.key = " + B40[:24]],
    "secret.netrc-password": ["machine x\npassword\n\n  " + B40],
    "secret.npmrc-auth": ["_authToken\n=\n" + B40, "_password : '" + B40 + "'"],
}


def test_table_distances_hold_at_their_edges():
    assert set(EDGES) <= set(RULES_BY_ID)
    for rule_id, texts in EDGES.items():
        rule = RULES_BY_ID[rule_id]
        found = 0
        for text in texts:
            for form in (text, "  x = 1\n" + text + "\n# end", text.replace("\n", "\r\n"), text * 2):
                found += assert_same(rule, form.encode())
        assert found >= len(texts), f"{rule_id}: edge texts that do not match test nothing"


@pytest.mark.parametrize("rule", [r for r in RULES if r.requires_literal], ids=lambda r: r.id)
def test_requires_literal_is_in_every_requires_match(rule):
    texts = ["kind: Config", "kind:Config", "  kind:\t'Config'", "\n\n  \t\nkind:\n\n\"Config\"", "x\nkind:  Config\n"]
    hits = [rule.requires.search(t.encode()) for t in texts]
    assert all(hits), "the texts must meet the rule's condition"
    assert all(rule.requires_literal in m.group(0) for m in hits)


# -- generated texts --------------------------------------------------------------------------------

def _fragments() -> list[str]:
    pieces = set()
    for keyword in KEYWORDS:
        pieces.add(keyword.decode("latin-1"))
    for _path, text, _secret in POSITIVES.values():
        pieces.update(re.split(r"(?<=[\s=:\"'])", text))
    return sorted(pieces)


FRAGMENT = st.one_of(
    st.sampled_from(_fragments()),
    st.sampled_from(["\n", " ", "\t", "\r\n", "=", ": ", "\"", "'", "=>", "\\n", "-", "_", ".", "/", "@", "://",
                     "\n\n  ", "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----", "kind: Config\n",
                     "kind:Config", "kind:\t\"Config\""]),
    st.text(alphabet="0123456789abcdefABCDEF+/=_-.~", min_size=1, max_size=90),
)
TEXT = st.lists(FRAGMENT, min_size=1, max_size=40).map("".join)


@SETTINGS
@given(TEXT, st.integers(min_value=0, max_value=3))
def test_generated_texts_match_the_same_near_keywords(text, seed):
    data = (recase(text, seed) if seed else text).encode("utf-8", "surrogateescape")
    hits = find_keywords(data)
    for rule in LOCATED:
        assert_same(rule, data, hits)
    for rule in RULES:
        if rule.requires is not None and rule.requires_literal:
            found = rule.requires.search(data)
            assert found is None or rule.requires_literal in found.group(0), rule.id


# -- the detector as a whole ------------------------------------------------------------------------

def entry(path: str, data: bytes, kind: EntryKind = EntryKind.FILE) -> FileEntry:
    return FileEntry(path=path, kind=kind, layer=0, size=len(data))


def with_whole_text_search(detector: SecretFileDetector, path: str, data: bytes) -> list:
    """What the detector finds when every candidate rule runs over the whole text (the old way)."""
    original = secrets.locate
    secrets.locate = lambda rule, text, hits: rule.regex.finditer(text)
    try:
        return detector.scan(entry(path, data), data)
    finally:
        secrets.locate = original


PATHS = ["/srv/app/settings.py", "/root/.aws/credentials", "/root/.docker/config.json", "/root/.git-credentials",
         "/root/.netrc", "/root/.npmrc", "/root/.pypirc", "/srv/app/.env", "/var/www/html/wp-config.php",
         "/etc/nginx/.htpasswd", "/root/.bash_history", "/etc/app/app.yaml", "/usr/share/doc/x/README.md",
         "/usr/lib/python3/site-packages/x/conf.json"]


@SETTINGS
@given(TEXT, st.sampled_from(PATHS), st.booleans())
def test_detector_finds_what_whole_text_search_finds(text, path, binary):
    data = text.encode("utf-8", "surrogateescape") + (b"\0" if binary else b"")
    detector = SecretFileDetector()
    assert detector.scan(entry(path, data), data) == with_whole_text_search(detector, path, data)


@pytest.mark.parametrize("key", sorted(POSITIVES))
def test_detector_on_positive_variants_finds_what_whole_text_search_finds(key):
    path, text, _secret = POSITIVES[key]
    detector = SecretFileDetector()
    for variant in variants(text):
        data = variant.encode()
        assert detector.scan(entry(path, data), data) == with_whole_text_search(detector, path, data), variant[:200]


# -- one YARA pass for both detectors ---------------------------------------------------------------

@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        detectors = build_detectors()
    yara_detector, secret_detector = detectors.file[:2]
    assert isinstance(yara_detector, YaraDetector) and isinstance(secret_detector, SecretFileDetector)
    assert secret_detector.shared is yara_detector.keyword_hits
    return yara_detector, secret_detector


def test_yara_pass_gives_the_keyword_hits_of_an_own_pass(pair):
    yara_detector, _ = pair
    for key in sorted(POSITIVES):
        data = POSITIVES[key][1].encode() * 2
        list(yara_detector.scan(entry("/srv/x", data), data))
        hits = yara_detector.keyword_hits.take(data)
        assert hits == find_keywords(data) and hits, key
        assert all(offsets == sorted(offsets) for offsets in hits.values())


def test_secret_detector_uses_the_yara_pass_and_makes_its_own_otherwise(pair, monkeypatch):
    yara_detector, secret_detector = pair
    path, text, _ = POSITIVES["secret.github-pat"]
    data = text.encode()
    expected = SecretFileDetector().scan(entry(path, data), data)
    assert [m.rule_id for m in expected] == ["secret.github-pat"]
    own = []
    monkeypatch.setattr(secrets, "find_keywords", lambda text: own.append(text) or find_keywords(text))

    list(yara_detector.scan(entry(path, data), data))
    assert secret_detector.scan(entry(path, data), data) == expected and own == []

    # the same bytes in another object (YARA did not scan it), a hard link YARA skips, a second take
    other = bytes(bytearray(data))
    list(yara_detector.scan(entry(path, data), data))
    assert secret_detector.scan(entry(path, other), other) == expected and own == [other]
    link = entry(path, data, EntryKind.HARDLINK)
    assert not yara_detector.wants(link) and secret_detector.wants(link)
    assert secret_detector.scan(link, data) == expected and len(own) == 2
    assert secret_detector.scan(entry(path, data), data) == expected and len(own) == 3


def test_shared_hits_are_per_object_per_thread_and_taken_once():
    import threading

    shared = SharedHits()
    data = b"ghp_x"
    shared.put(data, {b"ghp_": [0]})
    seen = []
    thread = threading.Thread(target=lambda: seen.append(shared.take(data)))
    thread.start()
    thread.join()
    assert seen == [None]
    assert shared.take(bytes(bytearray(data))) is None              # equal bytes, another object
    shared.put(data, {b"ghp_": [0]})
    assert shared.take(data) == {b"ghp_": [0]} and shared.take(data) is None
    big = b"x" * (secrets.MAX_FILE_SIZE + 1)
    shared.put(big, {})
    assert shared.take(big) is None                                 # not kept: the secret detector skips it


def test_keyword_rules_are_neither_findings_nor_catalog_entries(pair):
    yara_detector, _ = pair
    data = b" ".join(KEYWORDS) * 3
    found = list(yara_detector.scan(entry("/srv/x", data), data))
    assert not [m for m in found if re.fullmatch(r"custom\.kw\d+", m.rule_id)], found
    catalog = {row[0] for row in yara_detector.rule_catalog()}
    assert catalog and not [rid for rid in catalog if re.fullmatch(r"custom\.kw\d+", rid)]
    assert yara_detector.keyword_hits.take(data).keys() == set(KEYWORDS)


def test_rules_hash_and_compiled_cache_cover_the_keyword_rules(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = YaraDetector()
    monkeypatch.setattr("explorer.detectors.yara_scan.keyword_source",
                        lambda: keyword_source().replace('"ghp_"', '"ghp-"'))
    second = YaraDetector()
    assert second.rules_sha256 != first.rules_sha256 and second.cache_path != first.cache_path
    assert not second.loaded_from_cache


def test_too_many_keyword_occurrences_still_find_everything_and_warn_nothing(pair):
    yara_detector, secret_detector = pair
    # YARA records at most 1,000,000 occurrences of a string: "xox" occurs 1,100,000 times here
    token = "xoxb-123456789012-1234567890123-Zq8uTr51xPwK3mVb7nQe2LdY"
    data = b"xo" * 1_100_000 + f"x\nSLACK = '{token}'\n".encode()
    path = "/srv/app/settings.py"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(yara_detector.scan(entry(path, data), data))
        assert yara_detector.keyword_hits.take(data) == {b"xox": None} == find_keywords(data), \
            "past FOUND_OFFSETS_MAX: whole-text search"
        found = secret_detector.scan(entry(path, data), data)
    assert [m.rule_id for m in found] == ["secret.slack-token"] and found[0].line == 2
    assert found == with_whole_text_search(SecretFileDetector(), path, data)


def test_a_text_dense_with_keywords_costs_memory_bounded_by_the_offsets_cap(pair):
    """yara-python makes an object of every keyword occurrence it reports (~190 bytes each): a 10 MiB
    text of nothing but keywords held 627 MB. Only texts up to KEYWORD_OFFSETS_MAX get offsets."""
    import tracemalloc

    from explorer.detectors.secrets import KEYWORD_OFFSETS_MAX

    yara_detector, secret_detector = pair
    token = b"ghp_" + b"Zq8Rt1yZp0Lm4Nc7Xw2Ds9Fh6Jg5Ae3Ui0Oo"
    for size, unit in [(size, unit) for size in (KEYWORD_OFFSETS_MAX, 10 << 20) for unit in (b"key--pass-us://\n", b"-" * 16)]:
        data = unit * (size // 16 - 3) + b"token = " + token + b"\n"
        tracemalloc.start()
        list(yara_detector.scan(entry("/srv/app.ini", data), data))
        found = secret_detector.scan(entry("/srv/app.ini", data), data)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert "secret.github-pat" in {m.rule_id for m in found}
        assert peak < 48 << 20, (size, unit, peak)  # the lowered copy and FOUND_OFFSETS_MAX offsets at most


def test_a_large_text_gets_one_pass_of_every_rule_and_no_keyword_pass_of_the_secret_detector(pair, monkeypatch):
    """Over KEYWORD_OFFSETS_MAX, the YARA detector's pass over the whole text holds the keyword rules
    too, in fast mode (one occurrence of each string kept, however dense): it says which keywords
    occur; `bytes.find` gives the offsets of a few, YARA passes over windows those of many. The hits
    are those of a pass of every keyword rule over windows, and the secret detector makes no keyword
    pass of its own."""
    yara_detector, secret_detector = pair
    token = "ghp_" + "Zq8Rt1yZp0Lm4Nc7Xw2Ds9Fh6Jg5Ae3Ui0Oo"
    path = "/srv/app/settings.py"
    passes, own, every = [], [], []
    match = yara_detector._match
    monkeypatch.setattr(yara_detector, "_match", lambda rules, data, fast=False: passes.append(fast) or
                        match(rules, data, fast))
    monkeypatch.setattr(secrets, "find_keywords", lambda text: own.append(text) or find_keywords(text))
    keyword_rules = secrets._keyword_rules
    monkeypatch.setattr(secrets, "_keyword_rules", lambda: every.append(1) or keyword_rules())
    for filler, many in [(b"lorem ipsum dolor sit amet\n", False), (b" ".join(KEYWORDS) + b"\n", True)]:
        data = filler * (secrets.KEYWORD_OFFSETS_MAX // len(filler) + 1) + f"GITHUB = '{token}'\n".encode()
        passes.clear(), own.clear(), every.clear()
        list(yara_detector.scan(entry(path, data), data))
        hits = yara_detector.keyword_hits.take(data)
        assert passes == [True] and (len(hits) == len(KEYWORDS) if many else hits.keys() == {b"ghp_"})
        yara_detector.keyword_hits.put(data, hits)
        found = secret_detector.scan(entry(path, data), data)
        assert own == [] and bool(every) == many  # a few keywords: no YARA pass over windows
        assert hits == secrets._windowed_offsets(data)
        assert [m.rule_id for m in found] == ["secret.github-pat"]
        assert found == with_whole_text_search(SecretFileDetector(), path, data)


def test_large_binary_data_gets_the_hits_of_the_rules_that_run_on_binary_data(pair):
    """The secret detector runs only the `binary` rules on data with a NUL byte in its first 8 KiB:
    the hits of such data over KEYWORD_OFFSETS_MAX hold their keywords alone, and it finds what a
    whole-text search finds."""
    yara_detector, secret_detector = pair
    token = b"ghp_" + b"Zq8Rt1yZp0Lm4Nc7Xw2Ds9Fh6Jg5Ae3Ui0Oo"
    data = b"\0" + (b"password: curl https://x --user token\n" * 8000) + b"\0GITHUB=" + token + b"\0"
    assert len(data) > secrets.KEYWORD_OFFSETS_MAX
    list(yara_detector.scan(entry("/usr/bin/tool", data), data))
    hits = yara_detector.keyword_hits.take(data)
    binary = {k for rule in RULES if rule.binary for k in rule.keywords + rule.anchors}
    assert hits == {k: v for k, v in find_keywords(data).items() if k in binary} and b"ghp_" in hits
    yara_detector.keyword_hits.put(data, hits)
    found = secret_detector.scan(entry("/usr/bin/tool", data), data)
    assert [m.rule_id for m in found] == ["secret.github-pat"]
    assert found == with_whole_text_search(SecretFileDetector(), "/usr/bin/tool", data)


def test_a_large_text_with_a_yara_match_gets_the_evidence_of_a_full_pass(tmp_path, monkeypatch):
    """Fast mode keeps the first match of a string that YARA found, which is not always the first in
    the text (here the second branch's atom comes before the first's): a large text that a rule
    matches is scanned again without the keyword rules, for the first match's line and evidence."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "late.yar").write_text("rule late_atom { strings: $a = /[a-z]{0,30}zqzq|wxyv/ condition: $a }\n")
    detector = YaraDetector(ScanOptions(extra_rule_dirs=(str(rules),)))
    data = b"token\n" * (secrets.KEYWORD_OFFSETS_MAX // 6 + 1) + b"aaaaawxyvaaaaaaazqzq\n"
    fast = detector._rule_set(True, False).match(data=data, fast=True)
    (late,) = [hit for hit in fast if hit.rule == "late_atom"]
    assert late.strings[0].instances[0].matched_data == b"wxyv"
    (m,) = [m for m in detector.scan(entry("/srv/notes.txt", data), data) if m.rule_id == "custom.late_atom"]
    assert m.evidence == "aaaaawxyvaaaaaaazqzq" and m.line == data.count(b"\n")
    assert detector.keyword_hits.take(data) == {b"token": [6 * i for i in range(data.count(b"token"))]}


def test_offsets_found_by_find_in_a_large_text_are_yaras():
    """Over KEYWORD_OFFSETS_MAX the offsets come from bytes.find on the lowered text: the same as
    YARA's nocase occurrences, overlapping ones included."""
    import random

    from explorer.detectors.secrets import KEYWORD_OFFSETS_MAX, _found_offsets, _keyword_rules, keyword_hits

    rng = random.Random(7)
    words = [b"KeY", b"--", b"-US", b"pass", b"AKIA", b"xox", b"://", b"----", b"Token"]
    text = b" ".join(rng.choice(words) for _ in range(KEYWORD_OFFSETS_MAX // 3))
    assert len(text) > KEYWORD_OFFSETS_MAX
    full = keyword_hits(_keyword_rules().match(data=text))
    assert _found_offsets(text, list(full)) == {k: sorted(v) for k, v in full.items()}


# -- large texts: keyword offsets from YARA passes over windows -------------------------------------

def whole_text_offsets(text: bytes) -> dict:
    """Every occurrence of every keyword, from one YARA pass over the whole text."""
    from explorer.detectors.secrets import _keyword_rules, keyword_hits

    return {k: sorted(v) for k, v in keyword_hits(_keyword_rules().match(data=text)).items()}


def fast_pass_and_find(text: bytes) -> dict:
    """The hits of a large text the way they were found before windows: a fast YARA pass says which
    keywords occur, `bytes.find` where (None past FOUND_OFFSETS_MAX)."""
    from explorer.detectors.secrets import _found_offsets, _keyword_rules, keyword_hits

    return _found_offsets(text, list(keyword_hits(_keyword_rules().match(data=text, fast=True))))


def straddling(window: int, keywords: list[bytes]) -> bytes:
    """Filler with keywords across window boundaries, each at every shift, in mixed case."""
    placed = [(keyword, shift) for keyword in keywords for shift in range(len(keyword) + 1)]
    text = bytearray(b"." * (window * (len(placed) + 1) + 100))
    for n, (keyword, shift) in enumerate(placed):     # shift 0: the keyword starts at the boundary
        start = window * (n + 1) - shift
        text[start:start + len(keyword)] = recase(keyword.decode("latin-1"), n).encode("latin-1")
    return bytes(text)


def test_windows_find_what_one_pass_over_the_whole_text_finds():
    window = secrets.KEYWORD_WINDOW
    longest = max(KEYWORDS, key=len)
    data = [
        straddling(window, [longest, b"aws_session_token", b"ghp_", b"--"]),
        # overlapping occurrences across a boundary: `--` in a run of dashes, `xox` in `xoxox…`
        b"." * (window - 7) + b"-" * 14 + b"." * (window - 9) + b"XoXoXoXoXoX" + b"." * 3 * window
        + b"-----BEGIN RSA PRIVATE KEY-----",          # a keyword that ends the text
        # two keywords starting at the same offset (`pass` and `password`) on a boundary
        b"." * (4 * window) + b"PassWord" + b"." * (window - 8) + b"pAsSwOrD",
    ]
    for text in data:
        assert len(text) > secrets.KEYWORD_OFFSETS_MAX
        expected = whole_text_offsets(text)
        assert find_keywords(text) == expected == fast_pass_and_find(text) != {}
    assert find_keywords(data[0])[longest] == [m.start() for m in re.finditer(re.escape(longest), data[0], re.I)]


def test_past_the_offsets_cap_the_hits_are_what_find_gave():
    """More than FOUND_OFFSETS_MAX occurrences: the keywords of the windows before the cap was passed
    and those after it, the offsets as `_found_offsets` gives them (None for `--` here)."""
    text = (b"Pass token " + b"-" * (secrets.FOUND_OFFSETS_MAX + 10) + b" AKIA "
            + b"." * (3 * secrets.KEYWORD_WINDOW) + b"ghp_")
    hits = find_keywords(text)
    assert hits == fast_pass_and_find(text)
    assert hits[b"--"] is None and hits[b"pass"] == [0] and hits[b"ghp_"] == [len(text) - 4]
    assert sum(len(v) for v in hits.values() if v is not None) <= secrets.FOUND_OFFSETS_MAX


def test_a_large_text_costs_memory_of_a_window_not_of_its_size():
    import tracemalloc

    peaks = []
    for size in (1 << 20, 10 << 20):
        text = (b"x" * 1000 + b" token=" + b"y" * 17) * (size // 1024)
        tracemalloc.start()
        hits = find_keywords(text)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert len(hits[b"token"]) == size // 1024
    assert max(peaks) < 2 << 20, peaks   # a window's YARA objects and the offsets; no copy of the text


@SETTINGS
@given(TEXT, st.integers(min_value=0, max_value=3), st.sampled_from([1, 2, 5, 37, 64]),
       st.sampled_from([0, 1, 3, 10, 1 << 18]), st.integers(min_value=0, max_value=80))
def test_generated_texts_get_the_same_offsets_in_small_windows(text, seed, window, cap, limit):
    data = (recase(text, seed) if seed else text).encode("utf-8", "surrogateescape")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(secrets, "KEYWORD_OFFSETS_MAX", limit)
        mp.setattr(secrets, "KEYWORD_WINDOW", window)
        mp.setattr(secrets, "FOUND_OFFSETS_MAX", cap)
        hits = find_keywords(data)
        if len(data) > limit:
            assert hits == fast_pass_and_find(data)
    expected = whole_text_offsets(data)
    if sum(map(len, expected.values())) <= cap or len(data) <= limit:
        assert hits == expected
    else:
        assert hits.keys() == expected.keys()
        assert all(found is None or found == expected[k] for k, found in hits.items())
