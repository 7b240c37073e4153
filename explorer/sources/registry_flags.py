"""The command-line flags of the registry source, apart from its client: every command's parser
carries them, and building the parser must not import `requests` and the distribution client
(`registry_options` turns the parsed values into the RegistryOptions the client takes)."""

from __future__ import annotations

import argparse
import os
import sys

from explorer.core.options import RegistryOptions
from explorer.core.errors import SourceError

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


def registry_options(args: argparse.Namespace) -> RegistryOptions:
    """The RegistryOptions the flags of `add_registry_flags` ask for (the command line's options builder
    calls it); the password is read from stdin here with --password-stdin."""
    username = args.username
    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise SourceError("--password-stdin: no password on stdin")
    elif username:
        password = os.environ.get(ENV_PASSWORD)
    if password and not username:
        raise SourceError("--password-stdin needs --username")
    ca = args.ca_cert
    if ca and not os.path.isfile(ca):
        raise SourceError(f"--ca-cert {ca}: no such file")
    return RegistryOptions(username, password, ca, tuple(args.insecure_registry or ()))
