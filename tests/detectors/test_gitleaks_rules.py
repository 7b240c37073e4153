"""The vendored gitleaks rules (explorer/data/gitleaks.toml) against gitleaks' own examples.

tests/data/gitleaks_examples.json (written by `python -m explorer.detectors.gitleaks_import`) holds, per
gitleaks rule, the true positives and false positives gitleaks validates it with. Every true positive
must be found: by the vendored rule, or, for a rule left out because a built-in rule covers its
provider, by that built-in rule (or at least by some rule of the table, for the exceptions pinned in
TP_BY_OTHER / TP_MISSED with their reasons). No false positive may raise a finding at medium or above.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from explorer.detectors import gitleaks_import
from explorer.detectors.gitleaks_rules import PREFIX, RULES, keyword_starts, vendored
from explorer.detectors.secret_rules import RULES as BUILTIN
from explorer.detectors.secrets import KEYWORDS, RuleSet
from explorer.core.findings import SEVERITY_RANK

DATA = json.loads((Path(__file__).resolve().parents[1] / "data" / "gitleaks_examples.json").read_text())
EXAMPLES = DATA["rules"]
TABLE = RuleSet(RULES)
RULE_IDS = {r.id for r in RULES}

TP_BY_OTHER: dict[str, tuple[set[str], str]] = {
    "bittrex-secret-key": ({PREFIX + "bittrex-access-key"}, "the same shape as bittrex-access-key, which runs first"),
    "facebook-page-access-token": ({"secret.facebook-secret"}, "the built-in rule claims EAACEdEose0cBA tokens"),
    "flutterwave-secret-key": ({PREFIX + "flutterwave-encryption-key"}, "the two gitleaks regexes overlap"),
    "private-key": ({"secret.private-key-pgp", "secret.private-key-rsa"}, "one built-in rule per PEM label"),
    "sidekiq-sensitive-url": ({"secret.url-credentials"}, "a URL with user:password@ is claimed by the URL rule"),
}
"""gitleaks rule -> the rules of ours that find (some of) its true positives instead, and why."""
TP_MISSED: dict[str, str] = {
    "atlassian-api-token": "PHP `.=` and XML element shapes: the built-in rule wants an assignment",
    "facebook-secret": "PHP `.=` and XML element shapes: the built-in rule wants an assignment",
    "heroku-api-key": "PHP `.=` and XML element shapes: the built-in rule wants an assignment",
    "duffel-api-token": "test-mode keys (duffel_test_): the built-in rule reports live keys only",
    "shippo-api-token": "test-mode keys (shippo_test_): the built-in rule reports live keys only",
    "stripe-access-token": "test-mode and sk_prod keys: the built-in rule reports live keys only",
    "dynatrace-api-token": "drawn in lower case; real tokens are upper case, as the built-in rule wants",
    "new-relic-user-api-key": "drawn in lower case; real NRAK- keys are upper case, as the built-in rule wants",
    "github-fine-grained-pat": "drawn as 82 characters without the `_` at 22 that real tokens have",
    "planetscale-api-token": "drawn with `=`, which real PlanetScale tokens do not hold",
    "planetscale-oauth-token": "drawn with `=`, which real PlanetScale tokens do not hold",
    "planetscale-password": "drawn with `=`, which real PlanetScale tokens do not hold",
    "sendgrid-api-token": "drawn with `=` and of other lengths than real SG. keys (22.43)",
    "square-access-token": "EAAA tokens shorter than the 64 characters the built-in rule wants",
    "telegram-bot-api-token": "bot ids of 5-16 digits and secrets without AA: real tokens have 8-10 and AA",
    "jwt": "tokens without a signature or of short parts, which the built-in rule leaves out",
    "slack-app-token": "an xapp- token of another layout than Slack's",
    "slack-legacy-token": "an xoxo- token, not a Slack token type",
    "slack-legacy-workspace-token": "xoxa-2- legacy tokens (a one-digit part): the built-in rule wants 6-15 digits",
    "slack-webhook-url": "a webhook without https://, which the built-in rule wants",
    "vault-service-token": "legacy `s.` Vault tokens: the keyword `s.` would run a rule on nearly every text",
}
"""gitleaks rule -> why some of its true positives are found by no rule of ours (all covered by a
built-in rule whose format is stricter than gitleaks' generated examples)."""
FP_RAISED: dict[str, str] = {
    "anthropic-admin-api-key": "gitleaks wants the AA suffix; the built-in rule takes any end",
    "slack-user-token": "gitleaks drops a token ending in ####; the built-in rule takes its valid prefix",
    "anthropic-api-key": "gitleaks wants the AA suffix; the built-in rule takes any end",
    "gcp-api-key": "gitleaks allowlists some published keys by value",
    "mailchimp-api-key": "gitleaks wants a name before the key; the built-in rule takes the key alone",
    "sentry-user-token": "gitleaks wants an exact length; the built-in rule takes 40 or more",
}
"""gitleaks rule -> why one of its false positives is still reported at medium or above by the rule
that stands for it (a built-in rule, with semantics of its own)."""
NO_EXAMPLES: dict[str, str] = {
    "dropbox-short-lived-api-token": "gitleaks validates it with no example (a TODO in its source)",
    "dropbox-long-lived-api-token": "gitleaks validates it with no example (a TODO in its source)",
    "jwt-base64": "its examples are base64-encoded in Go, which the converter does not evaluate",
}
"""Vendored rules without examples, and why."""


PATH = "/srv/app/notes.txt"
"""Where an example without a path of its own is scanned: no credential file, no doc or test path."""


def _scan(example, rules: RuleSet = TABLE):
    if isinstance(example, dict):
        return rules.scan(example["text"].encode(), path=example["path"])[0]
    return rules.scan(example.encode(), path=PATH)[0]


def _expected(gitleaks_id: str) -> str:
    if gitleaks_id in gitleaks_import.COVERED:
        return gitleaks_import.COVERED[gitleaks_id]
    return PREFIX + gitleaks_id


def test_the_examples_cover_the_rules():
    """The converter computed examples for nearly every gitleaks rule, and every vendored rule has some."""
    vendored_ids = {r.id.removeprefix(PREFIX) for r in vendored()}
    assert len(vendored()) >= 120
    assert vendored_ids - set(EXAMPLES) == set(NO_EXAMPLES)
    assert DATA["gitleaks_commit"] in Path(gitleaks_import.DATA).read_text()


@pytest.mark.parametrize("gitleaks_id", sorted(EXAMPLES))
def test_true_positives_are_found(gitleaks_id):
    """Every true positive found; a pinned exception (left out, or in TP_MISSED) is checked to hold still,
    so that a pin outlives nothing it explains."""
    if gitleaks_id in gitleaks_import.LEFT_OUT:
        assert PREFIX + gitleaks_id not in RULE_IDS, f"left out ({gitleaks_import.LEFT_OUT[gitleaks_id]}) yet vendored"
        return
    want = {_expected(gitleaks_id)} | TP_BY_OTHER.get(gitleaks_id, (set(), ""))[0]
    missed = [tp for tp in EXAMPLES[gitleaks_id]["tps"] if not want & {m.rule_id for m in _scan(tp)}]
    if gitleaks_id in TP_MISSED:
        assert missed, f"pinned in TP_MISSED ({TP_MISSED[gitleaks_id]}), yet {want} finds every true positive"
        return
    assert not missed, f"{want} misses {len(missed)} of gitleaks' true positives, e.g. {missed[:2]}"


@pytest.mark.parametrize("gitleaks_id", sorted(EXAMPLES))
def test_false_positives_stay_below_medium(gitleaks_id):
    """gitleaks' false positives of a rule (some are true positives of a sibling rule, as Cloudflare's
    three key formats are) are not reported by the rule that stands for it at medium or above."""
    if gitleaks_id in gitleaks_import.LEFT_OUT:
        assert PREFIX + gitleaks_id not in RULE_IDS, f"left out ({gitleaks_import.LEFT_OUT[gitleaks_id]}) yet vendored"
        return
    raised = [(fp, m.rule_id, m.severity) for fp in EXAMPLES[gitleaks_id]["fps"] for m in _scan(fp)
              if m.rule_id == _expected(gitleaks_id) and SEVERITY_RANK[m.severity] >= SEVERITY_RANK["medium"]]
    if gitleaks_id in FP_RAISED:
        assert raised, f"pinned in FP_RAISED ({FP_RAISED[gitleaks_id]}), yet no false positive is raised"
        return
    assert not raised, raised[:3]


def test_vendored_rules_run_near_their_keywords():
    """Their keywords are in the shared YARA keyword pass, and most say where a match starts."""
    for rule in vendored():
        assert set(rule.keywords) <= set(KEYWORDS), rule.id
        assert rule.fallback and rule.skip_path is not None
    located = [r for r in vendored() if r.keyword_at]
    assert len(located) >= 0.75 * len(vendored())


def test_keyword_starts_are_exact():
    """Every match of a vendored rule over its true positives starts where `keyword_at` says."""
    for rule in vendored():
        if not rule.keyword_at or rule.id.removeprefix(PREFIX) not in EXAMPLES:
            continue
        for tp in EXAMPLES[rule.id.removeprefix(PREFIX)]["tps"]:
            text = (tp["text"] if isinstance(tp, dict) else tp).encode()
            lowered = text.lower()
            for m in rule.regex.finditer(text):
                assert any(lowered.startswith(k, m.start() + d) for d in rule.keyword_at for k in rule.keywords), \
                    (rule.id, m.group(0))


def test_stored_keyword_starts_are_the_regexes_own():
    """`keywordAt` in the data file is what `keyword_starts` reads from each regex now (re-run the
    converter when the analysis or the translation changes)."""
    for rule in vendored():
        assert rule.keyword_at == keyword_starts(re.compile(rule.regex.pattern), rule.keywords), rule.id


def test_keyword_starts_reads_patterns():
    assert keyword_starts(re.compile(rb"(?i)\b(ghx_[a-z]{4})"), (b"ghx_",)) == (0,)
    assert keyword_starts(re.compile(rb"[a-z]{0,2}(?:foo|xfoo)"), (b"foo",)) == (0, 1, 2, 3)
    assert keyword_starts(re.compile(rb"[a-z]+foo"), (b"foo",)) == ()
    assert keyword_starts(re.compile(rb"(?:bar|foo)x"), (b"foo",)) == ()


def test_ids_are_unique_and_builtins_come_first():
    assert len({r.id for r in RULES}) == len(RULES)
    assert RULES[:len(BUILTIN)] == BUILTIN
    assert all(r.id.startswith(PREFIX) and r.severity in ("medium", "high") for r in vendored())


def test_vendored_rules_skip_installed_packages():
    rule = next(r for r in vendored() if r.id == PREFIX + "adafruit-api-key")
    tp = EXAMPLES["adafruit-api-key"]["tps"][0]
    assert RuleSet([rule]).scan(tp.encode(), path="/srv/app/config.ini")[0]
    assert not RuleSet([rule]).scan(tp.encode(), path="/usr/lib/python3.11/site-packages/x/config.ini")[0]


@pytest.mark.parametrize("rule", vendored(), ids=lambda rule: rule.id)
def test_vendored_rule_cost_is_linear_on_adversarial_input(rule):
    """Hostile images meet these rules as they meet the built-in ones (test_secrets_linear.py)."""
    from redos import attacks, max_width  # tests/detectors is on sys.path
    from test_secrets_linear import ATTACK_BYTES, WIDTH_MAX, _assert_linear, _rule_scan

    assert max_width(rule.regex) <= WIDTH_MAX, rule.id
    _assert_linear(rule.id, _rule_scan(rule), attacks(rule.regex, rule.keywords, n=ATTACK_BYTES, choices=1))
