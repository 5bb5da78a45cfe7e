"""The ``agent`` node type: a tool-calling ReAct loop (``node``), and its tools — Python
functions whose JSON schemas come from their signatures and docstrings (``tools``)."""

from grasp_nodes.agent.node import AgentNode, AgentNodeConfig
from grasp_nodes.agent.tools import Tool, ToolArgumentsError, load_tools, tool_from_callable

__all__ = [
    "AgentNode",
    "AgentNodeConfig",
    "Tool",
    "ToolArgumentsError",
    "load_tools",
    "tool_from_callable",
]
