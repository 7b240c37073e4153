"""`explorer completion bash|zsh|fish`: a completion script made from the command line's own parser.

bash and zsh scripts are written by shtab (PyPI); shtab has no fish output, so the fish script is written
here from the same parser: commands, each command's flags, and the choices of flags that have them.
"""

from __future__ import annotations

import argparse

SHELLS = ("bash", "zsh", "fish")


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    if shell == "fish":
        return fish(parser)
    import shtab
    return shtab.complete(parser, shell)


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _first_sentence(text: str | None) -> str:
    if not text or text == argparse.SUPPRESS:
        return ""
    return text.split("; ")[0].split(": ")[0].strip()


def _flag_lines(prog: str, condition: str, actions) -> list[str]:
    lines = []
    for action in actions:
        if isinstance(action, argparse._SubParsersAction) or not action.option_strings:
            continue
        parts = [f"complete -c {prog}", f"-n {_fish_quote(condition)}"]
        parts += [f"-l {o[2:]}" for o in action.option_strings if o.startswith("--")]
        parts += [f"-s {o[1:]}" for o in action.option_strings if len(o) == 2 and o[1] != "-"]
        if action.nargs != 0:
            parts.append("-r")
            if action.choices:
                parts.append("-f -a " + _fish_quote(" ".join(map(str, action.choices))))
        description = _first_sentence(action.help)
        if description:
            parts.append("-d " + _fish_quote(description))
        lines.append(" ".join(parts))
    return lines


def fish(parser: argparse.ArgumentParser) -> str:
    prog = parser.prog
    commands = getattr(parser, "commands", {})
    lines = [f"# fish completion for {prog}; write it to ~/.config/fish/completions/{prog}.fish"]
    lines += _flag_lines(prog, "__fish_use_subcommand", parser._actions)
    for name, sub in commands.items():
        lines.append(f"complete -c {prog} -n __fish_use_subcommand -a {name} "
                     f"-d {_fish_quote(_first_sentence(sub.description))}")
        lines += _flag_lines(prog, f"__fish_seen_subcommand_from {name}", sub._actions)
    for topic in ("help",):
        if topic in commands:
            lines.append(f"complete -c {prog} -n {_fish_quote('__fish_seen_subcommand_from ' + topic)} -f "
                         f"-a {_fish_quote(' '.join(commands))}")
    if "completion" in commands:
        lines.append(f"complete -c {prog} -n {_fish_quote('__fish_seen_subcommand_from completion')} -f "
                     f"-a {_fish_quote(' '.join(SHELLS))}")
    return "\n".join(lines) + "\n"
