"""YARA over every file of every layer: the bundled `yara_rules/` plus the user's `--rules` folders.

The secret detector's keyword rules (`secrets.keyword_source`, namespace KEYWORD_NAMESPACE) are
compiled into the same rule set, so one pass over a file serves both detectors: their matches are
never YARA findings; their occurrences are left in `keyword_hits` for the secret detector. A text
over KEYWORD_OFFSETS_MAX gets that pass in YARA's fast mode (the occurrences of a text dense with
keywords would cost memory in proportion), which says which keywords occur; their offsets then come
from `bytes.find` or windows (`secrets.occurring_offsets`).

The rule set is compiled once per run and cached on disk (compiled rules load in milliseconds,
compiling takes most of a second), keyed by the hash of every rule source and the YARA version,
so an edited rule or a new yara-python never reuses a stale cache. The files go in the one cache
folder (`explorer.core.locations.cache_dir`), checked as the layer cache checks it (no symlinks, nobody
else's, not writable by others), and with `ScanOptions.cache` off (--no-cache) none is read or
written there (only in the run's own `ScanOptions.rules_folder`, when it has one). Everything about the cache is best effort: when it cannot be read or written the rules
are simply compiled.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Iterable

import yara

import explorer
from explorer.core.locations import open_file, usable_folder
from explorer.core.locations import cache_dir
from explorer.core.rules import ATTRIBUTION, RuleInfo, titled
from explorer.core.options import ScanOptions
from explorer.detectors.base import FileDetector
from explorer.detectors.secrets import (KEYWORD_NAMESPACE, KEYWORD_OFFSETS_MAX, MAX_FILE_SIZE, Hits, SharedHits,
                                        is_keyword_rule, keyword_hits, keyword_source, occurring_offsets, path_reason,
                                        saturation_watch)
from explorer.core.errors import ExplorerError
from explorer.core.findings import CATEGORIES, SEVERITIES, Match
from explorer.core.model import EntryKind, FileEntry
from explorer.core.textsafe import safe

def _bundled_rules() -> Path:
    """The rules inside the installed package (`explorer/yara_rules`: pyproject.toml installs the
    top-level `yara_rules/` as that package's data), else `yara_rules/` beside the package (a checkout
    or an editable install)."""
    from importlib.resources import files
    packaged = files("explorer") / "yara_rules"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(explorer.__file__).resolve().parents[1] / "yara_rules"


RULES_DIR = _bundled_rules()
RULE_SUFFIXES = (".yar", ".yara")
SEEN_FILES = 4096
SEEN_OFFSETS = 1 << 16
"""Bounds of the outcomes kept for repeated contents (files, and keyword offsets in all; the oldest
go first). Small on purpose: every outcome kept is memory held for the whole scan, against a budget
of about 1 KiB per tar member for everything; repeats mostly sit close together (a package's copies
of one licence or one empty `__init__.py`). With 65,536 files and 2M offsets the bench image's
scan held ~90 MB more for about 0.5 s of CPU."""
SEEN_OFFSETS_PER_FILE = 1024
"""A file with more keyword offsets than this is not kept (big texts rarely repeat)."""
SCAN_TIMEOUT = 30
"""Seconds per file; a file that takes longer is reported (`suspicious.yara-timeout`), not skipped silently."""
EVIDENCE_CHARS = 80
SECRET_KEEP = 6
SECRET_STARS = 24

ELF_ONLY = re.compile(rb"^[ \t]*//[ \t]*explorer:[ \t]*elf-only[ \t]*\r?$", re.MULTILINE)
"""A rule file holding this line (`// explorer: elf-only`) says none of its rules can match anything
but an ELF file: it is run on data starting with ELF_MAGIC only. Modules cost on every file they
are imported for (YARA's `elf` module: ~41 us per file, more on ELF files), whatever the data."""
ELF_MAGIC = b"\x7fELF"

TIMEOUT_RULE = titled("suspicious.yara-timeout", "suspicious", "low",
                      "YARA could not finish scanning this file (timeout or scan error)")

# A private key or token shipped in a test fixture, an example or an installed third-party
# package is published, not leaked: still reported, at low severity with the reason.


SCORE_SEVERITY = ((90, "critical"), (75, "high"), (50, "medium"), (25, "low"), (0, "info"))
"""A `score` (0-100, the convention of signature-base, THOR and LOKI rules) read as a severity, for a rule
with no `severity` of its own."""


def rule_info(identifier: str, meta: dict) -> RuleInfo:
    """The rule's metadata, with the defaults for whatever is missing or invalid; a YARA rule's
    `description` is its title too."""
    rid = meta.get("id")
    category = meta.get("category")
    severity = meta.get("severity")
    description = meta.get("description")
    score = meta.get("score")
    if severity not in SEVERITIES and isinstance(score, int) and not isinstance(score, bool) and 0 <= score <= 100:
        severity = next(name for floor, name in SCORE_SEVERITY if score >= floor)
    rule = titled(rid if isinstance(rid, str) and rid.strip() else f"custom.{identifier}",
                  category if category in CATEGORIES else "suspicious",
                  severity if severity in SEVERITIES else "medium",
                  description if isinstance(description, str) and description.strip() else identifier)
    return rule._replace(attribution=tuple((key, safe(str(meta[key]))[:300]) for key in ATTRIBUTION
                                           if key in meta and str(meta[key]).strip()))


def _rule_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise ExplorerError(f"YARA rules folder not found: {safe(str(folder))}")
    files = sorted(p for p in folder.iterdir() if p.suffix in RULE_SUFFIXES and p.is_file())
    if not files:
        raise ExplorerError(f"no .yar/.yara files in YARA rules folder {safe(str(folder))}")
    return files


def _one_line(error: Exception) -> str:
    return safe(" ".join(str(error).split()))


class YaraDetector(FileDetector):
    name = "yara"
    version = "1"

    def __init__(self, options: ScanOptions = ScanOptions(), *, timeout: int = SCAN_TIMEOUT) -> None:
        self.timeout = timeout
        self._disabled = frozenset(options.disabled)
        self._files: dict[str, Path] = {}
        self._elf_only: set[str] = set()
        """Namespaces of rule files marked ELF_ONLY."""
        digest = hashlib.sha256()
        folders = [RULES_DIR, *(Path(d) for d in options.extra_rule_dirs)]
        for index, folder in enumerate(folders):
            prefix = "builtin" if index == 0 else f"extra{index}"
            for path in _rule_files(folder):
                namespace = f"{prefix}/{path.stem}"
                try:
                    source = path.read_bytes()
                except OSError as exc:
                    raise ExplorerError(f"cannot read YARA rules {safe(str(path))}: {_one_line(exc)}") from None
                self._files[namespace] = path
                if ELF_ONLY.search(source):
                    self._elf_only.add(namespace)
                for part in (namespace.encode(), source):
                    digest.update(len(part).to_bytes(8, "big") + part)
        self._keywords = keyword_source().encode()
        for part in (KEYWORD_NAMESPACE.encode(), self._keywords):
            digest.update(len(part).to_bytes(8, "big") + part)
        self.rules_sha256 = digest.hexdigest()
        """Hash of every rule source, the secret detector's keyword rules included (reported as tool.rules)."""
        self.keyword_hits = SharedHits()
        """The secret detector's keyword hits of the last pass (the keyword rules ride along in it)."""
        self._seen: dict[tuple[str, int], tuple[list, Hits]] = {}
        """(content digest, length) -> what a pass over those bytes found: a pass depends on the bytes
        alone (no externals), so a second copy (4,663 of a 746 MB image's 59,620 files repeat one in
        their layer) needs none; only the path-dependent reason is worked out again."""
        self._seen_offsets = 0
        key = hashlib.sha256(
            f"{self.rules_sha256}\0{yara.__version__}\0{yara.YARA_VERSION}".encode()).hexdigest()
        folder = Path(options.rules_folder) if options.rules_folder else cache_dir()
        self.cache_path = folder / f"yara-{key}.yarc"
        self._use_cache = options.cache or bool(options.rules_folder)
        cached = self._load_cached(self.cache_path)
        self.loaded_from_cache = cached is not None
        self._rules = cached or self._compile_and_cache(self.cache_path)
        """Every rule, the keyword rules included: the rule catalog, and the pass over ELF files up
        to MAX_FILE_SIZE bytes."""
        self._sets: dict[tuple[bool, bool], yara.Rules] = {}
        """The other rule sets, (keyword rules, ELF-only files) -> rules, loaded on first use: without
        the keyword rules for files over MAX_FILE_SIZE (whose keyword hits nobody takes), parts of
        files, and the full-mode pass after a fast one (`scan`); without the ELF-only files for data
        that is not ELF."""

    # -- compile / cache -------------------------------------------------------------------------

    def _load_cached(self, path: Path) -> yara.Rules | None:
        if not self._use_cache:
            return None
        try:
            usable_folder(path.parent)
            with os.fdopen(open_file(path), "rb") as compiled:
                return yara.load(file=compiled)
        except (yara.Error, OSError):
            return None

    def _rule_set(self, keywords: bool, elf: bool) -> yara.Rules:
        """The rules for one pass: with or without the keyword rules, with or without the ELF-only files."""
        key = (keywords, elf or not self._elf_only)  # no ELF-only file: the ELF set is the whole set
        if key == (True, True):
            return self._rules
        rules = self._sets.get(key)
        if rules is None:
            prefix = ("" if keywords else "plain-") + ("" if key[1] else "noelf-")
            path = self.cache_path.with_name(prefix + self.cache_path.name)
            rules = self._sets[key] = self._load_cached(path) or self._compile_and_cache(path, *key)
        return rules

    def _pick(self, data: bytes) -> tuple[yara.Rules, bool]:
        """The rule set for `data`, and whether it holds the keyword rules (texts up to
        MAX_FILE_SIZE, the secret detector's): the ELF-only files run on ELF data alone (a
        prefilter: on a 746 MB image they cost 3.9 of 9.3 CPU-s of YARA, on 977 of its 52,425 files)."""
        keywords = len(data) <= MAX_FILE_SIZE
        return self._rule_set(keywords, data[:4] == ELF_MAGIC), keywords

    def _compile_and_cache(self, path: Path, keywords: bool = True, elf: bool = True) -> yara.Rules:
        filepaths = {ns: str(p) for ns, p in self._files.items() if elf or ns not in self._elf_only}
        # the keyword rules go in as a file too (yara.compile takes files or sources, not both; rule
        # files stay files so that their relative includes resolve as before)
        with tempfile.TemporaryDirectory(prefix="explorer-yara-") as folder:
            if keywords:
                source = Path(folder) / "secret-keywords.yar"
                source.write_bytes(self._keywords)
                filepaths[KEYWORD_NAMESPACE] = str(source)
            try:
                rules = yara.compile(filepaths=filepaths)
            except yara.Error as exc:
                raise ExplorerError(self._blame(exc)) from None
        if not self._use_cache:
            return rules
        try:
            usable_folder(path.parent)
            fd, tmp = tempfile.mkstemp(prefix=".yara-", dir=path.parent)
            os.close(fd)
            try:
                rules.save(tmp)
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except (OSError, yara.Error):
            pass
        return rules

    def _blame(self, error: Exception) -> str:
        """One line naming the rule file that does not compile."""
        for path in self._files.values():
            try:
                yara.compile(filepath=str(path))
            except yara.Error as exc:
                return f"bad YARA rules in {safe(str(path))}: {_one_line(exc)}"
        return f"bad YARA rules: {_one_line(error)}"

    # -- catalog ---------------------------------------------------------------------------------

    def rule_catalog(self) -> list[RuleInfo]:
        """Every rule, sorted by id, for SARIF tool.driver.rules."""
        seen: dict[str, RuleInfo] = {}
        for rule in self._rules:
            if rule.is_private or is_keyword_rule(rule.meta):
                continue
            info = rule_info(rule.identifier, dict(rule.meta))
            seen.setdefault(info.id, info)
        seen.setdefault(TIMEOUT_RULE.id, TIMEOUT_RULE)
        return sorted(seen.values())

    # -- scanning --------------------------------------------------------------------------------

    chunked = True

    def wants(self, entry: FileEntry) -> bool:
        return entry.kind is EntryKind.FILE and entry.size > 0

    def scan(self, entry: FileEntry, data: bytes) -> Iterable[Match]:
        key = (entry.digest, len(data)) if entry.digest else None
        seen = self._seen.get(key) if key is not None else None
        if seen is None:
            rules, keywords = self._pick(data)
            large = keywords and len(data) > KEYWORD_OFFSETS_MAX
            found = self._match(rules, data, fast=large)
            if not isinstance(found, tuple):
                return found  # the timeout finding, or nothing
            found, saturated = found
            if large:
                content = []
                if any(hit.namespace != KEYWORD_NAMESPACE for hit in found):
                    # fast mode kept the first match of each string found, not always the first in
                    # the file (a regex's atoms): the rules alone again, for the exact evidence
                    exact = self._match(self._rule_set(False, data[:4] == ELF_MAGIC), data)
                    if not isinstance(exact, tuple):
                        return exact
                    content = self._content_matches(exact[0], data)
                seen = (content, occurring_offsets(data, found))
            else:
                seen = (self._content_matches(found, data), keyword_hits(found, saturated) if keywords else None)
            if key is not None:
                self._remember(key, seen)
        found_here, hits = seen
        if hits is not None:  # else the secret detector makes its own (fast) keyword pass
            self.keyword_hits.put(data, hits)
        return self._matches(entry, found_here)

    def scan_part(self, entry: FileEntry, data: bytes, newlines_before: int) -> Iterable[Match]:
        """Matches in a part of a file past its first `max_file_scan` bytes (`data`, preceded in the
        file by `newlines_before` newlines): the rule files that are not ELF-only (a part never starts
        the file), without the keyword rules (the secret detector sees the first part alone)."""
        found = self._match(self._rule_set(False, False), data)
        if not isinstance(found, tuple):
            return found
        return self._matches(entry, [(info, line + newlines_before if line is not None else None, evidence)
                                     for info, line, evidence in self._content_matches(found[0], data)])

    def _match(self, rules: yara.Rules, data: bytes, fast: bool = False) -> tuple[list, set[str]] | list[Match]:
        """(YARA's matches, keywords whose occurrences YARA stopped recording), or the timeout finding.
        `fast`: YARA's fast mode, which stops recording a string at its first match wherever the
        conditions need no more (the same rules match; a text over KEYWORD_OFFSETS_MAX: see `scan`)."""
        saturated: set[str] = set()
        try:
            return rules.match(data=data, timeout=self.timeout, warnings_callback=saturation_watch(saturated),
                               fast=fast), saturated
        except yara.Error as exc:  # TimeoutError is a yara.Error
            if TIMEOUT_RULE.id in self._disabled:
                return []
            return [Match(rule_id=TIMEOUT_RULE.id, category=TIMEOUT_RULE.category, severity=TIMEOUT_RULE.severity,
                          title=TIMEOUT_RULE.title, evidence=_one_line(exc)[:EVIDENCE_CHARS])]

    def _matches(self, entry: FileEntry, found_here: list[tuple[RuleInfo, int | None, str]]) -> list[Match]:
        matches = []
        for info, line, evidence in found_here:
            severity, reason = info.severity, ""
            if info.category == "secret" and info.severity in ("critical", "high", "medium"):
                reason = path_reason(entry.path)
                severity = "low" if reason else severity
            matches.append(Match(rule_id=info.id, category=info.category, severity=severity,
                                 title=info.title, evidence=evidence, line=line, reason=reason))
        matches.sort(key=lambda m: (m.line or 0, m.rule_id))
        return matches

    def _content_matches(self, found: list, data: bytes) -> list[tuple[RuleInfo, int | None, str]]:
        """(rule, line, evidence) of each rule that matched, all of it from the bytes alone."""
        out = []
        for hit in found:
            if hit.namespace == KEYWORD_NAMESPACE:
                continue
            info = rule_info(hit.rule, hit.meta)
            if info.id in self._disabled:
                continue
            offset, raw = _first_string(hit)
            line = data.count(b"\n", 0, offset) + 1 if offset is not None else None
            out.append((info, line, _evidence(raw, secret=info.category == "secret")))
        return out

    def _remember(self, key: tuple[str, int], seen: tuple[list, Hits]) -> None:
        """Keep a pass's outcome for the next copy of the same bytes, within SEEN_FILES files and
        SEEN_OFFSETS keyword offsets, the oldest dropped first (a copy of a dropped one gets a pass
        of its own)."""
        offsets = _offsets(seen)
        if offsets > min(SEEN_OFFSETS_PER_FILE, SEEN_OFFSETS):
            return
        while self._seen and (len(self._seen) >= SEEN_FILES or self._seen_offsets + offsets > SEEN_OFFSETS):
            self._seen_offsets -= _offsets(self._seen.pop(next(iter(self._seen))))
        self._seen[key] = seen
        self._seen_offsets += offsets


def _offsets(seen: tuple[list, Hits | None]) -> int:
    return sum(len(found) for found in (seen[1] or {}).values() if found is not None)


def _first_string(hit) -> tuple[int | None, bytes]:
    """Offset and bytes of the first matched string; `$ctx*` strings (file-kind markers such as
    `<?`) only when the rule matched nothing else."""
    best: tuple[bool, int, bytes] | None = None
    for string in hit.strings:
        context = string.identifier.startswith("$ctx")
        for instance in string.instances:
            candidate = (context, instance.offset, bytes(instance.matched_data))
            if best is None or candidate[:2] < best[:2]:
                best = candidate
    return (best[1], best[2]) if best is not None else (None, b"")


def _decode(raw: bytes) -> str:
    # `wide` strings match UTF-16LE: every second byte is NUL.
    if len(raw) >= 4 and raw[1::2].count(0) == len(raw) // 2:
        return raw.decode("utf-16-le", "replace")
    return raw.decode("utf-8", "backslashreplace")


def _evidence(raw: bytes, *, secret: bool) -> str:
    text = _decode(raw[: EVIDENCE_CHARS * 2])
    if secret:
        hidden = len(text) - SECRET_KEEP
        text = text[:SECRET_KEEP] + "*" * min(max(hidden, 0), SECRET_STARS)
    return safe(text[:EVIDENCE_CHARS])
