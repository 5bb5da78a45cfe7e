"""An ``llm`` task loads neither the agent node nor the media nodes' machinery (SyGra's media
models): the ``llm`` node type imports them when a node needs them, at build."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from tests.conftest import REPO_ROOT

UNUSED = ("grasp_nodes.agent.node", "grasp_nodes._media_call", "grasp_nodes.clients.media")


def _fresh(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_the_llm_node_type_imports_no_agent_node_and_no_media_calls() -> None:
    """Importing ``grasp_nodes.llm`` (the ``llm`` entry point) leaves the agent node and the
    media call modules unimported."""
    code = f"""
        import json, sys
        import grasp_nodes.llm
        print(json.dumps([name for name in {UNUSED!r} if name in sys.modules]))
    """
    assert json.loads(_fresh(code)) == []


def test_the_agent_package_hands_out_every_name_it_lists() -> None:
    """``grasp_nodes.agent``'s names, imported on first use, are the classes and functions
    of its modules (the ``agent`` entry point loads ``AgentNode`` from the package)."""
    code = """
        import json
        import grasp_nodes.agent as agent
        from grasp_nodes.agent import node, tools
        homes = {name: getattr(agent, name).__module__ for name in agent.__all__}
        print(json.dumps([sorted(homes.items()), dir(agent) == sorted(agent.__all__),
                          agent.AgentNode is node.AgentNode, agent.load_tools is tools.load_tools]))
    """
    homes, listed, same_node, same_loader = json.loads(_fresh(code))
    assert dict(homes) == {
        "AgentNode": "grasp_nodes.agent.node",
        "AgentNodeConfig": "grasp_nodes.agent.node",
        "Tool": "grasp_nodes.agent.tools",
        "ToolArgumentsError": "grasp_nodes.agent.tools",
        "load_tools": "grasp_nodes.agent.tools",
        "tool_from_callable": "grasp_nodes.agent.tools",
    }
    assert (listed, same_node, same_loader) == (True, True, True)
