"""The ``agent`` node type: a tool-calling ReAct loop (``node``), and its tools — Python
functions whose JSON schemas come from their signatures and docstrings (``tools``)."""

from grasp_core.plugin import lazy_exports

__all__ = [
    "AgentNode",
    "AgentNodeConfig",
    "Tool",
    "ToolArgumentsError",
    "load_tools",
    "tool_from_callable",
]

# Names are imported on first use: the ``llm`` node imports this package's light modules
# (tool specs, tool calls) for every task, and only a task with tools needs the rest.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "grasp_nodes.agent.node": ["AgentNode", "AgentNodeConfig"],
        "grasp_nodes.agent.tools": [
            "Tool",
            "ToolArgumentsError",
            "load_tools",
            "tool_from_callable",
        ],
    },
    __all__,
)
