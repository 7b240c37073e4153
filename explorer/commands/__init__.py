"""One module per command; each opens the image, runs the stages and prints."""

from __future__ import annotations

import contextlib

from explorer.sources import ImageSource, open_image


@contextlib.contextmanager
def opened(args) -> ImageSource:
    source = open_image(args.image, getattr(args, "platform", None), registry_options(args),
                        getattr(args, "audit_log", None))
    try:
        yield source
    finally:
        source.close()


def registry_options(args):
    from explorer.sources.registry import options_from_args
    return options_from_args(args)


@contextlib.contextmanager
def layer_cache(args):
    """The layer-result cache the command line asked for (None with --no-cache); says on stderr when
    it could not be used."""
    import sys

    from explorer.cache import LayerCache

    cache = None if getattr(args, "no_cache", False) else LayerCache()
    try:
        yield cache
    finally:
        if cache is not None:
            cache.close()
            if cache.warning:
                from explorer.textsafe import safe
                print(f"explorer: warning: {safe(cache.warning)}", file=sys.stderr)


@contextlib.contextmanager
def report_stream(output: str | None):
    """The file a report is written to: --output FILE (closed after), else stdout."""
    import sys

    from explorer.errors import ExplorerError

    try:
        out = open(output, "w", encoding="utf-8") if output else sys.stdout
    except OSError as exc:
        raise ExplorerError(f"--output {output}: {exc.strerror}") from None
    try:
        yield out
    finally:
        if output:
            out.close()


BAD_INPUT_PROBLEMS = frozenset({"truncated", "corrupt", "missing", "digest-mismatch", "diff-id-mismatch",
                                "decompression-bomb", "too-many-entries", "names-too-long", "too-large"})
"""Problems that make the image bad input (exit 2) although everything readable is still shown:
damage, and layers cut short by a resource cap (explorer.limits)."""


def exit_status(problems) -> int:
    return 2 if any(p.kind in BAD_INPUT_PROBLEMS for p in problems) else 0


def warn_problems(problems, stream) -> None:
    from explorer.textsafe import safe
    for problem in problems:
        print(f"explorer: warning: {safe(problem.message)}", file=stream)
