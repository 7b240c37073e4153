"""Heuristic detectors: one small module per family, each class one role from `detectors.base`.

`HEURISTICS` is the explicit registry (importing this package registers nothing anywhere);
`heuristic_rule_catalog()` lists every rule id these classes can emit, for SARIF `tool.driver.rules`.
"""

from __future__ import annotations

from explorer.core.rules import RuleInfo
from explorer.detectors.heuristics.accounts import PasswdAccounts, ShadowPasswords, SudoersRules
from explorer.detectors.heuristics.caches import PackageCaches
from explorer.detectors.heuristics.container_config import ContainerRisks
from explorer.detectors.heuristics.disguise import ExtensionMismatch
from explorer.detectors.heuristics.dropped import DroppedExecutables
from explorer.detectors.heuristics.image_config import BuildHistoryRisks, ConfigRisks
from explorer.detectors.heuristics.monero import MinerPoolConfig, MoneroWallets
from explorer.detectors.heuristics.persistence import PersistenceFiles
from explorer.detectors.heuristics.preload import LdSoPreload
from explorer.detectors.heuristics.setuid import SetuidAdded
from explorer.detectors.heuristics.ssh_keys import AuthorizedKeysChanged

HEURISTICS: tuple[type, ...] = (
    # file content
    PasswdAccounts, ShadowPasswords, SudoersRules, LdSoPreload, PersistenceFiles, DroppedExecutables,
    ExtensionMismatch, MoneroWallets, MinerPoolConfig,
    # a layer's changes
    AuthorizedKeysChanged, SetuidAdded, PackageCaches,
    # config and history
    ConfigRisks, BuildHistoryRisks, ContainerRisks,
)


def heuristic_rule_catalog() -> list[RuleInfo]:
    """(id, category, severity, title, description) of every rule, sorted by id, each once."""
    rules: dict[str, RuleInfo] = {}
    for cls in HEURISTICS:
        for rule in cls.RULES:
            rules.setdefault(rule.id, rule)
    return sorted(rules.values(), key=lambda rule: rule.id)


__all__ = ["HEURISTICS", "RuleInfo", "heuristic_rule_catalog"]
