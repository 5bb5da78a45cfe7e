"""``grasp``: the parser, the dispatch table of commands, and one-line errors.

A command is one module under ``grasp_core.cli.commands`` with ``add_command`` and
``run_command``; adding one is that file plus a line in :data:`COMMANDS`. Heavy imports
happen inside ``run_command``, so ``grasp --help`` stays fast.
"""

from __future__ import annotations

import argparse
import functools
import sys
from types import ModuleType

from grasp_core import _collector
from grasp_core.cli import signals
from grasp_core.cli.commands import (
    convert,
    curate,
    graph,
    mock_server,
    preview,
    run,
    tag,
    validate,
)
from grasp_core.cli.commands import filter as filter_command
from grasp_core.cli.options import EXIT_CLUSTER, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OUTPUT

__all__ = ["COMMANDS", "main"]

COMMANDS: dict[str, ModuleType] = {
    "run": run,
    "validate": validate,
    "preview": preview,
    "graph": graph,
    "tag": tag,
    "filter": filter_command,
    "curate": curate,
    "convert": convert,
    "mock-server": mock_server,
}
"""Command name → its module, in the order ``grasp --help`` lists them."""

_SERVERS = frozenset({"mock-server"})
"""Built-in commands that serve until stopped. They, and the commands other packages add
(``grasp studio``), get the garbage collector back before they start; the others keep it
paused until a run's engine starts, else to their end (see :mod:`grasp_core._collector`)."""


class _VersionAction(argparse.Action):
    """``--version``: the installed version, looked up only when asked for (reading the
    package metadata costs ~20 ms, which every other command would pay)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from importlib.metadata import PackageNotFoundError, version

        from grasp_core.registry import DISTRIBUTION

        try:
            installed = version(DISTRIBUTION)
        except PackageNotFoundError:
            installed = "unknown (not installed)"
        print(f"grasp {installed}")
        parser.exit()


def _parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv``: with every command, or only the built-in ones when ``argv``
    names one (``grasp run``: the commands other packages add are not looked up, which
    scans every installed package's entry points)."""
    parser = argparse.ArgumentParser(
        prog="grasp",
        description="Generate synthetic datasets from a graph of LLM calls and Python steps.",
    )
    parser.add_argument("--version", action=_VersionAction)
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument(
        "--log-format",
        choices=["auto", "json", "console"],
        default="auto",
        help="log rendering (default: console on a terminal, JSON lines otherwise)",
    )
    commands = parser.add_subparsers(
        dest="command",
        required=True,
        metavar="COMMAND",
        help="one of these (grasp COMMAND --help shows its options)",
    )
    for module in _commands_for(argv).values():
        module.add_command(commands)
    return parser


_GLOBAL_VALUES = frozenset({"--log-format"})
"""Options before the command that take the next word as their value."""


def _command_word(argv: list[str]) -> str | None:
    """The word naming the command: the first one that is neither an option nor a global
    option's value (None when there is none, as in ``grasp --help``)."""
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word in _GLOBAL_VALUES:
            skip = True
        elif not word.startswith("-"):
            return word
    return None


def _commands_for(argv: list[str] | None) -> dict[str, ModuleType]:
    """:data:`COMMANDS` when ``argv`` names one of them, else every command."""
    named = None if argv is None else _command_word(argv)
    return COMMANDS if named in COMMANDS else _commands()


@functools.cache
def _commands() -> dict[str, ModuleType]:
    """:data:`COMMANDS`, then the commands other packages add (entry-point group
    ``grasp.commands``: ``grasp studio``), read here so the core never imports them."""
    from grasp_core.registry import command_modules

    added, problems = command_modules(COMMANDS)
    for problem in problems:
        print(f"grasp: warning: {problem}", file=sys.stderr)
    return {**COMMANDS, **added}


def _command(name: str) -> ModuleType:
    """The module of command ``name`` (a built-in one without looking up the others)."""
    return COMMANDS.get(name) or _commands()[name]


_OPTIONAL_VALUES = {"--oasst": ("auto", {"sft", "dpo", "auto"}), "--quality": ("heuristics", None)}
"""Flags whose value is optional: flag → (value when bare, accepted values or None)."""


def _bare_optional_values(argv: list[str]) -> list[str]:
    """``--oasst task.yaml`` means the bare flag then the task, not ``--oasst=task.yaml``:
    a bare optional-value flag followed by something that is not one of its values gets its
    default written in (``--oasst=auto``) so argparse leaves the next word alone."""
    fixed: list[str] = []
    for index, word in enumerate(argv):
        spec = _OPTIONAL_VALUES.get(word)
        following = argv[index + 1] if index + 1 < len(argv) else None
        if spec is not None and following is not None and not _is_value(following, spec[1]):
            word = f"{word}={spec[0]}"
        fixed.append(word)
    return fixed


def _is_value(word: str, accepted: set[str] | None) -> bool:
    if word.startswith("-"):
        return False
    if accepted is not None:
        return word in accepted
    return all(part.strip() in {"heuristics", "judge"} for part in word.split(","))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``grasp`` console script; returns the exit code.

    From its first line, SIGINT and SIGTERM end a command with exit code 130 and one line
    (for ``grasp run``, the command that resumes; see :mod:`grasp_core.cli.signals`).
    Called without ``argv`` it is the program; with ``argv`` (in-process) it puts the
    process's signal handlers back before returning."""
    previous = signals.interrupt()
    args: argparse.Namespace | None = None
    code: int | None = None
    try:
        words = _bare_optional_values(sys.argv[1:] if argv is None else argv)
        args = _parser(words).parse_args(words)
        signals.unblock()  # after parsing, so that a signal held until now names the command
        code = _dispatch(args)
    except KeyboardInterrupt:
        signals.ignore()
        code = EXIT_INTERRUPTED
        print(_interrupted_message(args), file=sys.stderr)
    finally:
        ending = EXIT_INTERRUPTED if code is None else code
        signals.restore(previous, exit_code=ending if argv is None else None)
    return code


def _interrupted_message(args: argparse.Namespace | None) -> str:
    """The command's own ``interrupted_message(args)`` (``grasp run``: how to resume), else
    a plain line (also when the signal came before the arguments were parsed)."""
    module = _command(args.command) if args is not None else None
    message = getattr(module, "interrupted_message", None)
    return str(message(args)) if message is not None else "grasp: interrupted"


def _dispatch(args: argparse.Namespace) -> int:
    """Run the command; a GraSP error becomes one line and its exit code."""
    from grasp_core.errors import ClusterConnectionError, GraspError, OutputWriteError
    from grasp_core.logs import configure_logging, redact

    quiet = getattr(args, "quiet", False) and not args.debug  # --quiet: no line per record
    configure_logging(
        fmt=args.log_format, level="debug" if args.debug else "warning", records=not quiet
    )
    if args.command in _SERVERS or args.command not in COMMANDS:
        _collector.resume()
    try:
        code: int = _command(args.command).run_command(args)
        return code
    except GraspError as exc:
        if args.debug:
            raise
        print(f"grasp: error: {redact(str(exc))}", file=sys.stderr)
        if isinstance(exc, ClusterConnectionError):
            return EXIT_CLUSTER
        return EXIT_OUTPUT if isinstance(exc, OutputWriteError) else EXIT_ERROR
