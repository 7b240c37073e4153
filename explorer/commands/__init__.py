"""One module per command; each opens the image, runs the stages and prints."""

from __future__ import annotations

import contextlib

from explorer.sources import ImageSource, open_image


@contextlib.contextmanager
def opened(args) -> ImageSource:
    source = open_image(args.image, getattr(args, "platform", None))
    try:
        yield source
    finally:
        source.close()


def warn_problems(problems, stream) -> None:
    from explorer.textsafe import safe
    for problem in problems:
        print(f"explorer: warning: {safe(problem.message)}", file=stream)
