"""`grasp --help` and the docs agree: every option of every command says what it does, the
README and the docs spell each option (and its choices) as the parser does, and `--version`
prints the installed version."""

from __future__ import annotations

import argparse
import re
from importlib.metadata import version
from pathlib import Path

import pytest

from grasp_core.cli import main
from grasp_core.cli.app import _parser
from grasp_core.cli.commands import mock_server as mock_server_command
from grasp_core.mock_server import FAULT_KINDS
from tests.conftest import REPO_ROOT

FENCE = re.compile(r"^\s*```")
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
CHOICES = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)[ =]\[?([a-z0-9_]+(?:\|[a-z0-9_]+)+)\]?")
INLINE = re.compile(r"`((?:\S*/)?grasp [^`]+)`")


def commands() -> dict[str, argparse.ArgumentParser]:
    """Each subcommand's parser, by name."""
    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def flags_of(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {flag: action for action in parser._actions for flag in action.option_strings}


def pages() -> list[Path]:
    return [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]


def command_lines(page: Path) -> list[tuple[int, str]]:
    """Every ``grasp ...`` command the page shows, with its line: in code blocks (a
    synopsis continued on indented ``[--flag]`` lines joined to its first line) and in
    inline code spans."""
    found: list[tuple[int, str]] = []
    in_block = False
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
        if FENCE.match(line):
            in_block = not in_block
            continue
        if not in_block:
            found += [(number, span) for span in INLINE.findall(line)]
            continue
        text = re.sub(r"\s#\s.*$", "", line)  # a shell comment
        continued = re.match(r"\s+(\[|--)", text) or (found and found[-1][1].endswith("\\"))
        if found and continued and found[-1][0] == number - 1:
            found[-1] = (number, found[-1][1].rstrip("\\") + " " + text.strip())
            continue
        for part in re.split(r"&&|;", text):
            command = re.sub(r"^\s*(?:\$\s+)?(?:\S*/)?(?=grasp )", "", part)
            if command.startswith("grasp ") and not re.match(r"grasp [\w-]+:", command):
                found.append((number, command.strip()))  # (`grasp tag: tagged 3` is output)
    return found


def command_of(line: str) -> tuple[str | None, str]:
    """The subcommand of ``grasp [GLOBAL FLAGS] COMMAND REST`` and its REST."""
    words = line.split()[1:]
    while words and words[0].startswith("-"):
        skip = 2 if words[0] == "--log-format" else 1
        words = words[skip:]
    return (words[0], " ".join(words[1:])) if words else (None, "")


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`grasp --version` prints `grasp X.Y.Z`, the installed package's version."""
    with pytest.raises(SystemExit) as ended:
        main(["--version"])
    assert ended.value.code == 0
    assert capsys.readouterr().out == f"grasp {version('grasp-sdg')}\n"


def test_every_option_of_every_command_has_help() -> None:
    """Each argument of each command (its positionals too) says what it is in `--help`."""
    missing = [
        f"grasp {name} {action.option_strings or action.dest}"
        for name, parser in commands().items()
        for action in parser._actions
        if not (action.help or "").strip()
    ]
    missing += [str(a.option_strings or a.dest) for a in _parser()._actions if not a.help]
    assert missing == []


def test_the_mock_servers_help_names_every_fault_kind() -> None:
    """`grasp mock-server --help` lists the fault kinds the server has (kept without
    importing the server, so the list is checked here)."""
    assert mock_server_command.FAULT_KINDS == FAULT_KINDS
    faults = flags_of(commands()["mock-server"])["--faults"]
    assert all(kind in str(faults.help) for kind in FAULT_KINDS)


def test_the_docs_spell_every_option_as_the_parser_does() -> None:
    """Every `--flag` after `grasp COMMAND` in the README and the docs is one that command
    has (`grasp`'s own, such as --debug, go before it), and a list of values
    (`--oasst [sft|dpo|auto]`) is the flag's choices."""
    parsers = commands()
    wrong: list[str] = []
    for page in pages():
        where = page.relative_to(REPO_ROOT)
        for number, line in command_lines(page):
            name, rest = command_of(line)
            if name is None:  # grasp --help, grasp --version
                continue
            if name not in parsers:
                wrong.append(f"{where}:{number}: unknown command in {line!r}")
                continue
            known = flags_of(parsers[name])
            for flag in FLAG.findall(rest):
                if flag not in known:  # `grasp run T --debug` fails: --debug goes first
                    wrong.append(f"{where}:{number}: grasp {name} has no {flag}")
            for flag, listed in CHOICES.findall(rest):
                choices = getattr(known.get(flag), "choices", None)
                if choices is not None and set(listed.split("|")) != set(choices):
                    wrong.append(
                        f"{where}:{number}: {flag} {listed} but the parser has {sorted(choices)}"
                    )
    assert wrong == []


def test_the_docs_show_commands_in_code_blocks_and_spans() -> None:
    """The scan above sees the README's synopsis (continued lines joined) and inline code."""
    lines = [line for _, line in command_lines(REPO_ROOT / "README.md")]
    synopsis = next(line for line in lines if line.startswith("grasp run TASK"))
    assert "--ray-address" in synopsis
    assert any(line.startswith("grasp run examples/quickstart/task.yaml") for line in lines)
