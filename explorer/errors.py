"""Errors that reach the user as one line on stderr and exit status 2."""


class ExplorerError(Exception):
    """Bad input or an unusable environment; the message is shown as it is."""

    exit_code = 2


class SourceError(ExplorerError):
    """The image cannot be found, opened or understood."""


class LayerError(ExplorerError):
    """A layer cannot be read at all."""
