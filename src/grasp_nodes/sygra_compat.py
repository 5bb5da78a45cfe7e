"""What SyGra's task modules import from SyGra, for hooks moved over by ``grasp convert sygra``.

The converter rewrites imports of SyGra's hook base classes (``sygra.core.graph.functions...``,
``sygra.core.graph.sygra_state``, ``sygra.processors.output_record_generator``,
``sygra.utils.constants``; also the older ``grasp.*`` spellings) to this module. It covers only
the names below: GraSP calls a hook by its signature (docs/how-to/coming-from-sygra.md, "Python
hooks"), so the base classes carry no behaviour; they exist so that the subclasses import.
Anything else a module imports from SyGra is listed in the conversion report, to rewrite by hand.

LangChain's message classes (``langchain_core.messages``), its ``@tool`` decorator and
LangGraph's ``END`` are given here too, so converted hooks run without LangChain: a message is
GraSP's ``{"role", "content"}`` dict that also reads as LangChain's (``.content``, ``.type``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from types import SimpleNamespace
from typing import Any

from grasp_core.plugin import (
    AIMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    get_logger,
)

__all__ = [
    "END",
    "AIMessage",
    "BaseMessage",
    "BaseOutputGenerator",
    "BaseTaskExecutor",
    "DataTransform",
    "EdgeCondition",
    "GraspMessage",
    "GraspState",
    "HumanMessage",
    "LambdaFunction",
    "NodePostProcessor",
    "NodePostProcessorWithState",
    "NodePreProcessor",
    "SygraMessage",
    "SygraState",
    "SystemMessage",
    "ToolMessage",
    "constants",
    "logger",
    "tool",
    "utils",
]

BaseMessage = ChatMessage
"""LangChain's base message class: every message is one."""

END = "__end__"
"""LangGraph's end label, which a condition may return."""

SygraMessage = Any
"""What SyGra's post-processors are annotated with: GraSP passes the node's result, which
reads as ``response.message.content``."""

GraspMessage = SygraMessage
"""SyGra's earlier name for it."""

logger = get_logger("sygra_task")
"""SyGra's ``logger`` (``sygra.logger.logger_config``): GraSP's structured logger."""

SygraState = dict[str, Any]
"""A record's state: GraSP hands hooks a plain dict."""

GraspState = SygraState
"""SyGra's earlier name for the state."""


class NodePreProcessor:
    """``apply(self, state) -> state``: runs before a node's call."""


class NodePostProcessor:
    """``apply(self, response) -> dict``: the reply as ``response.message.content``."""


class NodePostProcessorWithState:
    """``apply(self, response, state) -> dict``."""


class EdgeCondition:
    """``apply(state) -> str`` (no ``self``: called on the class): the next node's label."""


class LambdaFunction:
    """``apply(lambda_node_dict, state) -> state`` (no ``self``): the node's keys, then the
    state."""


class DataTransform:
    """``transform(self, data: list[dict], params: dict) -> list[dict]``: a custom transform
    named in ``transformations``, given every record at once."""

    @property
    def name(self) -> str:
        """The transform's name (SyGra logs it)."""
        return type(self).__name__


class BaseTaskExecutor:
    """SyGra's task executor base, so that modules importing it load; GraSP never calls a
    subclass (``grasp convert sygra`` lists each one, to move into the task file)."""


class BaseOutputGenerator:
    """Holds the methods ``output_config.output_map`` names as a field's ``transform``."""


constants = SimpleNamespace(SYGRA_END="__end__", GRASP_END="__end__", END="END", START="START")
"""The constants SyGra's conditions return: ``SYGRA_END`` is LangGraph's end label."""


class _Tool:
    """A function wrapped by :func:`tool`, shaped as LangChain's tools are (``name``,
    ``description``, ``args_schema``, ``func``), which is how GraSP's tool loading finds it."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        self.name: str = func.__name__
        self.description = inspect.getdoc(func) or ""
        self.args_schema = None
        self.coroutine = func if inspect.iscoroutinefunction(func) else None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.func(*args, **kwargs)


def tool(func: Callable[..., Any]) -> Any:
    """LangChain's ``@tool`` (the bare form): marks ``func`` as a tool of its module or class."""
    return _Tool(func)


def _chat_format(messages: Iterable[Any]) -> list[dict[str, Any]]:
    """SyGra's ``utils.convert_messages_from_langchain_to_chat_format``: each message as
    ``{"role", "content"}``."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if isinstance(message, Mapping):
            out.append({"role": message.get("role"), "content": message.get("content")})
        else:
            out.append({"role": getattr(message, "role", None), "content": message.content})
    return out


utils = SimpleNamespace(convert_messages_from_langchain_to_chat_format=_chat_format)
"""The helper of SyGra's ``utils`` module that its task executors use."""
