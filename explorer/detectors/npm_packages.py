"""npm packages for package verification: npm records no per-file hashes (a lockfile's `integrity` is
the sha512 of the package tarball, which an image does not hold), so what can be checked is ownership and
versions:

- `…/node_modules/NAME/package.json` (and `@scope/NAME`): the package that owns every file below its
  folder (nested `node_modules` excepted), so findings in them carry the package (verified: unknown);
- a lockfile of an application (`DIR/package-lock.json`, `DIR/npm-shrinkwrap.json`, or npm's hidden
  `DIR/node_modules/.package-lock.json`; DIR not itself inside `node_modules`) against the installed
  `package.json` files under DIR: an installed version other than the locked one is a package swapped
  after `npm ci` (`integrity.package.npm-lock-mismatch`).

Facts: `name\\tversion` for a package.json; `L\\tnode_modules/…\\tversion` lines for a lockfile.
"""

from __future__ import annotations

import json
import re

MAX_JSON = 1 << 20
"""A package.json larger than this is not read (real ones are a few KB)."""
MAX_LOCK = 32 << 20

_PACKAGE_JSON = re.compile(r"/node_modules/(?:@[^/]+/)?[^/@][^/]*/package\.json$")
LOCK_NAMES = ("/package-lock.json", "/npm-shrinkwrap.json", "/node_modules/.package-lock.json")


def is_package_json(path: str) -> bool:
    return _PACKAGE_JSON.search(path) is not None


def is_lockfile(path: str) -> bool:
    if not path.endswith(LOCK_NAMES):
        return False
    folder = lock_folder(path)
    return "/node_modules/" not in folder + "/"


def lock_folder(path: str) -> str:
    """DIR of DIR/package-lock.json or DIR/node_modules/.package-lock.json."""
    for name in LOCK_NAMES:
        if path.endswith(name):
            return path[: -len(name)]
    return path


def package_dir(path: str) -> str | None:
    """The installed package folder a file under node_modules lies in (`…/node_modules/@s/n`), or None."""
    at = path.rfind("/node_modules/")
    if at < 0:
        return None
    rest = path[at + len("/node_modules/"):].split("/")
    width = 2 if rest[0].startswith("@") else 1
    if len(rest) <= width:
        return None
    return path[: at + len("/node_modules/")] + "/".join(rest[:width])


def _clean(text) -> str:
    return str(text).replace("\t", " ").replace("\n", " ").strip()[:200]


def package_json(data: bytes) -> str | None:
    """`name\\tversion`, or None when it is no package manifest."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("name"), str) or not isinstance(doc.get("version"), str):
        return None
    return f"{_clean(doc['name'])}\t{_clean(doc['version'])}"


def lockfile(data: bytes) -> str | None:
    """`L\\tnode_modules/…\\tversion` per installed package a v2/v3 lockfile records (v1 has no paths)."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return None
    packages = doc.get("packages") if isinstance(doc, dict) else None
    if not isinstance(packages, dict):
        return None
    lines = []
    for key, value in packages.items():
        if (isinstance(key, str) and key.startswith("node_modules/") and isinstance(value, dict)
                and isinstance(value.get("version"), str) and not value.get("link")):
            lines.append(f"L\t{_clean(key)}\t{_clean(value['version'])}")
    return "\n".join(lines)
