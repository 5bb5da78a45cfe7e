"""The command line that runs a command again with the flags it was given: what the hints
after a stopped run print (``Continue with: grasp run T --resume --mock-url URL ...``).

Every flag that differs from its default is repeated, so the command, run as printed,
continues the same run: the same models or mock, output folder, row format, executor...
Values are quoted for a POSIX shell (``shlex.join``)."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Callable, Collection, Iterator, Sequence

from grasp_core.cli.options import Commands

__all__ = ["command_line"]

_NOT_REPEATED = (argparse._HelpAction, argparse._VersionAction)


def command_line(
    args: argparse.Namespace,
    add_command: Callable[[Commands], None],
    *,
    first: Sequence[str] = (),
    without: Collection[str] = (),
    then: Sequence[str] = (),
) -> str:
    """``grasp COMMAND`` with ``args``' positionals, then ``first``, then every option that
    ``args`` sets away from its default (except those whose flags are in ``without``), then
    ``then``. ``add_command`` is the command's own (the parser whose flags are read)."""
    parser = argparse.ArgumentParser(prog="grasp")
    commands = parser.add_subparsers(dest="command")
    add_command(commands)
    actions = commands.choices[args.command]._actions
    words = ["grasp", args.command]
    for action in actions:
        if not action.option_strings:
            words += _words(action, args)
    words += first
    for action in actions:
        if action.option_strings and not set(action.option_strings) & set(without):
            words += _words(action, args)
    return shlex.join([*words, *then])


def _words(action: argparse.Action, args: argparse.Namespace) -> Iterator[str]:
    """How the command line sets ``action`` to its value in ``args`` (nothing at its
    default)."""
    if isinstance(action, _NOT_REPEATED) or action.dest == argparse.SUPPRESS:
        return
    value = getattr(args, action.dest, action.default)
    if not action.option_strings:  # a positional
        yield from (
            str(v) for v in (value if isinstance(value, list) else [value]) if v is not None
        )
        return
    if value == action.default or value is None:
        return
    flag = next((f for f in action.option_strings if f.startswith("--")), action.option_strings[0])
    if isinstance(action, argparse.BooleanOptionalAction):
        yield flag if value else "--no-" + flag.removeprefix("--")
    elif isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction):
        yield flag
    elif isinstance(action, argparse._AppendAction):
        for item in value:
            yield from (flag, str(item))
    elif action.nargs == argparse.OPTIONAL:
        yield f"{flag}={value}"  # spelt whole: a bare `--oasst` before a positional takes it
    else:
        yield from (flag, str(value))
