"""Node types are plugins: built-ins come from entry points, third parties register their own."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

import pytest

from grasp_core import RunOptions, registry, run_task
from grasp_core.config import NodeConfig
from grasp_core.errors import PluginError
from grasp_core.protocols import BuildEnv, NodeContext
from tests.conftest import write_task


class ShoutConfig(NodeConfig):
    """A toy node type: upper-cases one state key."""

    node_type: Literal["shout"] = "shout"
    source_key: str
    """The key to read."""


class ShoutNode:
    config_model: ClassVar[type[ShoutConfig]] = ShoutConfig

    def __init__(self, name: str, config: ShoutConfig) -> None:
        self.name = name
        self.config = config

    @classmethod
    def build(cls, name: str, config: ShoutConfig, env: BuildEnv) -> ShoutNode:
        return cls(name, config)

    @property
    def output_keys(self) -> tuple[str, ...]:
        return tuple(self.config.output_key_list())

    async def run(self, state: Mapping[str, Any], ctx: NodeContext) -> Mapping[str, Any]:
        return {self.output_keys[0]: str(state[self.config.source_key]).upper()}


def test_built_in_node_types_are_declared_as_entry_points() -> None:
    """`llm` and `lambda` resolve through the `grasp.nodes` entry-point group."""
    assert {"llm", "lambda"} <= set(registry.nodes.names())
    assert registry.nodes.get("llm").__name__ == "LLMNode"


def test_a_registered_node_type_runs_in_a_task(tmp_path: Path) -> None:
    """A class registered under a name is usable as `node_type` with its own config keys."""
    registry.nodes.register("shout")(ShoutNode)
    task = write_task(
        tmp_path,
        """
        data_config:
          source: {type: disk, file_path: in.jsonl}
          sink: {type: jsonl, file_path: out.jsonl}
        graph_config:
          nodes:
            loud: {node_type: shout, source_key: text, output_keys: loud}
          edges:
            - {from: START, to: loud}
            - {from: loud, to: END}
        """,
        {"in.jsonl": '{"id": 1, "text": "hi there"}\n'},
    )
    result = run_task(task, RunOptions())
    assert result.done == 1
    (line,) = (tmp_path / "out.jsonl").read_text().splitlines()
    assert json.loads(line)["loud"] == "HI THERE"


def test_unknown_node_type_names_the_group_and_the_known_types() -> None:
    """An unknown type says which types exist and where third parties register theirs."""
    with pytest.raises(
        PluginError, match=r"unknown node type 'lm' \(did you mean 'llm'\?\)"
    ) as info:
        registry.nodes.get("lm")
    assert "grasp.nodes" in str(info.value)
