"""A stop signal that lands in code that would garble it is raised once that code is done.

Raised inside an import, it can land in an extension module's initialisation (pydantic-core
imports ``datetime`` from its Rust init), where PyO3 turns it into a panic: exit code 1 and
a backtrace instead of exit code 130. Raised while pydantic builds a validator, it becomes a
``SchemaError``. These tests signal their own process from inside such code."""

from __future__ import annotations

import importlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, GetCoreSchemaHandler, field_validator
from pydantic_core import core_schema

from grasp_core import _stop_later
from grasp_core.cli import signals
from grasp_core.cli.signals import StopSignal

MODULE = """
import os
import signal
import time

os.kill(os.getpid(), signal.SIGINT)
deadline = time.monotonic() + {hold}
while time.monotonic() < deadline:  # the import goes on after the signal
    time.sleep(0.001)
finished = True
"""


@pytest.fixture
def stop_handlers() -> Iterator[None]:
    previous = signals.interrupt()
    try:
        yield
    finally:
        signals.restore(previous, exit_code=None)


def _module(folder: Path, name: str, hold: float) -> str:
    (folder / f"{name}.py").write_text(MODULE.format(hold=hold), encoding="utf-8")
    sys.path.insert(0, str(folder))
    return name


def _wait_for_the_signal() -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(0.005)


def _import_then_wait(name: str, finished: list[bool]) -> None:
    finished.append(importlib.import_module(name).finished)
    _wait_for_the_signal()


def _signal_then_wait(sig: signal.Signals) -> None:
    os.kill(os.getpid(), sig)
    _wait_for_the_signal()


def _signal_and_hold(sig: signal.Signals) -> None:
    """Signal this process, then keep running the calling code for 0.1 s."""
    os.kill(os.getpid(), sig)
    deadline = time.monotonic() + 0.1
    while time.monotonic() < deadline:
        time.sleep(0.001)


@pytest.mark.usefixtures("stop_handlers")
def test_a_signal_inside_an_import_comes_after_it(tmp_path: Path) -> None:
    name = _module(tmp_path, "signals_itself", hold=0.1)
    finished: list[bool] = []
    try:
        with pytest.raises(StopSignal, match="SIGINT"):
            _import_then_wait(name, finished)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)
    assert finished == [True]


@pytest.mark.usefixtures("stop_handlers")
def test_an_import_that_holds_the_signal_too_long_gets_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stop is never lost to an import that blocks: past GIVE_UP_S it is raised inside."""
    monkeypatch.setattr(_stop_later, "GIVE_UP_S", 0.05)
    name = _module(tmp_path, "holds_the_signal", hold=30)
    try:
        with pytest.raises(StopSignal):
            importlib.import_module(name)
    finally:
        sys.path.remove(str(tmp_path))
    assert name not in sys.modules  # raised inside the import: the module never finished


class _SignalsWhileItsSchemaIsBuilt:
    @classmethod
    def __get_pydantic_core_schema__(
        cls, _source: Any, _handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        _signal_and_hold(signal.SIGTERM)
        return core_schema.int_schema()


def _define_a_model() -> type[BaseModel]:
    class Built(BaseModel):
        value: _SignalsWhileItsSchemaIsBuilt

    return Built


def _define_then_wait(built: list[type[BaseModel]]) -> None:
    built.append(_define_a_model())
    _wait_for_the_signal()


@pytest.mark.usefixtures("stop_handlers")
def test_a_signal_while_pydantic_builds_a_schema_comes_after_it() -> None:
    built: list[type[BaseModel]] = []
    with pytest.raises(StopSignal, match="SIGTERM"):
        _define_then_wait(built)
    assert built[0].model_validate({"value": 3}).model_dump() == {"value": 3}


class _SignalsWhileValidated(BaseModel):
    value: int

    @field_validator("value")
    @classmethod
    def _signal(cls, value: int) -> int:
        _signal_and_hold(signal.SIGINT)
        return value + 1


def _validate_then_wait(validated: list[int]) -> None:
    validated.append(_SignalsWhileValidated.model_validate({"value": 1}).value)
    _wait_for_the_signal()


@pytest.mark.usefixtures("stop_handlers")
def test_a_signal_while_pydantic_validates_comes_after_it() -> None:
    validated: list[int] = []
    with pytest.raises(StopSignal, match="SIGINT"):
        _validate_then_wait(validated)
    assert validated == [2]


@pytest.mark.usefixtures("stop_handlers")
def test_a_signal_elsewhere_is_raised_where_it_lands(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not held back: held, it would come only after GIVE_UP_S, past the 30 s wait."""
    monkeypatch.setattr(_stop_later, "GIVE_UP_S", 60.0)
    with pytest.raises(StopSignal, match="SIGTERM"):
        _signal_then_wait(signal.SIGTERM)
