"""Files whose extension lies about their content: an ELF named `.png`, a shell script named `.log`.

`wants()` only takes files with an image/document/media extension; `scan()` looks at the first bytes
and asks libmagic only when they start like an executable, so the common case costs a slice compare.
"""

from __future__ import annotations

import posixpath
import re
from typing import Iterable

from explorer.detectors.base import FileDetector
from explorer.core.rules import RuleInfo
from explorer.core.findings import Match
from explorer.core.model import FileEntry

EXTENSION_MISMATCH = RuleInfo(
    "suspicious.disguise.extension-mismatch", "suspicious", "high", "Executable disguised by its file extension",
    "libmagic says the content is an executable (ELF, PE, Mach-O) or a script while the name ends in an image, "
    "document or media extension. High for ELF, medium for other executables and scripts, low for scripts in "
    "documentation or test paths.")

DISGUISE_EXTENSIONS = frozenset({
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".tif", ".tiff", ".svg", ".txt", ".log", ".css",
    ".pdf", ".md", ".csv", ".mp3", ".mp4", ".wav", ".avi", ".mov", ".mkv", ".ttf", ".otf", ".woff", ".woff2",
    ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".rtf", ".dat", ".html", ".htm", ".xml", ".json", ".yml",
    ".yaml", ".ini", ".cfg", ".conf", ".pid", ".lock", ".bak", ".tmp",
})
_HEADERS = (
    (b"\x7fELF", "ELF"),
    (b"MZ", "PE"),
    (b"\xfe\xed\xfa\xce", "Mach-O"), (b"\xfe\xed\xfa\xcf", "Mach-O"),
    (b"\xce\xfa\xed\xfe", "Mach-O"), (b"\xcf\xfa\xed\xfe", "Mach-O"), (b"\xca\xfe\xba\xbe", "Mach-O"),
    (b"#!", "script"),
)
_ELF_MIMES = frozenset({"application/x-executable", "application/x-pie-executable", "application/x-sharedlib",
                        "application/x-object", "application/x-elf", "application/x-coredump"})
_BINARY_MIMES = frozenset({"application/vnd.microsoft.portable-executable", "application/x-dosexec",
                           "application/x-msdownload", "application/x-mach-binary", "application/x-mach-o"})
_SCRIPT_MIME = re.compile(r"^text/x-(?:shellscript|script\.\w+|python|perl|ruby|php|tcl|lua|awk|java-source)|"
                          r"^application/x-(?:shellscript|python|perl|ruby|php|awk)|^text/x-\w*script")
_DOC_OR_TEST = re.compile(r"/(?:doc|docs|examples?|tests?|testdata|test_data|fixtures?|samples?)/")
_MIN_SIZE = 16


def _extension(name: str) -> str:
    return posixpath.splitext(name.lower())[1]


def _libmagic(data: bytes) -> tuple[str, str] | None:
    """(mime, description) from libmagic, or None when python-magic/libmagic cannot be loaded."""
    try:
        import magic
    except ImportError:  # libmagic is a system library: a machine may lack it
        return None
    head = data[:8192]
    try:
        return magic.from_buffer(head, mime=True), magic.from_buffer(head)
    except Exception:  # libmagic errors on odd input are not the image's fault to crash us
        return None


class ExtensionMismatch(FileDetector):
    name = "heuristic-extension-mismatch"
    RULES = (EXTENSION_MISMATCH,)

    def wants(self, entry: FileEntry) -> bool:
        if entry.size < _MIN_SIZE:
            return False
        name = entry.name.lower()
        # splitext's extension is the name from its last dot, if any (without the splitext call for
        # the common name whose last part is no disguise extension)
        return name[name.rfind("."):] in DISGUISE_EXTENSIONS and _extension(entry.name) in DISGUISE_EXTENSIONS

    def scan(self, entry: FileEntry, data: bytes) -> Iterable[Match]:
        header = next((kind for magic_bytes, kind in _HEADERS if data.startswith(magic_bytes)), None)
        if header is None:
            return
        found = _libmagic(data)
        reason = ""
        if found is None:
            mime, description = "unknown", f"{header} header"
            reason = "libmagic unavailable: judged by the header bytes"
            if header == "PE":  # two bytes alone are too weak
                return
        else:
            mime, description = found
        if mime in _ELF_MIMES or (found is None and header == "ELF"):
            severity = "high"
        elif mime in _BINARY_MIMES or (found is None and header == "Mach-O"):
            severity = "medium"
        elif _SCRIPT_MIME.match(mime) or (found is None and header == "script"):
            severity = "medium"
            if _DOC_OR_TEST.search(entry.path):
                severity, reason = "low", "script in a documentation or test path"
        else:
            return
        yield EXTENSION_MISMATCH.match(
            f"named {_extension(entry.name)}, content {mime} ({description})",
            severity=severity, reason=reason)
