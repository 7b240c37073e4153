"""One module per command; each opens the image, runs the stages and prints."""

from __future__ import annotations

import contextlib

from explorer.core.options import ImageOptions
from explorer.sources import ImageSource, open_image

QUIET = False
"""`-q/--quiet`: no warnings (and no progress) on stderr; errors are still shown."""


def warn(message: str) -> None:
    """`explorer: warning: MESSAGE` on stderr (made safe for the terminal), unless --quiet."""
    import sys

    from explorer.core.textsafe import safe
    if not QUIET:
        print(f"explorer: warning: {safe(message)}", file=sys.stderr)


@contextlib.contextmanager
def progress(options: ImageOptions):
    """The progress callback for a long command (None: none), as --progress/--no-progress/--quiet say:
    a bar when stderr is a terminal, or plain lines (`explorer: layer 2: 12.3 MB read`) one per layer
    (`auto` when stderr is not a terminal: a pipe, a CI log)."""
    import sys

    mode = plain_or_bar(options.progress, sys.stderr)
    if mode == "plain":
        yield plain_progress(sys.stderr)
        return
    from explorer.scan.engine import stderr_progress
    callback, stop = stderr_progress(mode == "auto")
    try:
        yield callback
    finally:
        stop()


def plain_or_bar(mode: str, stream) -> str:
    """`auto` made `plain` when `stream` is not a terminal (nowhere to draw a bar); else `mode`."""
    if mode == "auto" and not stream.isatty():
        return "plain"
    return mode


def plain_export_progress(stream, every: int = 64 << 20):
    """Lines for an image exported from the Docker daemon (explorer.sources.daemon.EXPORT_PROGRESS): one per
    `every` bytes, and one when it is done."""
    from explorer.core.textsafe import safe
    next_line = [every]

    def callback(reference: str, done: int, finished: bool) -> None:
        if finished:
            print(f"explorer: exported {safe(reference)} from the Docker daemon: {done} bytes", file=stream, flush=True)
        elif done >= next_line[0]:
            next_line[0] = done + every
            print(f"explorer: exporting {safe(reference)} from the Docker daemon: {done >> 20} MiB so far",
                  file=stream, flush=True)
    return callback


def plain_progress(stream):
    """One line per layer when it has been read in full, for logs (no cursor movement, no colour)."""
    done_layers: set[int] = set()

    def callback(layer: int, done: int, total: int) -> None:
        if layer in done_layers or done < total:
            return
        done_layers.add(layer)
        print(f"explorer: layer {layer}: {done} bytes read", file=stream, flush=True)
    return callback


@contextlib.contextmanager
def opened(options: ImageOptions) -> ImageSource:
    source = open_image(options.image, options.platform, options.registry, options.audit_log)
    try:
        yield source
    finally:
        source.close()


def fetch_first_layer(source: ImageSource, cache) -> None:
    """A registry image's first layer starts downloading now, unless the layer cache holds a row for
    its blob (a warm scan may need none of it): the link works while the detectors load (0.1-0.2 s)."""
    will_read = getattr(source.store, "will_read", None)
    if will_read is None or not source.layers:
        return
    first = source.layers[0]
    if first.digest is None or (cache is not None and cache.has_blob(first.digest)):
        return
    will_read([first.blob])


@contextlib.contextmanager
def layer_cache(options: ImageOptions):
    """The layer-result cache the command line asked for (None with --no-cache); says on stderr when
    it could not be used."""

    from explorer.scan.cache import LayerCache

    cache = LayerCache() if options.cache else None
    try:
        yield cache
    finally:
        if cache is not None:
            cache.close()
            if cache.warning:
                warn(cache.warning)


@contextlib.contextmanager
def report_stream(output: str | None):
    """The file a report is written to: --output FILE (closed after), else stdout."""
    import sys

    from explorer.core.errors import ExplorerError

    try:
        out = open(output, "w", encoding="utf-8") if output else sys.stdout
    except OSError as exc:
        raise ExplorerError(f"--output {output}: {exc.strerror}") from None
    try:
        yield out
    finally:
        if output:
            out.close()


@contextlib.contextmanager
def analysed(options: ImageOptions):
    """The image read through the engine's read path (layer cache, worker processes, image-wide caps),
    its problems said on stderr; the source stays open inside (to read content)."""
    import sys

    from explorer.scan.engine import analyze_image

    with opened(options) as source, layer_cache(options) as cache:
        with progress(options) as callback:
            analysis = analyze_image(source, callback, cache=cache, jobs=options.jobs, limits=options.limits)
        warn_problems(analysis.problems, sys.stderr)
        yield analysis


def exit_status(problems) -> int:
    """2 when a problem makes the image bad input (`ProblemKind.bad_input`), although everything
    readable is still shown."""
    return 2 if any(p.kind.bad_input for p in problems) else 0


def warn_problems(problems, stream=None) -> None:
    from explorer.core.textsafe import safe
    for problem in problems:  # --quiet keeps the problems that make the image bad input (exit 2)
        if not QUIET or problem.kind.bad_input:
            print(f"explorer: warning: {safe(problem.message)}", file=stream)
