"""The ``python`` source: records a function of the task's code returns (a function, or a
method of a class built with no arguments), with ids, the start/limit window, and one clear
line when the function fails or returns something that is not records."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from grasp_core.errors import ConfigError, SourceError
from grasp_io.sources import PythonSource, PythonSourceConfig

MODULE = """\
class Builder:
    def rows(self, count=3):
        return [{"id": f"r{n}", "n": n} for n in range(count)] + [{"n": 99}]


def broken():
    raise RuntimeError("the hub is down")


def not_records():
    return {"id": 1}


class Needs:
    def __init__(self, token):
        self.token = token

    def rows(self):
        return []
"""


def _source(tmp_path: Path, function: str, **params: object) -> PythonSource:
    (tmp_path / "made.py").write_text(textwrap.dedent(MODULE), encoding="utf-8")
    config = PythonSourceConfig(type="python", function=function, params=dict(params))
    return PythonSource(config, tmp_path)


def test_a_method_is_called_on_a_new_instance_with_params(tmp_path: Path) -> None:
    """`module.Class.method` is called on `Class()`, with `params` as keyword arguments;
    records keep their ids (position for one without), and start/limit slice them."""
    items = list(_source(tmp_path, "made.Builder.rows", count=2).iter_records())
    assert [(item.record_id, item.data) for item in items] == [
        ("r0", {"id": "r0", "n": 0}),
        ("r1", {"id": "r1", "n": 1}),
        ("2", {"n": 99}),
    ]
    window = _source(tmp_path, "made.Builder.rows").iter_records(start=1, limit=2)
    assert [item.record_id for item in window] == ["r1", "r2"]


def test_failures_are_one_line_naming_the_function(tmp_path: Path) -> None:
    """A raising function, a result that is not records and a class that needs arguments
    each fail with a message naming the dotted path."""
    with pytest.raises(SourceError, match=r"'made.broken' raised RuntimeError: the hub is down"):
        list(_source(tmp_path, "made.broken").iter_records())
    with pytest.raises(SourceError, match=r"'made.not_records' returned dict; return a list"):
        list(_source(tmp_path, "made.not_records").iter_records())
    with pytest.raises(ConfigError, match=r"creating 'made.Needs' raised TypeError"):
        _source(tmp_path, "made.Needs.rows")
