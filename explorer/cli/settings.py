"""Defaults for every flag from a config file and from EXPLORER_* environment variables.

Precedence: a flag on the command line > its environment variable > the config file > the built-in default.

- The file is the first of `explorer.toml` in the working folder, `[tool.explorer]` in the working folder's
  `pyproject.toml`, and `$XDG_CONFIG_HOME/explorer/config.toml` (else `~/.config/explorer/config.toml`).
  Keys are long flag names without the dashes (`fail-on = "high"`, `no-cache = true`,
  `severity = ["HIGH", "CRITICAL"]`, `rules = ["./rules"]`); top-level keys apply to every command that has
  the flag, a `[scan]` (`[layers]`, ...) table to that command only. Global flags (`quiet`, `jobs`, ...)
  belong at the top level. An unknown key or a bad value is an error naming the file.
- The environment variable of a flag is EXPLORER_ and its long name in capitals, dashes as underscores
  (`EXPLORER_FAIL_ON=high`, `EXPLORER_NO_CACHE=1`, `EXPLORER_SEVERITY=HIGH,CRITICAL`; repeatable flags take a
  comma-separated list). Only variables naming a flag of the command being run are read.
"""

from __future__ import annotations

import argparse
import os
import tomllib
from pathlib import Path

from explorer.core.locations import config_dir
from explorer.core.errors import ExplorerError

TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off", "")


class ConfigError(ExplorerError):
    pass


def config_file(cwd: str = ".") -> tuple[str | None, dict]:
    """(path, table) of the config file in force, or (None, {})."""
    here = Path(cwd)
    candidates = [(here / "explorer.toml", ()), (here / "pyproject.toml", ("tool", "explorer"))]
    candidates.append((config_dir() / "config.toml", ()))
    for path, keys in candidates:
        if not path.is_file():
            continue
        try:
            with open(path, "rb") as fh:
                table = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {getattr(exc, 'strerror', None) or exc}") from None
        for key in keys:
            table = table.get(key)
            if not isinstance(table, dict):
                break
        else:
            return str(path), table
    return None, {}


def flag_actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """Long flag name (no dashes) → its action, for the flags a setting can give."""
    found = {}
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)):
            continue
        for option in action.option_strings:
            if option.startswith("--"):
                found[option[2:]] = action
    return found


def _value(action: argparse.Action, raw, where: str):
    """A setting (a TOML value, or an environment variable's text) as the flag would have made it."""
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreConstAction)):
        if isinstance(raw, str) and raw.strip().lower() in TRUE + FALSE:
            raw = raw.strip().lower() in TRUE
        if not isinstance(raw, bool):
            raise ConfigError(f"{where}: expected true or false, not {raw!r}")
        if isinstance(action, argparse._StoreTrueAction):
            return raw
        return action.const if raw else None
    if isinstance(action, argparse._AppendAction):
        items = raw.split(",") if isinstance(raw, str) else raw
        if not isinstance(items, list):
            raise ConfigError(f"{where}: expected a list, not {raw!r}")
        return [_one(action, item, where) for item in items if str(item).strip()]
    if isinstance(raw, list):
        raw = ",".join(str(item) for item in raw)
    return _one(action, raw, where)


def _one(action: argparse.Action, raw, where: str):
    text = str(raw).strip() if not isinstance(raw, bool) else str(raw).lower()
    try:
        value = action.type(text) if action.type else text
    except (argparse.ArgumentTypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if action.choices is not None and value not in action.choices:
        raise ConfigError(f"{where}: {raw!r} is not one of {', '.join(map(str, action.choices))}")
    return value


def settings(parser: argparse.ArgumentParser, table: dict, file: str | None, skip=frozenset(),
             strict: bool = True) -> dict[str, object]:
    """dest → value for `parser`'s flags, from `table` (the file's part for it) then the environment."""
    actions = flag_actions(parser)
    values: dict[str, object] = {}
    for key, raw in table.items():
        if isinstance(raw, dict):
            continue  # a command's table
        where = f"{file}: {key}"
        if key not in actions:
            if strict:
                raise ConfigError(f"{where}: no such setting (a flag's long name without dashes)")
            continue
        if key in skip:
            continue
        value = _value(actions[key], raw, where)
        if value is not None:
            values[actions[key].dest] = value
    for key, action in actions.items():
        name = "EXPLORER_" + key.upper().replace("-", "_")
        if key in skip or name not in os.environ:
            continue
        value = _value(action, os.environ[name], name)
        if value is not None:
            values[action.dest] = value
    return values


def apply(parser: argparse.ArgumentParser, command: str | None, global_flags: frozenset[str]) -> None:
    """Set the defaults of the top parser (global flags) and of `command`'s parser from the settings."""
    file, table = config_file()
    commands = getattr(parser, "commands", {})
    for name, part in table.items():
        if isinstance(part, dict):
            if name not in commands:
                raise ConfigError(f"{file}: [{name}]: no such command")
            misplaced = global_flags & part.keys()
            if misplaced:
                raise ConfigError(f"{file}: [{name}]: {sorted(misplaced)[0]} is a global setting: "
                                  f"put it at the top of the file")
    top_level = {k: v for k, v in table.items() if not isinstance(v, dict)}
    parser.set_defaults(**settings(parser, {k: v for k, v in top_level.items() if k in global_flags}, file))
    if command in commands:
        sub = commands[command]
        merged = {k: v for k, v in top_level.items() if k not in global_flags and k in flag_actions(sub)}
        unknown = [k for k in top_level if k not in global_flags and not any(k in flag_actions(c)
                                                                              for c in commands.values())]
        if unknown:
            raise ConfigError(f"{file}: {unknown[0]}: no such setting (a flag's long name without dashes)")
        merged.update(table.get(command, {}))
        sub.set_defaults(**settings(sub, merged, file, skip=global_flags))
