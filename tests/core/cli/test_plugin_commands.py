"""Commands other packages add to ``grasp`` through the ``grasp.commands`` entry point
(``grasp studio``): found, listed and run; a broken one is one warning line, never a broken
``grasp``; a built-in name is never taken over."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from importlib.metadata import EntryPoint, EntryPoints

import pytest

from grasp_core import registry
from grasp_core.cli import app, main

CALLS: list[str] = []


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    hello = commands.add_parser("hello", help="say hello (a test add-on)")
    hello.add_argument("name")


def run_command(args: argparse.Namespace) -> int:
    CALLS.append(args.name)
    return 0


@pytest.fixture
def added(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    here = __name__
    points = [
        EntryPoint("hello", here, registry.COMMAND_GROUP),
        EntryPoint("broken", "no_such_package_for_grasp.cli", registry.COMMAND_GROUP),
        EntryPoint("run", here, registry.COMMAND_GROUP),  # may not replace `grasp run`
    ]
    monkeypatch.setattr(registry, "_scanned", EntryPoints(points))
    app._commands.cache_clear()
    yield
    app._commands.cache_clear()


def test_an_added_command_is_listed_and_runs(
    added: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """``grasp hello NAME`` runs the add-on; ``grasp --help`` lists it after the built-ins;
    the add-on that cannot be imported is one warning line naming it."""
    CALLS.clear()
    assert main(["hello", "world"]) == 0
    assert CALLS == ["world"]
    err = capsys.readouterr().err
    assert (
        "grasp: warning: command 'broken' (no_such_package_for_grasp.cli) cannot be imported" in err
    )
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = capsys.readouterr().out
    assert listed.index("mock-server") < listed.index("hello")
    assert "say hello (a test add-on)" in listed


def test_a_built_in_name_is_never_replaced(added: None) -> None:
    """An add-on named like a built-in command is left out: ``grasp run`` stays GraSP's."""
    commands = app._commands()
    assert commands["run"] is app.COMMANDS["run"]
    assert "broken" not in commands


def test_grasp_studio_is_registered_through_the_entry_point() -> None:
    """The installed package declares ``studio`` in ``grasp.commands``; the core finds it
    without importing the Studio's app."""
    app._commands.cache_clear()
    found, problems = registry.command_modules(app.COMMANDS)
    assert problems == []
    assert found["studio"].__name__ == "grasp_studio.cli"
