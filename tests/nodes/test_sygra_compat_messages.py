"""``grasp_nodes.sygra_compat``'s LangChain stand-ins: messages that are GraSP's dicts, and
``@tool`` as GraSP's tool loading reads it."""

from __future__ import annotations

from grasp_nodes.agent.tool_specs import wrapped_tool_function
from grasp_nodes.sygra_compat import AIMessage, HumanMessage, tool, utils


def test_messages_are_grasp_dicts_that_read_as_langchain_messages() -> None:
    """``AIMessage(content=...)`` is ``{"role": "assistant", "content": ...}`` with ``.type``
    ``ai``; SyGra's chat-format helper gives plain role/content dicts."""
    reply = AIMessage(content="hi")
    assert reply == {"role": "assistant", "content": "hi"}
    assert (reply.type, reply.content, reply.tool_calls) == ("ai", "hi", [])
    assert HumanMessage("q").type == "human"
    assert utils.convert_messages_from_langchain_to_chat_format([HumanMessage("q"), reply]) == [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "hi"},
    ]


def test_a_function_wrapped_by_tool_is_found_as_a_tool() -> None:
    """``@tool`` keeps the function callable and shaped as LangChain's tools, so the tool
    loading unwraps it to the function itself."""

    @tool
    def add(a: float, b: float) -> float:
        """Add two numbers."""
        return a + b

    assert add(2, 3) == 5
    found = wrapped_tool_function(add)
    assert found is not None
    assert (found.__name__, found(1, 2)) == ("add", 3)
