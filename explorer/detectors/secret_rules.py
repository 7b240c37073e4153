"""The secret rule table: one frozen record per token or credential format.

A rule is data, not code: a byte regex with a group that holds the secret, lowercase keywords for a
cheap prefilter (a file is regex-scanned for a rule only when one of its keywords occurs in it), an
optional entropy floor for loose formats, and optional conditions (a path pattern for credential
files, a second pattern the file must also contain). Where the regex allows it, a rule also says
where its matches lie relative to its keywords (`keyword_at`, `one_line`, `anchors`): the regex then
runs only there, with the same matches as over the whole text (tests/detectors/test_secrets_locate.py
holds every rule to it). `explorer.detectors.secrets` runs the table over file contents, ENV values,
labels and history lines; rule ids are stable (they are the `rule_id` of findings and the SARIF rule
ids).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

FILE = "file"
CONFIG = "config"
HISTORY = "history"
ALL_SCOPES = frozenset({FILE, CONFIG, HISTORY})


@dataclass(frozen=True, slots=True)
class SecretRule:
    id: str
    """Stable rule id, `secret.<format>`."""
    title: str
    severity: str
    regex: re.Pattern[bytes]
    keywords: tuple[bytes, ...]
    """Lowercase; the rule runs only when one of them occurs in the (lowercased) text."""
    description: str = ""
    group: str = "secret"
    """Named group holding the secret (alternatives may use `secret2`, `secret3`); whole match if absent."""
    entropy: float = 0.0
    """Shannon entropy floor (bits per character) of the secret; 0 = none."""
    path: re.Pattern[str] | None = None
    """For file scans: the rule runs only on paths this pattern finds (credential files)."""
    requires: re.Pattern[bytes] | None = None
    """The text must also contain this (e.g. `"type": "service_account"`)."""
    requires_literal: bytes = b""
    """A literal that every match of `requires` holds: a text without it is not searched (a pattern
    that does not open with a literal is searched at every position)."""
    binary: bool = False
    """High-signal format: also scanned in binary files."""
    scopes: frozenset[str] = ALL_SCOPES
    """Where the rule runs: file contents, config (ENV/labels), history lines."""
    packaged_severity: str | None = None
    """Severity cap inside installed language packages (site-packages, node_modules…), which ship
    demo and test keys; None = no cap."""
    fallback: bool = False
    """Credential-file and generic rules: they report only secrets no specific format rule claimed."""
    anchors: tuple[bytes, ...] = ()
    """Lowercase literals that `keyword_at` and `one_line` speak of, when not the keywords: for a rule
    whose keywords only say that a file is worth a look (`mailgun`), literals its matches do hold
    (`key`). They locate matches and never make a rule run."""
    keyword_at: tuple[int, ...] = ()
    """Where a match can start: this many bytes before an occurrence (in any case) of one of the
    keywords (or anchors). Every match of the regex holds one at one of these distances from its
    start, so the regex is tried only there (`regex.match(text, start)` is the very attempt `finditer`
    makes at that place, so the matches are the same). Empty: no such bound."""
    one_line: bool = False
    """Every match lies within one line and holds a keyword (or anchor): no part of the regex can
    match a newline, so the regex runs only over the lines that hold one (a search that stops at a
    newline sees what it would see in the whole text)."""
    skip_path: re.Pattern[str] | None = None
    """For file scans: the rule does not run on paths this pattern finds (the vendored gitleaks rules:
    gitleaks' global allowlist of installed packages, lock files, pictures)."""
    allow: Callable[[str | None, bytes, bytes, bytes], bool] | None = None
    """allow(path, secret, match, line): True drops a match (a gitleaks rule's own allowlists, vendored
    or from --secret-rules)."""


RUN_MAX = 4096
"""The most bytes one repetition of a pattern takes (`+`, `*` and `{n,}` are read as `{1,RUN_MAX}`,
`{0,RUN_MAX}`, `{n,RUN_MAX}` by `bounded`): a token, a PEM line or a URL part longer than this is not
matched whole (a match then ends at the bound, or fails where the pattern wants an end there). With
every repetition bounded, one attempt of a regex reads a bounded number of bytes whatever the input;
the patterns below are also written so that an attempt never backtracks through nested choices
(possessive `*+`/`++` and atomic `(?>…)` where what follows cannot take back a byte) and so that
a long run is entered from one place only (a look-behind that refuses to start inside a run of the
token's own alphabet): then a whole-text search reads each byte a bounded number of times, and
tests/detectors/test_secrets_linear.py holds every rule to a linear cost on adversarial input."""

_TOKEN = re.compile(rb"\\.|\[\^?\]?(?:\\.|[^\]\\])*\]|\(\?|\{\d*(?:,\d*)?\}|.", re.S)
"""One piece of a pattern: an escape, a class, a group opener `(?`, a `{m,n}` quantifier, a byte."""


def bounded(pattern: bytes, most: int = RUN_MAX) -> bytes:
    """`pattern` with each unbounded repetition bounded by `most` (escapes and classes left alone;
    a `+` or `?` right after a quantifier stays its possessive or lazy mark)."""
    out: list[bytes] = []
    quantified = False
    for token in _TOKEN.findall(pattern):
        if token in (b"+", b"?") and quantified:
            out.append(token)
            quantified = False
            continue
        if token == b"*":
            token = b"{0,%d}" % most
        elif token == b"+":
            token = b"{1,%d}" % most
        elif token.startswith(b"{") and token.endswith(b",}"):
            token = token[:-1] + b"%d}" % most
        quantified = token in (b"?", b"*", b"+") or token[:1] == b"{" and len(token) > 2
        out.append(token)
    return b"".join(out)


_B = rb"(?<![A-Za-z0-9_])"   # token start
_BD = rb"(?<![A-Za-z0-9_-])"  # token start, for alphabets with '-': never inside a run of the alphabet
_E = rb"(?![A-Za-z0-9_])"    # token end
_ED = rb"(?![A-Za-z0-9_-])"  # token end, for alphabets with '-'
_ASSIGN = rb"""["']?\s*+(?:[:=]|=>)\s*+["']?"""

_BODY = (rb"(?>(?:\s|\\[rn]){1,64})(?>[A-Za-z-]{1,64}:[^\n\\]{0,256}+(?:\n|\\n)(?:\s|\\[rn]){0,64}+){0,8}+"
         rb"(?P<secret>[A-Za-z0-9+/=]{40,})")
"""PEM body after the BEGIN line: blank lines or JSON-escaped newlines, up to 8 header lines
(`Proc-Type: 4,ENCRYPTED`, each ending its line), base64. Atomic: a blank run or a header line is
taken whole or not at all (a header's value once could end at any blank of its line, and `a: `
repeated took exponential time)."""


_HISTORY_FILES = re.compile(
    r"(?:^|/)(?:\.(?:bash|zsh|sh|ash|ksh|fish|mysql|psql|sqlite|python|node_repl|rediscli|lesshst)_?history"
    r"|\.histfile|fish_history|Dockerfile[^/]*|Containerfile[^/]*)$")


_USERINFO = rb"""://[^\s:/@"'<>]{1,64}:[^\s:/@"'<>]{3,128}@"""
"""A cheap literal-led pre-check for URLs with `user:password@` (most files with `://` have none)."""


def _rule(id: str, title: str, severity: str, pattern: bytes, keywords: tuple[str, ...] | str, *,
          description: str = "", flags: int = 0, path: str | None = None, requires: bytes | None = None,
          at: tuple[int, ...] = (), line: bool = False, anchors: tuple[str, ...] = (), **kw) -> SecretRule:
    if isinstance(keywords, str):
        keywords = (keywords,)
    return SecretRule(
        id=id, title=title, severity=severity, regex=re.compile(bounded(pattern), flags),
        keywords=tuple(k.lower().encode() for k in keywords),
        description=description or title,
        path=re.compile(path) if path else None,
        requires=re.compile(bounded(requires)) if requires else None, keyword_at=at, one_line=line,
        anchors=tuple(a.lower().encode() for a in anchors), **kw)


def _pem(kind: str, label: bytes, title: str, severity: str = "high") -> SecretRule:
    return _rule(f"secret.private-key-{kind}", title, severity,
                 rb"-----BEGIN " + label + rb"PRIVATE KEY-----" + _BODY,
                 (b"-----begin " + label.lower() + b"private key-----").decode(), binary=True,
                 packaged_severity="medium", description=f"{title}: a PEM block with a key body, usable as is.",
                 at=(0,))


RULES: tuple[SecretRule, ...] = (
    # --- cloud providers -------------------------------------------------------------------------
    _rule("secret.aws-access-key-id", "AWS access key id", "high",
          _B + rb"(?P<secret>(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})" + _E, ("akia", "asia", "abia", "acca"),
          entropy=3.0, binary=True,
          description="An AWS access key id (long-term AKIA or temporary ASIA); its secret key is often near.",
          at=(0,), line=True),
    _rule("secret.aws-secret-access-key", "AWS secret access key", "critical",
          rb"(?i)(?P<key>aws[_-]?secret[_-]?(?:access[_-]?)?key|secret[_-]?access[_-]?key)" + _ASSIGN
          + rb"(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])", ("secret",), entropy=3.5,
          description="An AWS secret access key assigned to an aws_secret_access_key-style name.", at=(0, 3, 4)),
    _rule("secret.aws-session-token", "AWS session token", "high",
          rb"(?i)(?P<key>aws[_-]?session[_-]?token|sessiontoken)" + _ASSIGN + rb"(?P<secret>[A-Za-z0-9/+=]{100,})",
          ("session_token", "sessiontoken", "session-token"), entropy=4.0, at=(0, 3, 4)),
    _rule("secret.gcp-service-account", "GCP service-account key (JSON)", "critical",
          rb'"private_key"\s*:\s*"-----BEGIN (?:RSA )?PRIVATE KEY-----(?:\\n|\s)*(?P<secret>[A-Za-z0-9+/=]{40,})',
          ("service_account",), requires=rb'"type"\s*:\s*"service_account"', binary=True,
          description="A Google Cloud service-account JSON key file with its private key.", anchors=("key",), at=(9,)),
    _rule("secret.gcp-api-key", "Google API key", "high",
          _B + rb"(?P<secret>AIza[0-9A-Za-z_-]{35})" + _ED, "aiza", entropy=3.0, binary=True, at=(0,), line=True),
    _rule("secret.gcp-oauth-client-secret", "Google OAuth client secret", "high",
          _B + rb"(?P<secret>GOCSPX-[A-Za-z0-9_-]{28})" + _ED, "gocspx-", at=(0,), line=True),
    _rule("secret.azure-storage-key", "Azure storage account key", "critical",
          rb"(?i)(?P<key>AccountKey)\s*=\s*(?P<secret>[A-Za-z0-9+/]{86}==)", "accountkey", entropy=4.0,
          description="An Azure storage account key, usually inside a connection string.", at=(0,)),
    _rule("secret.azure-shared-access-key", "Azure Service Bus / Event Hubs shared access key", "high",
          rb"(?i)(?P<key>SharedAccessKey)\s*=\s*(?P<secret>[A-Za-z0-9+/]{42,86}={0,2})", "sharedaccesskey",
          entropy=4.0, at=(0,)),
    _rule("secret.azure-sas-token", "Azure shared access signature (SAS)", "high",
          rb"""(?i)\bsv=20\d\d-\d\d-\d\d[^\s"'<>]{0,400}?\bsig=(?P<secret>[A-Za-z0-9%+/]{30,}(?:%3D|=){0,2})""",
          "sig=", entropy=3.5, line=True),
    _rule("secret.azure-ad-client-secret", "Azure AD client secret", "high",
          rb"(?<![A-Za-z0-9_~.-])(?P<secret>[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34})(?![A-Za-z0-9_~.-])",
          "q~", entropy=3.5, at=(4,), line=True),
    _rule("secret.alibaba-access-key-id", "Alibaba Cloud access key id", "high",
          _B + rb"(?P<secret>LTAI[A-Za-z0-9]{12,20})" + _E, "ltai", entropy=3.0, at=(0,), line=True),
    _rule("secret.digitalocean-token", "DigitalOcean token", "high",
          _B + rb"(?P<secret>do[opr]_v1_[a-f0-9]{64})" + _E, ("dop_v1_", "doo_v1_", "dor_v1_"), at=(0,), line=True),
    _rule("secret.heroku-api-key", "Heroku API key", "high",
          _B + rb"(?P<secret>HRKU-[A-Za-z0-9_-]{60})" + _ED
          + rb"|(?i:heroku)[\w.-]{0,20}(?i:key|token|secret)" + _ASSIGN
          + rb"(?P<secret2>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})",
          ("hrku-", "heroku"), at=(0,)),
    _rule("secret.databricks-token", "Databricks access token", "high",
          _B + rb"(?P<secret>dapi[a-f0-9]{32}(?:-\d)?)" + _E, "dapi", entropy=3.0, at=(0,), line=True),
    _rule("secret.hashicorp-vault-token", "HashiCorp Vault token", "high",
          _BD + rb"(?P<secret>hv[sbr]\.[A-Za-z0-9_-]{24,})" + _ED, ("hvs.", "hvb.", "hvr."), entropy=3.5,
          at=(0,), line=True),
    _rule("secret.terraform-cloud-token", "Terraform Cloud / Enterprise API token", "high",
          _B + rb"(?P<secret>[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70})" + _ED, "atlasv1", at=(15,), line=True),
    # --- source control and package registries ---------------------------------------------------
    _rule("secret.github-pat", "GitHub personal access token", "high",
          _B + rb"(?P<secret>ghp_[A-Za-z0-9]{36})" + _E, "ghp_", entropy=3.0, binary=True, at=(0,), line=True),
    _rule("secret.github-fine-grained-pat", "GitHub fine-grained personal access token", "high",
          _B + rb"(?P<secret>github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})" + _E, "github_pat_", binary=True,
          at=(0,), line=True),
    _rule("secret.github-oauth-token", "GitHub OAuth access token", "high",
          _B + rb"(?P<secret>gho_[A-Za-z0-9]{36})" + _E, "gho_", entropy=3.0, binary=True, at=(0,), line=True),
    _rule("secret.github-app-token", "GitHub App token", "high",
          _B + rb"(?P<secret>gh[us]_[A-Za-z0-9]{36})" + _E, ("ghu_", "ghs_"), entropy=3.0, binary=True,
          at=(0,), line=True),
    _rule("secret.github-refresh-token", "GitHub refresh token", "high",
          _B + rb"(?P<secret>ghr_[A-Za-z0-9]{36,76})" + _E, "ghr_", entropy=3.0, binary=True, at=(0,), line=True),
    _rule("secret.gitlab-pat", "GitLab personal access token", "high",
          _B + rb"(?P<secret>glpat-[A-Za-z0-9_-]{20,64})" + _ED, "glpat-", entropy=3.0, binary=True,
          at=(0,), line=True),
    _rule("secret.gitlab-token", "GitLab token (deploy, runner, trigger, feed, OAuth…)", "high",
          _B + rb"(?P<secret>(?:gldt|glrt|glptt|glcbt|gloas|glsoat|glffct|glimt|glagent|glft|glwt)-[A-Za-z0-9_-]{20,64}"
          rb"|GR1348941[A-Za-z0-9_-]{20})" + _ED,
          ("gldt-", "glrt-", "glptt-", "glcbt-", "gloas-", "glsoat-", "glffct-", "glimt-", "glagent-", "glft-",
           "glwt-", "gr1348941"), entropy=3.0, binary=True, at=(0,), line=True),
    _rule("secret.npm-token", "npm access token", "high",
          _B + rb"(?P<secret>npm_[A-Za-z0-9]{36})" + _E, "npm_", entropy=3.0, binary=True, at=(0,), line=True),
    _rule("secret.pypi-token", "PyPI upload token", "high",
          _BD + rb"(?P<secret>pypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,})" + _ED,
          "pypi-age", binary=True, at=(0,), line=True),
    _rule("secret.rubygems-api-key", "RubyGems API key", "high",
          _B + rb"(?P<secret>rubygems_[a-f0-9]{48})" + _E, "rubygems_", at=(0,), line=True),
    _rule("secret.docker-hub-pat", "Docker Hub access token", "high",
          _BD + rb"(?P<secret>dckr_(?:pat|oat)_[A-Za-z0-9_-]{27,})" + _ED, ("dckr_pat_", "dckr_oat_"), binary=True,
          at=(0,), line=True),
    _rule("secret.atlassian-api-token", "Atlassian API token", "high",
          _BD + rb"(?P<secret>ATATT3[A-Za-z0-9_=-]{150,})" + _ED
          + rb"|(?i:atlassian|jira|confluence)[\w.-]{0,20}(?i:token|key|secret)" + _ASSIGN
          + rb"(?P<secret2>[A-Za-z0-9]{24})" + _E, ("atatt3", "atlassian", "jira", "confluence"), entropy=3.0, at=(0,)),
    # --- chat, e-mail, payment, SaaS -------------------------------------------------------------
    _rule("secret.slack-token", "Slack token", "high",
          _BD + rb"(?P<secret>xox[baprse]-[0-9]{6,15}-[A-Za-z0-9-]{10,}|xapp-\d-[A-Z0-9]{9,12}-\d{10,16}-[a-f0-9]{32,64})"
          + _ED, ("xox", "xapp-"), entropy=3.0, binary=True, at=(0,), line=True),
    _rule("secret.slack-webhook", "Slack incoming webhook URL", "high",
          rb"https://hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9+/_-]{40,})",
          "hooks.slack.com", entropy=3.0, at=(8,), line=True),
    _rule("secret.discord-bot-token", "Discord bot token", "high",
          _B + rb"(?P<secret>[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,40})" + _ED,
          "discord", entropy=4.0),
    _rule("secret.discord-webhook", "Discord webhook URL", "high",
          rb"https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/api/webhooks/\d{17,20}/(?P<secret>[A-Za-z0-9_-]{60,72})",
          "discord", at=(8, 12, 15), line=True),
    _rule("secret.telegram-bot-token", "Telegram bot token", "high",
          rb"(?<![0-9])\d{8,10}:(?P<secret>AA[A-Za-z0-9_-]{33})" + _ED, ":aa", entropy=3.5, at=(8, 9, 10), line=True),
    _rule("secret.stripe-secret-key", "Stripe live secret key", "high",
          _B + rb"(?P<secret>sk_live_[A-Za-z0-9]{24,99})" + _E, "sk_live_", entropy=3.0, binary=True,
          at=(0,), line=True),
    _rule("secret.stripe-restricted-key", "Stripe live restricted key", "high",
          _B + rb"(?P<secret>rk_live_[A-Za-z0-9]{24,99})" + _E, "rk_live_", entropy=3.0, binary=True,
          at=(0,), line=True),
    _rule("secret.square-access-token", "Square access token", "high",
          _B + rb"(?P<secret>sq0atp-[0-9A-Za-z_-]{22}|EAAA[0-9A-Za-z_-]{60})" + _ED, ("sq0atp-", "eaaa"),
          entropy=3.5, at=(0,), line=True),
    _rule("secret.square-oauth-secret", "Square OAuth secret", "high",
          _B + rb"(?P<secret>sq0csp-[0-9A-Za-z_-]{43})" + _ED, "sq0csp-", at=(0,), line=True),
    _rule("secret.shopify-token", "Shopify access token", "high",
          _B + rb"(?P<secret>shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})" + _E, ("shpat_", "shpca_", "shppa_", "shpss_"),
          at=(0,), line=True),
    _rule("secret.braintree-access-token", "Braintree / PayPal production access token", "high",
          rb"(?P<secret>access_token\$production\$[0-9a-z]{16}\$[0-9a-f]{32})", "access_token$production$",
          at=(0,), line=True),
    _rule("secret.twilio-api-key", "Twilio API key", "high",
          _B + rb"(?P<secret>SK[0-9a-fA-F]{32})" + _E, "twilio", entropy=3.0),
    _rule("secret.sendgrid-api-key", "SendGrid API key", "high",
          _B + rb"(?P<secret>SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})" + _ED, "sg.", entropy=3.5, at=(0,), line=True),
    _rule("secret.mailgun-api-key", "Mailgun API key", "high",
          _B + rb"(?P<secret>key-[0-9a-f]{32})" + _E, "mailgun", entropy=3.0, anchors=("key",), at=(0,), line=True),
    _rule("secret.mailchimp-api-key", "Mailchimp API key", "high",
          _B + rb"(?P<secret>[0-9a-f]{32}-us[0-9]{1,2})" + _E, "-us", entropy=3.0, at=(32,), line=True),
    _rule("secret.openai-api-key", "OpenAI API key", "high",
          _BD + rb"(?P<secret>sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{20,160}T3BlbkFJ[A-Za-z0-9_-]{20,160})"
          + _ED, "t3blbkfj", binary=True, line=True),
    _rule("secret.anthropic-api-key", "Anthropic API key", "high",
          _B + rb"(?P<secret>sk-ant-(?:api|admin|oat|sid)\d\d-[A-Za-z0-9_-]{80,120})" + _ED, "sk-ant-", binary=True,
          at=(0,), line=True),
    _rule("secret.huggingface-token", "Hugging Face access token", "high",
          _B + rb"(?P<secret>(?:hf_|api_org_)[A-Za-z]{34})" + _E, ("hf_", "api_org_"), entropy=4.0, at=(0,), line=True),
    _rule("secret.grafana-cloud-token", "Grafana Cloud API token", "high",
          _B + rb"(?P<secret>glc_[A-Za-z0-9+/]{32,400}={0,2})", "glc_", entropy=3.5, at=(0,), line=True),
    _rule("secret.grafana-service-account-token", "Grafana service account token", "high",
          _B + rb"(?P<secret>glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})" + _E, "glsa_", at=(0,), line=True),
    _rule("secret.newrelic-key", "New Relic API / insert key", "high",
          _B + rb"(?P<secret>NRAK-[A-Z0-9]{27}|NRII-[A-Za-z0-9_-]{32}|NRAA-[a-f0-9]{27})" + _ED,
          ("nrak-", "nrii-", "nraa-"), entropy=3.0, at=(0,), line=True),
    _rule("secret.sentry-auth-token", "Sentry auth token", "high",
          _B + rb"(?P<secret>sntry[su]_[A-Za-z0-9_=+/.-]{40,})", ("sntrys_", "sntryu_"), entropy=3.5,
          at=(0,), line=True),
    _rule("secret.sentry-dsn", "Sentry DSN", "medium",
          rb"https?://(?P<secret>[0-9a-f]{32})(?::[0-9a-f]{32})?@[A-Za-z0-9.-]+(?::\d+)?/\d+", "sentry",
          entropy=3.0, description="A Sentry DSN: lets anyone send events to the project.", anchors=("://",),
          at=(4, 5), line=True),
    _rule("secret.linear-api-key", "Linear API key", "high",
          _B + rb"(?P<secret>lin_api_[A-Za-z0-9]{40})" + _E, "lin_api_", at=(0,), line=True),
    _rule("secret.jwt", "JSON Web Token", "medium",
          _BD + rb"(?P<secret>eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,})" + _ED, "eyj",
          description="A signed JWT: may be a live session or API credential.", at=(0,), line=True),
    # --- further SaaS formats (closing gaps against Trivy's builtin rules) ------------------------
    _rule("secret.age-secret-key", "age encryption secret key", "high",
          _B + rb"(?P<secret>AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})" + _E, "age-secret-key-1",
          binary=True, at=(0,), line=True),
    _rule("secret.doppler-token", "Doppler token", "high",
          _B + rb"(?P<secret>dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44})" + _E,
          ("dp.pt.", "dp.st.", "dp.sa.", "dp.ct.", "dp.scim.", "dp.audit."), entropy=3.5, at=(0,), line=True),
    _rule("secret.dynatrace-token", "Dynatrace API token", "high",
          _B + rb"(?P<secret>dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64})" + _E, "dt0c01.", at=(0,), line=True),
    _rule("secret.easypost-api-key", "EasyPost production API key", "high",
          _B + rb"(?P<secret>EZAK[A-Za-z0-9]{54})" + _E, "ezak", entropy=3.5, at=(0,), line=True),
    _rule("secret.duffel-token", "Duffel live API token", "high",
          _B + rb"(?P<secret>duffel_live_[A-Za-z0-9_-]{43})" + _ED, "duffel_live_", at=(0,), line=True),
    _rule("secret.frameio-token", "Frame.io API token", "medium",
          _B + rb"(?P<secret>fio-u-[A-Za-z0-9_=-]{64})" + _ED, "fio-u-", at=(0,), line=True),
    _rule("secret.planetscale-token", "PlanetScale password / token", "high",
          _B + rb"(?P<secret>pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.-]{32,64})" + _ED,
          ("pscale_tkn_", "pscale_pw_", "pscale_oauth_"), entropy=3.5, at=(0,), line=True),
    _rule("secret.postman-api-key", "Postman API key", "high",
          _B + rb"(?P<secret>PMAK-[a-f0-9]{24}-[a-f0-9]{34})" + _E, "pmak-", at=(0,), line=True),
    _rule("secret.pulumi-token", "Pulumi access token", "high",
          _B + rb"(?P<secret>pul-[a-f0-9]{40})" + _E, "pul-", entropy=3.0, at=(0,), line=True),
    _rule("secret.sendinblue-api-key", "Brevo (Sendinblue) API key", "high",
          _B + rb"(?P<secret>xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16})" + _E, "xkeysib-", at=(0,), line=True),
    _rule("secret.shippo-token", "Shippo live API token", "high",
          _B + rb"(?P<secret>shippo_live_[a-f0-9]{40})" + _E, "shippo_live_", at=(0,), line=True),
    _rule("secret.clojars-token", "Clojars deploy token", "high",
          _B + rb"(?P<secret>CLOJARS_[a-z0-9]{60})" + _E, "clojars_", entropy=3.5, at=(0,), line=True),
    _rule("secret.adobe-client-secret", "Adobe client secret", "medium",
          _B + rb"(?P<secret>p8e-[A-Za-z0-9]{32})" + _E, "p8e-", entropy=3.5, at=(0,), line=True),
    _rule("secret.typeform-token", "Typeform personal token", "medium",
          _B + rb"(?P<secret>tfp_[A-Za-z0-9_.=-]{59})" + _ED, "tfp_", entropy=3.5, at=(0,), line=True),
    _rule("secret.mapbox-secret-token", "Mapbox secret token", "high",
          _BD + rb"(?P<secret>sk\.eyJ1Ijoi[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,})" + _ED, "sk.eyj1ijoi",
          at=(0,), line=True),
    _rule("secret.flutterwave-secret-key", "Flutterwave secret key", "high",
          _B + rb"(?P<secret>FLWSECK-[a-f0-9]{32}-X)" + _E, "flwseck-", at=(0,), line=True),
    _rule("secret.grafana-api-key", "Grafana API key (legacy)", "high",
          _BD + rb"(?P<secret>eyJrIjoi[A-Za-z0-9_=-]{70,400})" + _ED, "eyjrijoi", entropy=3.5, at=(0,), line=True),
    _rule("secret.facebook-secret", "Facebook app secret / access token", "high",
          _B + rb"(?P<secret>EAACEdEose0cBA[0-9A-Za-z]{20,})" + _E
          + rb"|(?i:facebook|fb)[\w.-]{0,20}(?i:secret|token)" + _ASSIGN + rb"(?P<secret2>[a-f0-9]{32})" + _E,
          ("eaacedeose0cba", "facebook", "fb_", "fb-", "fb."), entropy=3.0,
          anchors=("eaacedeose0cba", "secret", "token"), at=(0, *range(2, 29))),
    _rule("secret.k8s-dockerconfig-secret", "Kubernetes registry secret (.dockerconfigjson)", "high",
          rb"""(?P<key>\.dockerconfigjson|\.dockercfg)["']?\s*:\s*["']?(?P<secret>[A-Za-z0-9+/]{40,}={0,2})""",
          (".dockerconfigjson", ".dockercfg"), entropy=3.5, at=(0,)),
    # --- private keys ----------------------------------------------------------------------------
    _pem("rsa", b"RSA ", "RSA private key"),
    _pem("ec", b"EC ", "EC private key"),
    _pem("dsa", b"DSA ", "DSA private key"),
    _pem("openssh", b"OPENSSH ", "OpenSSH private key"),
    _pem("pkcs8", b"", "PKCS#8 private key"),
    _pem("encrypted", b"ENCRYPTED ", "Encrypted PKCS#8 private key", "medium"),
    _rule("secret.private-key-pgp", "PGP private key block", "high",
          rb"-----BEGIN PGP PRIVATE KEY BLOCK-----" + _BODY, "-----begin pgp private key block-----", binary=True,
          packaged_severity="medium", at=(0,)),
    _rule("secret.putty-private-key", "PuTTY private key", "high",
          rb"PuTTY-User-Key-File-[23]:[^\n]*+\n(?:[^\n]{0,1024}+\n){0,12}?Private-Lines:\s*+\d++\s{0,64}\n"
          rb"(?P<secret>[A-Za-z0-9+/=]{20,})",
          "putty-user-key-file-", binary=True, packaged_severity="medium", at=(0,)),
    # --- credential files ------------------------------------------------------------------------
    _rule("secret.aws-credentials-file", "AWS credentials file with a secret", "critical",
          rb"(?im)^[ \t]*(?P<key>aws_secret_access_key|aws_session_token)[ \t]*=[ \t]*(?P<secret>[^\s#]+)",
          ("aws_secret_access_key", "aws_session_token"), path=r"(?:^|/)\.aws/credentials$", scopes=frozenset({FILE}), fallback=True,
          line=True),
    _rule("secret.docker-config-auth", "Docker registry credentials (config.json auths)", "high",
          rb'"(?P<key>auth|identitytoken|registrytoken)"\s*:\s*"(?P<secret>[A-Za-z0-9+/=._-]{8,})"',
          ("auth", "token"), path=r"(?:^|/)(?:\.docker/config\.json|\.dockercfg|containers/auth\.json)$",
          scopes=frozenset({FILE}), fallback=True, at=(1, 9)),
    _rule("secret.git-credentials", "Git credential store entry", "high",
          rb"(?<![a-z+])[a-z+]{1,32}://(?P<key>[^:\s/@]++):(?P<secret>[^@\s/]++)@", "://",
          path=r"(?:^|/)(?:\.git-credentials|git/credentials)$", scopes=frozenset({FILE}), fallback=True, line=True),
    _rule("secret.netrc-password", ".netrc password", "high",
          rb"(?i)\bpassword\s+(?P<secret>\S+)", "password", requires=rb"(?i)\b(?:machine|default)\s",
          path=r"(?:^|/)[._]netrc$", scopes=frozenset({FILE}), fallback=True, at=(0,)),
    _rule("secret.npmrc-auth", "npm registry credential (.npmrc)", "high",
          rb"""(?i)(?P<key>_authToken|_auth|_password)\s*[=:]\s*["']?(?P<secret>[^\s"']+)""", ("_auth", "_password"),
          path=r"(?:^|/)(?:\.?npmrc|\.yarnrc(?:\.yml)?)$", scopes=frozenset({FILE}), fallback=True, at=(0,)),
    _rule("secret.pypirc-password", ".pypirc password", "high",
          rb"(?im)^[ \t]*(?P<key>password)[ \t]*[:=][ \t]*(?P<secret>\S+)", "password",
          path=r"(?:^|/)\.?pypirc$", scopes=frozenset({FILE}), fallback=True, line=True),
    _rule("secret.kubeconfig-credential", "Kubernetes kubeconfig credential", "high",
          rb"""(?m)^[ \t]*(?P<key>client-key-data|token|password|client-secret|id-token|refresh-token)[ \t]*:"""
          rb"""[ \t]*["']?(?P<secret>[A-Za-z0-9+/=._~-]{8,})""",
          ("client-key-data", "token", "password", "client-secret"), requires=rb"""(?m)^\s*kind:\s*["']?Config\b""", requires_literal=b"kind:",
          scopes=frozenset({FILE}), fallback=True, line=True),
    _rule("secret.dotenv-secret", "Secret in a .env file", "high",
          rb"""(?im)^[ \t]*(?:export[ \t]+)?(?P<key>[A-Z0-9_]{0,64}(?:PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|API_?KEY|"""
          rb"""PRIVATE_KEY|ACCESS_KEY|CREDENTIALS?|AUTH)[A-Z0-9_]{0,64})[ \t]*=[ \t]*["']?(?P<secret>[^\s"'#]{4,})""",
          ("pass", "secret", "token", "key", "credential", "auth"),
          path=r"(?:^|/)(?:\.env(?:\.[A-Za-z0-9_.-]+)?|[\w.-]+\.env)$", scopes=frozenset({FILE}), fallback=True,
          line=True),
    _rule("secret.wordpress-config", "WordPress wp-config.php secret", "high",
          rb"""define\(\s*['"](?P<key>DB_PASSWORD|(?:SECURE_)?AUTH_(?:KEY|SALT)|LOGGED_IN_(?:KEY|SALT)|NONCE_(?:KEY|SALT))"""
          rb"""['"]\s*,\s*['"](?P<secret>[^'"]{4,})['"]""", ("db_password", "auth_key"),
          path=r"(?:^|/)wp-config\.php$", scopes=frozenset({FILE}), fallback=True),
    _rule("secret.htpasswd-hash", "Password hash in an htpasswd file", "medium",
          rb"(?m)^(?P<key>[^:\s#]+):(?P<secret>\$(?:apr1|2[aby]|5|6)\$[^\s]+|\{SHA\}[A-Za-z0-9+/=]{28})",
          ("$apr1$", "$2", "$5$", "$6$", "{sha}"), path=r"(?:^|/)\.?htpasswd[^/]*$", scopes=frozenset({FILE}), fallback=True,
          line=True),
    _rule("secret.command-line-credential", "Credential passed on a command line", "high",
          rb"""(?i)\bcurl\b[^|;&\n]{0,200}?\s(?:-u|--user)[\s=]+["']?(?P<key>[^\s:'"]+):(?P<secret>[^\s'"]+)"""
          rb"""|--(?!(?:no|disabled?|skip|ask|prompt|allow|empty|insecure|without|with|use|show|print|reset)-)"""
          rb"""(?P<key2>[\w-]{0,40}(?:password|passwd|token|api-?key|secret))(?:=|\s+)["']?(?P<secret2>[^\s"';&|-][^\s"';&|]*)"""
          rb"""|\b(?:mysql|mysqldump|mysqladmin)\b[^|;&\n]{0,200}?\s-p["']?(?P<secret3>[^\s'";&|]{3,})"""
          rb"""|\bsshpass\s+-p\s*["']?(?P<secret4>[^\s'";&|]+)"""
          rb"""|(?P<key5>_authToken)[=\s]+["']?(?P<secret5>[^\s"';&|]+)"""
          rb"""|\becho\s+(?:-e\s+)?["']?(?P<key6>[\w.-]+):(?P<secret6>[^\s"':|]+)["']?\s*\|\s*(?:sudo\s+)?chpasswd""",
          ("curl", "--", "mysql", "sshpass", "_authtoken", "chpasswd"), path=_HISTORY_FILES.pattern,
          scopes=frozenset({FILE, HISTORY}), fallback=True,
          description="A password or token given to curl, mysql, sshpass, chpasswd or a --password/--token flag; "
                      "RUN lines and shell histories keep it."),
    # --- URLs with credentials -------------------------------------------------------------------
    _rule("secret.database-url", "Database URL with a password", "medium",
          rb"""(?i)\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver|oracle|"""
          rb"""couchdb|cockroachdb|clickhouse)(?:\+\w+)?://(?P<key>[^\s:/@"'<>]{1,64}):"""
          rb"""(?P<secret>[^\s:/@"'<>]{3,128})@[^\s/"'<>]+""", "://", entropy=1.5, fallback=True,
          requires=_USERINFO, line=True),
    _rule("secret.url-credentials", "URL with embedded credentials", "medium",
          rb"""(?i)\b(?:https?|ftps?|sftp|ssh|git|svn|smb|ldaps?)://(?P<key>[^\s:/@"'<>]{1,64}):"""
          rb"""(?P<secret>[^\s:/@"'<>]{3,128})@[A-Za-z0-9.-]+""", "://", entropy=1.5, fallback=True,
          requires=_USERINFO, at=(3, 4, 5), line=True),
    # --- generic ---------------------------------------------------------------------------------
    _rule("secret.generic-secret-assignment", "Password or secret assigned in a config file", "medium",
          rb"""(?i)(?<![:/])(?P<key>password|passwd|secret|api[_-]?key|access[_-]?key|auth[_-]?token|client[_-]?secret)"""
          rb"""(?:["']?[ \t]*=>?[ \t]*|["'][ \t]*:[ \t]*|:[ \t]+)(?P<q>["']?)(?!arn:|https?:)"""
          rb"""(?P<secret>[^\s"'`;,<>{}()\[\]]{6,})(?P=q)""",
          ("pass", "secret", "key", "token"), entropy=2.5,
          path=r"\.(?:ini|conf|cfg|cnf|config|properties|ya?ml|toml|json|xml)$", scopes=frozenset({FILE}), fallback=True,
          description="A password/secret/API key assigned a literal value in a configuration file.",
          at=(0, 3, 4, 5, 6, 7), line=True),
)

RULES_BY_ID: dict[str, SecretRule] = {rule.id: rule for rule in RULES}
assert len(RULES_BY_ID) == len(RULES), "duplicate secret rule id"
