"""Precision sweep: the secret file detector over this machine's real files.

CPython's stdlib and site-packages, /etc, /usr/share/doc and the system's libraries and programs are
full of test keys, documentation examples, compiled-in self-test keys and high-entropy data; none of it may come out high or critical (threats.md: a plain Debian
or CPython image raises nothing high). Bounded in file count and size so that it stays a unit test.
"""

from __future__ import annotations

import collections
import os
import sysconfig

from explorer.detectors.secrets import SecretFileDetector
from explorer.core.findings import at_least
from explorer.core.model import EntryKind, FileEntry

MAX_FILES_PER_ROOT = 12000
MAX_SIZE = 4 * 1024 * 1024


def _roots() -> list[str]:
    paths = sysconfig.get_paths()
    roots = [paths["stdlib"], paths["purelib"], paths["platlib"], "/etc", "/usr/share/doc",
             "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/bin"]
    out: list[str] = []
    for root in roots:
        real = os.path.realpath(root)
        if os.path.isdir(real) and real not in out:
            out.append(real)
    return out


def _files(root: str):
    count = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            try:
                size = os.path.getsize(path)
            except OSError:
                continue
            if 0 < size <= MAX_SIZE:
                yield path, size
                count += 1
                if count >= MAX_FILES_PER_ROOT:
                    return


def test_no_high_findings_in_real_os_and_python_files():
    detector = SecretFileDetector()
    seen: set[str] = set()
    scanned = 0
    high = []
    by_severity = collections.Counter()
    medium = []
    for root in _roots():
        for path, size in _files(root):
            if path in seen:
                continue
            seen.add(path)
            entry = FileEntry(path=path, kind=EntryKind.FILE, layer=0, size=size)
            if not detector.wants(entry):
                continue
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            scanned += 1
            for m in detector.scan(entry, data):
                by_severity[m.severity] += 1
                if at_least(m.severity, "high"):
                    high.append((m.severity, m.rule_id, path, m.line, m.evidence))
                elif m.severity == "medium":
                    medium.append((m.rule_id, path, m.line, m.evidence, m.reason))
    print(f"\nsweep: {scanned} files, findings by severity {dict(by_severity)}")
    for row in medium:
        print("medium:", *row)
    assert scanned > 1000, "the sweep found too few files to mean anything"
    assert high == []
