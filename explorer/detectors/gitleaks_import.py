"""Converter: gitleaks' rule set into explorer's vendored rules and their test examples.

    python -m explorer.detectors.gitleaks_import GITLEAKS_DIR [--commit SHA]

GITLEAKS_DIR is a checkout or export of github.com/gitleaks/gitleaks (MIT). It writes

- `explorer/data/gitleaks.toml`: `config/gitleaks.toml` with the MIT notice and the commit on top, less the
  rules that a built-in rule already covers (COVERED), that are left out on purpose (LEFT_OUT) or that
  Python's `re` cannot compile; each kept rule gets our `severity` key (`medium` for gitleaks'
  semi-generic "name near a value" rules, `high` for the token formats with a prefix of their own);
- `tests/data/gitleaks_examples.json`: per rule, the true-positive (`tps`) and false-positive (`fps`)
  examples that gitleaks validates its rules with in `cmd/generate/config/rules/*.go`.

The Go sources build most examples with calls (`utils.GenerateSampleSecrets("x", secrets.NewSecret(
utils.AlphaNumeric("32")))`): a small evaluator of the Go expressions they use (string literals, `+`,
slices, maps, `append`, and the generator functions, re-implemented here) computes them; a random
value is drawn from its regex with a seeded generator, so a re-run on the same commit writes the same
file. An example that uses anything else is left out and counted in the output. Nothing of gitleaks'
Go code is kept.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import re._parser as sre  # noqa: the parser of Python's own `re` (generating a string from a pattern)
import subprocess
import sys
import tomllib
from pathlib import Path

from explorer.detectors.gitleaks_config import python_regex
from explorer.detectors.regex_parts import in_class

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "explorer" / "data" / "gitleaks.toml"
EXAMPLES = ROOT / "tests" / "data" / "gitleaks_examples.json"

COVERED: dict[str, str] = {
    "adobe-client-secret": "secret.adobe-client-secret",
    "age-secret-key": "secret.age-secret-key",
    "alibaba-access-key-id": "secret.alibaba-access-key-id",
    "anthropic-api-key": "secret.anthropic-api-key",
    "anthropic-admin-api-key": "secret.anthropic-api-key",
    "atlassian-api-token": "secret.atlassian-api-token",
    "aws-access-token": "secret.aws-access-key-id",
    "azure-ad-client-secret": "secret.azure-ad-client-secret",
    "clojars-api-token": "secret.clojars-token",
    "databricks-api-token": "secret.databricks-token",
    "digitalocean-access-token": "secret.digitalocean-token",
    "digitalocean-pat": "secret.digitalocean-token",
    "digitalocean-refresh-token": "secret.digitalocean-token",
    "doppler-api-token": "secret.doppler-token",
    "duffel-api-token": "secret.duffel-token",
    "dynatrace-api-token": "secret.dynatrace-token",
    "easypost-api-token": "secret.easypost-api-key",
    "facebook-secret": "secret.facebook-secret",
    "flutterwave-secret-key": "secret.flutterwave-secret-key",
    "frameio-api-token": "secret.frameio-token",
    "gcp-api-key": "secret.gcp-api-key",
    "github-app-token": "secret.github-app-token",
    "github-fine-grained-pat": "secret.github-fine-grained-pat",
    "github-oauth": "secret.github-oauth-token",
    "github-pat": "secret.github-pat",
    "github-refresh-token": "secret.github-refresh-token",
    "gitlab-cicd-job-token": "secret.gitlab-token",
    "gitlab-deploy-token": "secret.gitlab-token",
    "gitlab-feature-flag-client-token": "secret.gitlab-token",
    "gitlab-feed-token": "secret.gitlab-token",
    "gitlab-incoming-mail-token": "secret.gitlab-token",
    "gitlab-kubernetes-agent-token": "secret.gitlab-token",
    "gitlab-oauth-app-secret": "secret.gitlab-token",
    "gitlab-pat": "secret.gitlab-pat",
    "gitlab-pat-routable": "secret.gitlab-pat",
    "gitlab-ptt": "secret.gitlab-token",
    "gitlab-rrt": "secret.gitlab-token",
    "gitlab-runner-authentication-token": "secret.gitlab-token",
    "gitlab-runner-authentication-token-routable": "secret.gitlab-token",
    "gitlab-scim-token": "secret.gitlab-token",
    "grafana-api-key": "secret.grafana-api-key",
    "grafana-cloud-api-token": "secret.grafana-cloud-token",
    "grafana-service-account-token": "secret.grafana-service-account-token",
    "hashicorp-tf-api-token": "secret.terraform-cloud-token",
    "heroku-api-key": "secret.heroku-api-key",
    "heroku-api-key-v2": "secret.heroku-api-key",
    "huggingface-access-token": "secret.huggingface-token",
    "huggingface-organization-api-token": "secret.huggingface-token",
    "jwt": "secret.jwt",
    "linear-api-key": "secret.linear-api-key",
    "mailchimp-api-key": "secret.mailchimp-api-key",
    "mailgun-private-api-token": "secret.mailgun-api-key",
    "new-relic-insert-key": "secret.newrelic-key",
    "new-relic-user-api-key": "secret.newrelic-key",
    "npm-access-token": "secret.npm-token",
    "openai-api-key": "secret.openai-api-key",
    "planetscale-api-token": "secret.planetscale-token",
    "planetscale-oauth-token": "secret.planetscale-token",
    "planetscale-password": "secret.planetscale-token",
    "postman-api-token": "secret.postman-api-key",
    "private-key": "secret.private-key-pkcs8",
    "pulumi-api-token": "secret.pulumi-token",
    "pypi-upload-token": "secret.pypi-token",
    "rubygems-api-token": "secret.rubygems-api-key",
    "sendgrid-api-token": "secret.sendgrid-api-key",
    "sendinblue-api-token": "secret.sendinblue-api-key",
    "sentry-org-token": "secret.sentry-auth-token",
    "sentry-user-token": "secret.sentry-auth-token",
    "shippo-api-token": "secret.shippo-token",
    "shopify-access-token": "secret.shopify-token",
    "shopify-custom-access-token": "secret.shopify-token",
    "shopify-private-app-access-token": "secret.shopify-token",
    "shopify-shared-secret": "secret.shopify-token",
    "slack-app-token": "secret.slack-token",
    "slack-bot-token": "secret.slack-token",
    "slack-legacy-bot-token": "secret.slack-token",
    "slack-legacy-token": "secret.slack-token",
    "slack-legacy-workspace-token": "secret.slack-token",
    "slack-user-token": "secret.slack-token",
    "slack-webhook-url": "secret.slack-webhook",
    "square-access-token": "secret.square-access-token",
    "stripe-access-token": "secret.stripe-secret-key",
    "telegram-bot-api-token": "secret.telegram-bot-token",
    "twilio-api-key": "secret.twilio-api-key",
    "typeform-api-token": "secret.typeform-token",
    "vault-batch-token": "secret.hashicorp-vault-token",
    "vault-service-token": "secret.hashicorp-vault-token",
}
"""gitleaks rule -> the built-in rule that covers its provider (the gitleaks rule is not vendored)."""

LEFT_OUT: dict[str, str] = {
    "generic-api-key": "a name near any value: the built-in secret.generic-secret-assignment (config files, "
                       "medium) covers assignments; gitleaks' version ran on every text holding `key`, `api` or "
                       "`token` and was half the cost of a scan",
    "curl-auth-header": "covered by secret.command-line-credential (RUN lines and shell histories)",
    "curl-auth-user": "covered by secret.command-line-credential (RUN lines and shell histories)",
    "lob-api-key": "its keywords (`test_`, `live_`) are in most source files and its regex cannot be run near "
                   "them (the name `lob` comes first, at any distance): it searched whole texts for an obscure format",
    "lob-pub-api-key": "publishable keys; its keywords (`_pub`) are common and its regex cannot be run near them",
    "kubernetes-secret-yaml": "its regex (a Secret's `data:` up to 200 bytes after `kind: Secret`, in either "
                              "order) costs more than linear time in Python's `re` on hostile input; "
                              "secret.generic-secret-assignment reads `password:` entries of YAML files",
    "mapbox-api-token": "public tokens (`pk.`), which web pages ship by design; the secret ones (`sk.`) are "
                        "secret.mapbox-secret-token",
    "pkcs12-file": "a path-only rule (no regex)",
}
"""gitleaks rule -> why it is not vendored although no one built-in rule covers its provider."""

SEMI_GENERIC = re.compile(r"^\(\?i\)\[\\w\.-\]\{0,50\}\?\(\?:")
"""gitleaks' semi-generic rules (`GenerateSemiGenericRegex`: a name, an operator, a value) start so."""

NOTICE = """\
# Vendored from gitleaks (https://github.com/gitleaks/gitleaks), config/gitleaks.toml at commit {commit}.
# Written by `python -m explorer.detectors.gitleaks_import GITLEAKS_DIR`: do not edit, re-run it.
# Findings of these rules are `secret.gitleaks.<id>`; `severity` is ours (gitleaks ignores it).
#
# Not vendored, covered by a built-in rule (gitleaks id -> explorer rule):
{covered}
# Not vendored, on purpose:
{left_out}
#
# gitleaks' licence:
{licence}
"""


# --- a string from a regex (gitleaks' secrets.NewSecret, which uses lucasjones/reggen) ---------------

_PRINTABLE = [chr(c) for c in range(0x21, 0x7f)]


def _generate(parsed, rng: random.Random) -> str:
    out = []
    for op, arg in parsed:
        if op is sre.LITERAL:
            out.append(chr(arg))
        elif op is sre.NOT_LITERAL:
            out.append(rng.choice([c for c in _PRINTABLE if ord(c) != arg and c.isalnum()]))
        elif op is sre.ANY:
            out.append(rng.choice([c for c in _PRINTABLE if c.isalnum()]))
        elif op is sre.IN:
            choices = [c for c in _PRINTABLE if in_class(ord(c), arg)] or [" "]
            out.append(rng.choice(choices))
        elif op is sre.BRANCH:
            out.append(_generate(rng.choice(arg[1]), rng))
        elif op is sre.SUBPATTERN:
            out.append(_generate(arg[3], rng))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, high, sub = arg
            high = low + 1 if high is sre.MAXREPEAT else high
            out.extend(_generate(sub, rng) for _ in range(rng.randint(low, high)))
        elif op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            continue
        else:
            raise Unevaluable(f"regex op {op}")
    return "".join(out)


def sample(regex: str, rng: random.Random) -> str:
    """A string that `regex` (Go syntax) matches, drawn with `rng`."""
    return _generate(sre.parse(python_regex(regex)), rng)


# --- a small evaluator of the Go expressions the rule files build their examples with -------------

class Unevaluable(Exception):
    """An expression uses something the evaluator does not know."""


_GO_TOKEN = re.compile(r"""(?P<raw>`[^`]*`)|(?P<str>"(?:\\.|[^"\\\n])*")|(?P<char>'(?:\\.|[^'\\])')"""
                       r"""|(?P<comment>//[^\n]*|/\*.*?\*/)|(?P<nl>\n)|(?P<ws>[ \t\r]+)"""
                       r"""|(?P<num>\d+)|(?P<name>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)|(?P<op>\.\.\.|:=|[-+*/%&|^<>=!]=?|[()\[\]{},;:.*&])""",
                       re.S)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "'": "'", "a": "\a", "b": "\b", "f": "\f",
            "v": "\v"}


def _unquote(text: str) -> str:
    def one(m: re.Match) -> str:
        body = m.group(1)
        if body[0] in "xuU":
            return chr(int(body[1:], 16))
        return _ESCAPES.get(body, body)
    return re.sub(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", one, text[1:-1])


def tokens(source: str) -> list[tuple[str, str]]:
    out = []
    for m in _GO_TOKEN.finditer(source):
        kind = m.lastgroup
        if kind in ("ws", "comment"):
            if kind == "comment" and "\n" in m.group(0):
                out.append(("nl", "\n"))
            continue
        out.append((kind, m.group(0)))
    return out


class Evaluator:
    """Evaluates the statements of one Go function body, keeping the string values it can compute."""

    def __init__(self, toks: list[tuple[str, str]], env: dict, rng: random.Random) -> None:
        self.toks, self.i, self.env, self.rng = toks, 0, env, rng

    def peek(self, skip_nl: bool = True) -> tuple[str, str]:
        j = self.i
        while skip_nl and j < len(self.toks) and self.toks[j][0] == "nl":
            j += 1
        return self.toks[j] if j < len(self.toks) else ("eof", "")

    def take(self, skip_nl: bool = True) -> tuple[str, str]:
        while skip_nl and self.i < len(self.toks) and self.toks[self.i][0] == "nl":
            self.i += 1
        tok = self.toks[self.i] if self.i < len(self.toks) else ("eof", "")
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        tok = self.take()
        if tok[1] != value:
            raise Unevaluable(f"expected {value}, got {tok[1]}")

    def expr(self):
        value = self.term()
        while self.peek(skip_nl=False)[1] == "+":
            self.take()
            right = self.term()
            if not isinstance(value, str) or not isinstance(right, str):
                raise Unevaluable("+ of non-strings")
            value += right
        return value

    def term(self):
        kind, text = self.take()
        if kind == "raw":
            return text[1:-1].replace("\r", "")
        if kind == "str":
            return _unquote(text)
        if kind == "num":
            return int(text)
        if kind == "op" and text == "[":
            self.expect("]")
            self.type_name()
            return self.composite(list)
        if kind == "op" and text == "&":
            raise Unevaluable("address-of")
        if kind == "name" and text == "map":
            self.expect("[")
            self.type_name()
            self.expect("]")
            self.type_name()
            return self.composite(dict)
        if kind == "name":
            if self.peek(skip_nl=False)[1] == "(":
                self.take()
                args = self.args(")")
                return self.call(text, args)
            if text in self.env:
                value = self.env[text]
                if value is None:
                    raise Unevaluable(f"{text} could not be computed")
                return value
            raise Unevaluable(f"unknown name {text}")
        raise Unevaluable(f"unexpected {text!r}")

    def type_name(self) -> None:
        kind, text = self.take()
        if text == "*":
            kind, text = self.take()
        if kind != "name":
            raise Unevaluable(f"type {text}")

    def composite(self, kind):
        self.expect("{")
        items: list = []
        pairs: dict = {}
        while self.peek()[1] != "}":
            first = self.expr()
            if self.peek()[1] == ":":
                self.take()
                pairs[first] = self.expr()
            else:
                items.append(first)
            if self.peek()[1] == ",":
                self.take()
        self.take()
        return pairs if kind is dict else items

    def args(self, close: str) -> list:
        out = []
        while self.peek()[1] != close:
            value = self.expr()
            if self.peek()[1] == "...":
                self.take()
                value = ("spread", value)
            out.append(value)
            if self.peek()[1] == ",":
                self.take()
        self.take()
        return out

    def call(self, name: str, args: list):
        plain = [a for a in args if not isinstance(a, tuple)]
        if name == "append":
            out = list(args[0])
            for a in args[1:]:
                out.extend(a[1] if isinstance(a, tuple) else [a])
            return out
        if name in ("secrets.NewSecret", "newPlausibleSecret"):
            for _ in range(100):
                value = sample(plain[0], self.rng)
                if name == "secrets.NewSecret" or re.search("[1-9]", value):
                    return value
            raise Unevaluable("no plausible secret")
        widths = {"utils.Numeric": "[0-9]{%s}", "utils.Hex": "[a-f0-9]{%s}", "utils.AlphaNumeric": "[a-z0-9]{%s}",
                  "utils.AlphaNumericExtendedShort": "[a-z0-9_-]{%s}", "utils.AlphaNumericExtended": r"[a-z0-9=_\-]{%s}",
                  "utils.AlphaNumericExtendedLong": r"[a-z0-9\/=_\+\-]{%s}"}
        if name in widths:
            return widths[name] % plain[0]
        if name == "utils.Hex8_4_4_4_12":
            return "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
        if name == "utils.GenerateSampleSecret":
            return f'{plain[0]}_api_token = "{plain[1]}"'
        if name == "utils.GenerateSampleSecrets":
            identifier, secret = plain
            return [t.replace("{i}", identifier).replace("{I}", identifier.upper()).replace("{s}", secret)
                    for t in self.env["@samples"].values()]
        if name == "fmt.Sprintf":
            return re.sub(r"%[vqd]", "%s", plain[0]) % tuple(plain[1:])
        if name == "strings.Repeat":
            return plain[0] * plain[1]
        if name in ("strings.ToUpper", "strings.ToLower"):
            return plain[0].upper() if name.endswith("Upper") else plain[0].lower()
        raise Unevaluable(f"call {name}")

    def statements(self) -> None:
        """Runs `name := expr`, `name = expr` at any depth; a statement it cannot compute sets None."""
        while self.i < len(self.toks):
            kind, text = self.toks[self.i]
            nxt = self.toks[self.i + 1][1] if self.i + 1 < len(self.toks) else ""
            before = self.toks[self.i - 1][0] if self.i else "nl"
            if kind == "name" and nxt in (":=", "=") and (before in ("nl", "op") or self.toks[self.i - 1][1] == "var"):
                self.i += 2
                start = self.i
                try:
                    self.env[text] = self.expr()
                except (Unevaluable, IndexError, KeyError, TypeError, ValueError, re.error):
                    self.env[text] = None
                    self.i = start
            else:
                self.i += 1


def _bodies(source: str) -> list[tuple[str, str]]:
    """(function name, body) of each top-level function of a Go file."""
    out = []
    for m in re.finditer(r"^func (\w+)\([^)]*\)[^{\n]*\{\n(.*?)^\}$", source, re.S | re.M):
        out.append((m.group(1), m.group(2)))
    return out


def samples_table(generate_go: str) -> dict:
    """The `samples` map of utils.GenerateSampleSecrets (the shapes a secret is written in)."""
    body = generate_go[generate_go.index("samples := map[string]string{"):]
    ev = Evaluator(tokens(body), {}, random.Random(0))
    ev.statements()
    table = ev.env.get("samples")
    if not table:
        raise SystemExit("gitleaks_import: utils.GenerateSampleSecrets' samples not found")
    return table


def examples(rules_dir: Path, samples: dict, valid) -> tuple[dict, int]:
    """rule id -> {"tps": [...], "fps": [...]} and the count of example lists left out. `valid(rule id,
    tps)` says whether a rule finds every drawn example: a draw that fails (a random value holding a stop
    word) is drawn again with the next seed, up to 20 times, as gitleaks' newPlausibleSecret does."""
    out: dict = {}
    missed = 0
    for go in sorted(rules_dir.glob("*.go")):
        source = go.read_text()
        top = {"@samples": samples, "nil": []}
        Evaluator(tokens(re.sub(r"^func .*?^\}$", "", source, flags=re.S | re.M)), top, random.Random(go.name)).statements()
        for _name, body in _bodies(source):
            found = re.search(r'RuleID:\s*"([^"]+)"', body)
            call = re.search(r"return utils\.Validate(WithPaths)?\(\s*\w+\s*,\s*(\w+)\s*,\s*(\w+)\s*\)", body)
            if not found or not call:
                continue
            rule_id = found.group(1)
            for seed in range(20):
                env = dict(top)
                Evaluator(tokens(body), env, random.Random(f"{rule_id}/{seed}")).statements()
                tps, fps = env.get(call.group(2)), env.get(call.group(3))
                if tps is None or fps is None:
                    print(f"  examples of {rule_id} not computed", file=sys.stderr)
                    missed += 1
                    break
                entry = {"tps": _examples(tps), "fps": _examples(fps)}
                if valid(rule_id, entry["tps"]):
                    break
            else:
                print(f"  examples of {rule_id}: a drawn true positive is not found", file=sys.stderr)
                missed += 1
                continue
            if tps is not None and fps is not None:
                out[rule_id] = entry
    return out, missed


def _finds_example(rule, example) -> bool:
    if isinstance(example, dict):
        return finds(rule, example["text"], example["path"])
    return finds(rule, example)


def _examples(value) -> list:
    """A list of texts, or of {"path", "text"} (ValidateWithPaths' maps), sorted."""
    if isinstance(value, dict):
        return [{"path": p, "text": t} for p, t in sorted(value.items())]
    return sorted(value)


def finds(rule, text: str, path: str | None = None) -> bool:
    """Whether `rule` reports something in `text` (its regex, entropy and allowlists)."""
    from explorer.detectors.secrets import RuleSet

    return bool(RuleSet([rule]).scan(text.encode(), path=path)[0])


# --- the vendored rules file -----------------------------------------------------------------------

def _blocks(text: str) -> tuple[str, list[str]]:
    """The TOML text before the first [[rules]], and each [[rules]] block."""
    parts = re.split(r"^(?=\[\[rules\]\]$)", text, flags=re.M)
    return parts[0], parts[1:]


def _our_keys(rule: dict) -> str:
    """The lines of our keys for a vendored rule: `severity`, `keywordAt` (where a match can start,
    from its regex), and `secretGroup` when gitleaks leaves it to the first group."""
    from explorer.detectors.gitleaks_rules import keyword_starts, vendored_regex

    compiled = re.compile(vendored_regex(rule["regex"]))
    keywords = tuple(k.lower().encode() for k in rule.get("keywords", ()))
    lines = [f'severity = "{"medium" if SEMI_GENERIC.match(rule["regex"]) else "high"}"']
    starts = keyword_starts(compiled, keywords)
    if starts:
        lines.append(f"keywordAt = [{', '.join(map(str, starts))}]")
    if "secretGroup" not in rule and compiled.groups:
        lines.append("secretGroup = 1")
    return "\n".join(lines) + "\n"


def vendor(toml_text: str, licence: str, commit: str) -> tuple[str, dict[str, str]]:
    """The vendored rules file, and gitleaks id -> why a rule was left out."""
    head, blocks = _blocks(toml_text)
    kept, skipped = [], {}
    for block in blocks:
        rule = tomllib.loads(block)["rules"][0]
        rid = rule["id"]
        why = (f"covered by {COVERED[rid]}" if rid in COVERED else LEFT_OUT.get(rid)
               or ("" if "regex" in rule else "a path-only rule (no regex)"))
        if not why:
            try:
                re.compile(python_regex(rule["regex"]))
            except re.error as exc:
                why = f"its regex does not compile in Python: {exc}"
        if why:
            skipped[rid] = why
            continue
        kept.append(re.sub(r'^(id = "[^"]+"\n)', lambda m: m.group(1) + _our_keys(rule), block, count=1, flags=re.M))
    head = "\n".join(line for line in head.splitlines() if not line.startswith("#")).lstrip("\n")
    notice = NOTICE.format(
        commit=commit,
        covered="\n".join(f"#   {k} -> {v}" for k, v in sorted(COVERED.items())),
        left_out="\n".join(f"#   {k}: {v}" for k, v in sorted(skipped.items()) if k not in COVERED),
        licence="\n".join(("# " + line).rstrip() for line in licence.strip().splitlines()))
    return notice + "\n" + head.rstrip() + "\n\n" + "".join(kept).rstrip() + "\n", skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m explorer.detectors.gitleaks_import", description=__doc__.split("\n")[0])
    parser.add_argument("gitleaks", type=Path, help="a checkout or export of the gitleaks repository")
    parser.add_argument("--commit", help="the gitleaks commit (default: `git rev-parse HEAD` in GITLEAKS_DIR)")
    args = parser.parse_args(argv)
    src: Path = args.gitleaks
    commit = args.commit or subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True,
                                           text=True, check=True).stdout.strip()
    text = (src / "config" / "gitleaks.toml").read_text()
    vendored, skipped = vendor(text, (src / "LICENSE").read_text(), commit)
    DATA.parent.mkdir(exist_ok=True)
    DATA.write_text(vendored)

    from explorer.detectors.gitleaks_rules import load_vendored  # the rules just written
    rules = load_vendored(vendored)
    samples = samples_table((src / "cmd" / "generate" / "config" / "utils" / "generate.go").read_text())
    found, missed = examples(src / "cmd" / "generate" / "config" / "rules", samples,
                             lambda rid, tps: rid not in rules or all(_finds_example(rules[rid], tp) for tp in tps))
    known = {rule["id"] for rule in tomllib.loads(text)["rules"]}
    found = {rid: entry for rid, entry in found.items() if rid in known}  # not rules of config/gitleaks.toml
    for rid, entry in found.items():
        entry["vendored"] = rid in rules
        if rid in skipped:
            entry["left_out"] = skipped[rid]
    EXAMPLES.write_text(json.dumps({"gitleaks_commit": commit, "licence": "MIT (gitleaks), see explorer/data/gitleaks.toml",
                                    "rules": found}, indent=1, sort_keys=True) + "\n")
    print(f"{len(rules)} rules vendored, {len(skipped)} left out ({sum(r in COVERED for r in skipped)} covered by "
          f"built-in rules); examples of {len(found)} rules, {missed} example lists not computed", file=sys.stderr)
    for rid, why in sorted(skipped.items()):
        print(f"  left out {rid}: {why}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
