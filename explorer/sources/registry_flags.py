"""The command-line flags of the registry source, apart from its client: every command's parser
carries them, and building the parser must not import `requests` and the distribution client
(explorer.sources.registry reads the parsed values with `options_from_args`)."""

from __future__ import annotations

import argparse

ENV_USER = "EXPLORER_REGISTRY_USERNAME"
ENV_PASSWORD = "EXPLORER_REGISTRY_PASSWORD"


def add_registry_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("registry", "for an image read from a registry (docker://REF, registry:REF)")
    group.add_argument("--username", metavar="USER", help="registry user (the password comes from --password-stdin "
                                                          f"or ${ENV_PASSWORD})")
    group.add_argument("--password-stdin", action="store_true", help="read the registry password from stdin")
    group.add_argument("--ca-cert", metavar="FILE", help="trust this CA (PEM) besides the system store")
    group.add_argument("--insecure-registry", metavar="HOST", action="append", default=[],
                       help="allow plain HTTP and an unchecked certificate for HOST[:PORT] (loopback always may "
                            "use plain HTTP)")
