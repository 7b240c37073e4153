"""The explicit list of detectors a scan runs. Adding a detector means adding it here."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import shutil
import tempfile
import weakref

from explorer.core.problems import problem_rules
from explorer.core.options import ScanOptions
from explorer.core.rules import RuleInfo
from explorer.detectors.base import FAILURE_RULE
from explorer.detectors.heuristics import HEURISTICS, heuristic_rule_catalog
from explorer.detectors.base import DetectorSet, FileDetector, ImageDetector, LayerDetector
from explorer.detectors.secrets import SecretConfigDetector, SecretFileDetector, secret_rule_catalog
from explorer.detectors.archives import ArchiveMembers
from explorer.detectors.encoded import EncodedPayloads
from explorer.detectors.packages import PackageFacts
from explorer.detectors.references import ReferenceFacts
from explorer.detectors.yara_scan import YaraDetector
from explorer.detectors import deepchecks


def build_detectors(options: ScanOptions = ScanOptions()) -> DetectorSet:
    private = None
    if not options.cache and not options.rules_folder:  # --no-cache: compiled rules in a folder of this run
        private = tempfile.mkdtemp(prefix="explorer-rules-")
        options = dataclasses.replace(options, rules_folder=private)
    yara = YaraDetector(options)
    detectors = DetectorSet()
    if private is not None:
        weakref.finalize(detectors, shutil.rmtree, private, True)
    detectors.file.append(yara)
    secrets = SecretFileDetector(options, shared=yara.keyword_hits)
    detectors.file.append(secrets)
    if secrets.user is not None:
        detectors.warnings += [f"--secret-rules: {line}" for line in secrets.user.warnings]
    detectors.image.append(SecretConfigDetector(options))
    detectors.file.append(PackageFacts())
    detectors.file.append(ReferenceFacts())
    for cls in HEURISTICS:
        instance = cls()
        if isinstance(instance, FileDetector):
            detectors.file.append(instance)
        if isinstance(instance, LayerDetector):
            detectors.layer.append(instance)
        if isinstance(instance, ImageDetector):
            detectors.image.append(instance)
    inner = [yara, SecretFileDetector(options, shared=yara.keyword_hits)]
    encoded = EncodedPayloads(inner)
    detectors.file.append(encoded)
    detectors.image.append(encoded)
    detectors.file.append(ArchiveMembers(inner))
    user = [RuleInfo(r.id, "secret", r.severity, r.title, r.description)
            for r in (secrets.user.rules if secrets.user else ())]
    rules = [*yara.rule_catalog(), *secret_rule_catalog(), *user, *heuristic_rule_catalog(), *deepchecks.rule_catalog(),
             *EncodedPayloads.RULES, *ArchiveMembers.RULES, *problem_rules(), FAILURE_RULE]
    catalog = [rule.as_dict() for rule in rules]
    detectors.catalog = sorted({r["id"]: r for r in catalog if r["id"] not in options.disabled}.values(),
                               key=lambda r: r["id"])
    versions = "\0".join(f"{type(d).__name__}:{d.version}" for d in detectors.file + detectors.layer + detectors.image)
    detectors.rules_sha256 = hashlib.sha256((yara.rules_sha256 + "\0" + versions).encode()).hexdigest()
    detectors.factory = functools.partial(build_detectors, options)
    return detectors
