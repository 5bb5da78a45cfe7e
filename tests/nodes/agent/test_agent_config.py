"""Agent tools and options checked before any record runs: a tool's JSON schema comes from
its signature and docstring, and what cannot be described or reached is a config error.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from pydantic import Field

from grasp_core import CompileError, ConfigError
from grasp_core.mock_server import MockServer
from grasp_nodes.agent.tools import tool_from_callable
from tests.nodes.agent.helpers import run

pytestmark = pytest.mark.anyio


async def test_a_tool_without_a_schema_is_a_config_error(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """A tool whose parameters are not annotated is refused before any record runs."""
    with pytest.raises(CompileError, match="tool 'untyped': parameter 'x' has no type annotation"):
        await run(tmp_path, mock_server, ["q"], "auto", tools=["kit.untyped"])
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"max_steps": 2, "inject_system_messages": {2: "late"}}, "turn(s) [2] never happen"),
        ({"model": {"name": "m", "parameters": {"tools": []}}}, "model.parameters.tools is set"),
        ({"transcript_key": "messages"}, "collides with the answer's key(s)"),
        ({"transcript_key": "agent"}, "transcript_key 'agent' collides with the answer's"),
    ],
)
async def test_invalid_agent_options_are_config_errors(
    tmp_path: Path, mock_server: MockServer, node: dict[str, Any], message: str
) -> None:
    """Unreachable injection turns, tools in the parameters, no tools and key clashes."""
    with pytest.raises(ConfigError, match=re.escape(message)):
        await run(tmp_path, mock_server, ["q"], "auto", **node)


def test_schema_comes_from_the_signature_and_docstring() -> None:
    """Types, defaults and descriptions come from the signature, Field and the Args section."""

    def search(
        query: Annotated[str, Field(description="Words to look for.")],
        mode: Literal["fast", "exact"] = "fast",
        *,
        limit: int = 5,
    ) -> list[str]:
        """Search the index.

        Returns the best matches first.

        Args:
            query: Ignored: the Field description wins.
            limit: How many results to return
                at most.
        """
        return []

    tool = tool_from_callable(search)
    assert tool.schema() == {
        "type": "function",
        "function": {
            "name": "search",
            "description": "Search the index.",
            "parameters": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "query": {"type": "string", "description": "Words to look for."},
                    "mode": {"enum": ["fast", "exact"], "type": "string", "default": "fast"},
                    "limit": {
                        "type": "integer",
                        "default": 5,
                        "description": "How many results to return at most.",
                    },
                },
                "required": ["query"],
            },
        },
    }
    assert tool.parse_arguments('{"query": "q", "limit": "3"}') == {"query": "q", "limit": 3}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def f(*items: int) -> None: ...", "cannot be sent by name"),
        ("def f(x: int, /) -> None: ...", "cannot be sent by name"),
        ("def f(x: Callable[[int], int]) -> None: ...", "have no JSON schema"),
        ("def f(x: 'Missing') -> None: ...", "does not resolve"),
    ],
)
def test_signatures_without_a_schema_are_config_errors(source: str, message: str) -> None:
    """Variadic, positional-only, non-JSON and unresolvable parameters name the tool."""
    namespace: dict[str, Any] = {}
    exec(f"from collections.abc import Callable\n{source}", namespace)
    with pytest.raises(ConfigError, match=f"tool 'f'.*{message}"):
        tool_from_callable(namespace["f"])
