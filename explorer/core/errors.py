"""Errors that reach the user as one line on stderr and exit status 2."""


class ExplorerError(Exception):
    """Bad input or an unusable environment; the message is shown as it is."""

    exit_code = 2


class SourceError(ExplorerError):
    """The image cannot be found, opened or understood."""


class LayerError(ExplorerError):
    """A layer cannot be read at all."""


def plain_reason(exc: BaseException) -> str:
    """What went wrong, in words: the innermost operating-system error's message (`No such file or
    directory`) when the exception carries one (in its args, cause or context), else its first line."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return current.strerror
        stack.extend(e for e in (current.__context__, current.__cause__, *current.args)
                     if isinstance(e, BaseException))
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
