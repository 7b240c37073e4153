"""The rules that problems of the image (damage, caps, unsafe paths) are reported under, as findings."""

PROBLEM_RULES = {
    "digest-mismatch": ("integrity.digest-mismatch", "high", "Layer blob does not match the manifest digest"),
    "diff-id-mismatch": ("integrity.diff-id-mismatch", "high", "Uncompressed layer does not match the config diff_id"),
    "truncated": ("integrity.truncated-layer", "high", "Layer blob cannot be read to its end"),
    "corrupt": ("integrity.corrupt-layer", "high",
                "Layer tar has a damaged header (what follows it is not read) or members Docker refuses"),
    "missing": ("integrity.missing-layer", "high", "Layer blob is missing"),
    "unsafe-path": ("suspicious.unsafe-tar-path", "medium", "Tar member with an absolute or climbing path"),
    "path-through-link": ("suspicious.tar-path-through-link", "medium",
                          "Tar member whose path runs through a symlink"),
    "too-deep": ("suspicious.tar-path-too-deep", "medium",
                 "Tar member with a path deeper or longer than any real file system allows; left out"),
    "decompression-bomb": ("suspicious.decompression-bomb", "high",
                           "Layer decompresses far beyond its stored size (--max-ratio); not read to its end"),
    "too-many-entries": ("integrity.layer-too-many-entries", "medium",
                         "Layer holds more tar members than --max-entries allows; not read to its end"),
    "names-too-long": ("integrity.layer-names-too-long", "medium",
                       "Layer's member names and link targets pass the cap on their total length; not read to its end"),
    "runtime-unreadable": ("integrity.runtime-path-unreadable", "low",
                           "A path the container changed could not be read from it (gone, or a socket)"),
    "too-large": ("integrity.image-too-large", "medium",
                  "Image holds more uncompressed data than --max-total allows; not read to its end"),
}


def problem_catalog() -> list[dict]:
    return [{"id": rid, "category": rid.split(".")[0], "severity": sev, "title": title, "description": title}
            for rid, sev, title in PROBLEM_RULES.values()]
