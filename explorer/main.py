"""The entry point (`explorer`, `python -m explorer`): the command line parses, then the UI commands
(`explorer IMAGE`, `open`, `demo`, `diff --ui`) go to the Textual front end and the rest to
explorer.cli.commands.

The only module that imports both front ends: explorer.cli and explorer.tui never import each other."""

from __future__ import annotations

from explorer.cli.parser import main as _cli_main


def main(argv: list[str] | None = None) -> int:
    return _cli_main(argv, ui=TerminalUI)


class TerminalUI:
    """What the command line calls for the UI commands; Textual is imported only when one runs."""

    @staticmethod
    def open(options) -> int:
        """`options`: the run's explorer.core.options.Options."""
        from explorer.cli.commands import layer_cache
        from explorer.tui.launch import run_ui
        return run_ui(options, layer_cache)

    @staticmethod
    def compare(comparison) -> None:
        from explorer.tui.compare import CompareApp
        CompareApp(comparison).run()
