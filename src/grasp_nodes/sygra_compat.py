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
So are SyGra's eval metric registries (from :mod:`grasp_nodes.sygra_eval`), its
``GraphPostProcessor`` base, its built-in ``SimpleResponse`` schema and its JSON helpers
(``utils.extract_and_load_json``, ``utils.load_json``), and a ``GPT2TokenizerFast`` that
counts tokens with ``cl100k_base`` for hooks that load ``Xenova/gpt-4`` from transformers
(:mod:`grasp_nodes.sygra_tokenizer`).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pydantic import BaseModel, Field

from grasp_core.plugin import (
    AIMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    get_logger,
)
from grasp_nodes.sygra_eval import (
    AccuracyMetric,
    AggregatorMetricRegistry,
    BaseAggregatorMetric,
    BaseUnitMetric,
    ExactMatchMetric,
    F1ScoreMetric,
    PrecisionMetric,
    RecallMetric,
    UnitMetricRegistry,
    UnitMetricResult,
    aggregator_metric,
    unit_metric,
)
from grasp_nodes.sygra_tokenizer import GPT2TokenizerFast

__all__ = [
    "END",
    "AIMessage",
    "AccuracyMetric",
    "AggregatorMetricRegistry",
    "BaseAggregatorMetric",
    "BaseMessage",
    "BaseOutputGenerator",
    "BaseTaskExecutor",
    "BaseUnitMetric",
    "DataTransform",
    "DefaultTaskExecutor",
    "EdgeCondition",
    "ExactMatchMetric",
    "F1ScoreMetric",
    "GPT2TokenizerFast",
    "GraphPostProcessor",
    "GraspMessage",
    "GraspState",
    "HumanMessage",
    "LambdaFunction",
    "NodePostProcessor",
    "NodePostProcessorWithState",
    "NodePreProcessor",
    "PrecisionMetric",
    "RecallMetric",
    "SimpleResponse",
    "SygraMessage",
    "SygraState",
    "SystemMessage",
    "ToolMessage",
    "UnitMetricRegistry",
    "UnitMetricResult",
    "aggregator_metric",
    "constants",
    "extract_and_load_json",
    "load_json",
    "logger",
    "tool",
    "unit_metric",
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
    """SyGra's task executor base. GraSP calls a subclass's record hooks where ``grasp
    convert sygra`` names them in the task file: ``init_dataset()`` as a ``python`` source
    (the class made with no arguments), ``input_record_generator(record)`` as a transform
    (:meth:`transform`) and ``output_record_generator(state)`` as ``output_config.generator``
    (:meth:`generate`: None drops the record). It never calls ``execute`` or ``init_graph``;
    the converter lists a subclass that overrides them."""

    def __init__(
        self, args: Any = None, graph_config_dict: Mapping[str, Any] | None = None
    ) -> None:
        self.args = args
        self.config: dict[str, Any] = dict(graph_config_dict or {})

    def input_record_generator(self, record: dict[str, Any]) -> dict[str, Any]:
        """The record as the graph receives it (SyGra's default: unchanged)."""
        return record

    def output_record_generator(self, state: dict[str, Any]) -> dict[str, Any] | None:
        """The output record of a finished state (SyGra's default: the state)."""
        return state

    def transform(self, data: list[dict[str, Any]], params: Mapping[str, Any]) -> list[Any]:
        """SyGra's transform contract over :meth:`input_record_generator`."""
        return [self.input_record_generator(record) for record in data]

    def generate(self, state: dict[str, Any]) -> dict[str, Any] | None:
        """GraSP's output generator contract over :meth:`output_record_generator`."""
        return self.output_record_generator(state)


DefaultTaskExecutor = BaseTaskExecutor
"""SyGra's default task executor, under its other name."""


class BaseOutputGenerator:
    """Holds the methods ``output_config.output_map`` names as a field's ``transform``."""


class GraphPostProcessor:
    """SyGra's ``graph_post_process`` processor base: ``process(self, data, metadata)``
    takes every output record and returns the records to keep (see docs/how-to/curate.md,
    "A processor class")."""


class SimpleResponse(BaseModel):
    """SyGra's built-in structured-output schema
    (``sygra.core.models.structured_output.schemas_factory.SimpleResponse``)."""

    message: str = Field(description="Response message")
    success: bool = Field(description="Operation success status")


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


def load_json(text: Any) -> Any:
    """``text`` parsed as JSON, or None when it is not JSON (SyGra's ``utils.load_json``)."""
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def extract_and_load_json(text: Any) -> Any:
    """The first JSON object or array written in ``text`` (a model's reply with prose or a
    code fence around it), or None when there is none (SyGra's
    ``utils.extract_and_load_json``)."""
    if not isinstance(text, str):
        return None
    whole = load_json(text)
    if isinstance(whole, dict | list):
        return whole
    decoder = json.JSONDecoder(strict=False)
    for start, char in enumerate(text):
        if char in "{[":
            try:
                return decoder.raw_decode(text, start)[0]
            except ValueError:
                continue
    return None


def get_file_in_task_dir(task: str, filename: str) -> str:
    """The path of ``filename`` in the task folder SyGra names by its dotted path from the
    repository root (``tasks.examples.x``; SyGra's ``utils.get_file_in_task_dir``). The
    folder is looked up from the calling module's folder, each folder above it, then the
    working folder, also without the path's first part (a converted tree drops
    ``tasks/``); when none exists, it is the path from the caller's folder."""
    parts = task.split(".")
    frame = inspect.currentframe()
    caller_file = frame.f_back.f_code.co_filename if frame and frame.f_back else "."
    caller = Path(caller_file).resolve().parent
    folders = [Path(*parts)] + ([Path(*parts[1:])] if len(parts) > 1 else [])
    for base in (caller, *caller.parents, Path.cwd()):
        for folder in folders:
            if (base / folder).is_dir():
                return str(base / folder / filename)
    return str(caller.joinpath(*parts, filename))


utils = SimpleNamespace(
    convert_messages_from_langchain_to_chat_format=_chat_format,
    get_file_in_task_dir=get_file_in_task_dir,
    extract_and_load_json=extract_and_load_json,
    load_json=load_json,
)
"""The helpers of SyGra's ``utils`` module that its tasks use."""
