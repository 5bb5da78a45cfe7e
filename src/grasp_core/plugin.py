"""Everything a plugin author imports: node types, sources, sinks, transforms, row formats,
media encoders and post-process steps are written against these names (with
``grasp_core.errors`` for errors and the package root for the public API), never against
engine modules. ``grasp_nodes`` and ``grasp_io`` hold to the same rule, checked by
import-linter.

Names are imported lazily on first use, as at the package root.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from grasp_core._lazy import lazy_exports

if TYPE_CHECKING:
    from grasp_core._chunked import decode_chunked
    from grasp_core._json_text import compact_encoder
    from grasp_core.config import GraphConfig, NodeConfig, StrictModel, validate_block
    from grasp_core.config.callables import UserCallable, load_callable
    from grasp_core.config.dotted import resolve_dotted
    from grasp_core.config.models_file import BatchOptions, CacheMode, ModelSpec, ReplyAction
    from grasp_core.config.parameters import ModelParameters
    from grasp_core.config.quality import DataQualityConfig
    from grasp_core.config.sygra_keys import (
        in_sygra_file,
        lambda_keys,
        node_keys,
        subgraph_keys,
        web_agent_keys,
    )
    from grasp_core.config.sygra_lambda import callable_writes, missing_keys_message
    from grasp_core.config.task_file import folder_task_file
    from grasp_core.config.yaml_source import YamlPath, load_yaml
    from grasp_core.engine.output import MISSING, lookup
    from grasp_core.engine.validation import parse_type
    from grasp_core.engine.writable import find_unwritable
    from grasp_core.graph import CompiledGraph, compile_graph
    from grasp_core.graph.chat_messages import (
        AIMessage,
        ChatMessage,
        HumanMessage,
        SystemMessage,
        ToolMessage,
        with_message_objects,
    )
    from grasp_core.graph.state import APPEND_KEYS, REPLY_FLAGS
    from grasp_core.graph.state_keys import check_state_reads, free_reads
    from grasp_core.logs import get_logger, redact, register_secret
    from grasp_core.models.backends import Backend
    from grasp_core.models.cache import ResponseCache
    from grasp_core.models.cache_key import RequestKeys, current_identity, request_key
    from grasp_core.models.tokens import TOKEN_ENCODING, count_tokens
    from grasp_core.observe.calls import report_model_call
    from grasp_core.observe.metrics import RunMetrics
    from grasp_core.postprocess import Removed, Step, StepEnv, StepOutput, StepType
    from grasp_core.protocols import (
        BuildEnv,
        CommitToken,
        Embedder,
        EmbedderFactory,
        Node,
        NodeContext,
        NodeType,
        ReadsState,
        RecordFormat,
        Sink,
        SinkType,
        Source,
        SourceItem,
        SourceType,
        Transform,
        TransformEnv,
        TransformType,
    )
    from grasp_core.registry import (
        embedders,
        formats,
        media,
        nodes,
        postprocess,
        register,
        sinks,
        sources,
        transforms,
    )

__all__ = [
    "APPEND_KEYS",
    "MISSING",
    "REPLY_FLAGS",
    "TOKEN_ENCODING",
    "AIMessage",
    "Backend",
    "BatchOptions",
    "BuildEnv",
    "CacheMode",
    "ChatMessage",
    "CommitToken",
    "CompiledGraph",
    "DataQualityConfig",
    "Embedder",
    "EmbedderFactory",
    "GraphConfig",
    "HumanMessage",
    "ModelParameters",
    "ModelSpec",
    "Node",
    "NodeConfig",
    "NodeContext",
    "NodeType",
    "ReadsState",
    "RecordFormat",
    "Removed",
    "ReplyAction",
    "RequestKeys",
    "ResponseCache",
    "RunMetrics",
    "Sink",
    "SinkType",
    "Source",
    "SourceItem",
    "SourceType",
    "Step",
    "StepEnv",
    "StepOutput",
    "StepType",
    "StrictModel",
    "SystemMessage",
    "ToolMessage",
    "Transform",
    "TransformEnv",
    "TransformType",
    "UserCallable",
    "YamlPath",
    "callable_writes",
    "check_state_reads",
    "compact_encoder",
    "compile_graph",
    "count_tokens",
    "current_identity",
    "decode_chunked",
    "embedders",
    "find_unwritable",
    "folder_task_file",
    "formats",
    "free_reads",
    "get_logger",
    "in_sygra_file",
    "lambda_keys",
    "lazy_exports",
    "load_callable",
    "load_yaml",
    "lookup",
    "media",
    "missing_keys_message",
    "node_keys",
    "nodes",
    "parse_type",
    "postprocess",
    "redact",
    "register",
    "register_secret",
    "report_model_call",
    "request_key",
    "resolve_dotted",
    "sinks",
    "sources",
    "subgraph_keys",
    "transforms",
    "validate_block",
    "web_agent_keys",
    "with_message_objects",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "grasp_core._chunked": ["decode_chunked"],
        "grasp_core._json_text": ["compact_encoder"],
        "grasp_core.config": ["GraphConfig", "NodeConfig", "StrictModel", "validate_block"],
        "grasp_core.config.callables": ["UserCallable", "load_callable"],
        "grasp_core.config.dotted": ["resolve_dotted"],
        "grasp_core.config.quality": ["DataQualityConfig"],
        "grasp_core.config.sygra_lambda": ["callable_writes", "missing_keys_message"],
        "grasp_core.config.sygra_keys": [
            "in_sygra_file",
            "lambda_keys",
            "node_keys",
            "subgraph_keys",
            "web_agent_keys",
        ],
        "grasp_core.config.task_file": ["folder_task_file"],
        "grasp_core.config.yaml_source": ["YamlPath", "load_yaml"],
        "grasp_core.engine.output": ["MISSING", "lookup"],
        "grasp_core.engine.validation": ["parse_type"],
        "grasp_core.engine.writable": ["find_unwritable"],
        "grasp_core.graph": ["CompiledGraph", "compile_graph"],
        "grasp_core.graph.chat_messages": [
            "AIMessage",
            "ChatMessage",
            "HumanMessage",
            "SystemMessage",
            "ToolMessage",
            "with_message_objects",
        ],
        "grasp_core.graph.state": ["APPEND_KEYS", "REPLY_FLAGS"],
        "grasp_core.graph.state_keys": ["check_state_reads", "free_reads"],
        "grasp_core.models.backends": ["Backend"],
        "grasp_core.models.cache": ["ResponseCache"],
        "grasp_core.models.cache_key": ["RequestKeys", "current_identity", "request_key"],
        "grasp_core.models.tokens": ["TOKEN_ENCODING", "count_tokens"],
        "grasp_core.config.models_file": ["BatchOptions", "CacheMode", "ModelSpec", "ReplyAction"],
        "grasp_core.config.parameters": ["ModelParameters"],
        "grasp_core.logs": ["get_logger", "redact", "register_secret"],
        "grasp_core.observe.calls": ["report_model_call"],
        "grasp_core.observe.metrics": ["RunMetrics"],
        "grasp_core.postprocess": ["Removed", "Step", "StepEnv", "StepOutput", "StepType"],
        "grasp_core.protocols": [
            "BuildEnv",
            "CommitToken",
            "Embedder",
            "EmbedderFactory",
            "Node",
            "NodeContext",
            "NodeType",
            "ReadsState",
            "RecordFormat",
            "Sink",
            "SinkType",
            "Source",
            "SourceItem",
            "SourceType",
            "Transform",
            "TransformEnv",
            "TransformType",
        ],
        "grasp_core.registry": [
            "embedders",
            "formats",
            "media",
            "nodes",
            "postprocess",
            "register",
            "sinks",
            "sources",
            "transforms",
        ],
    },
    __all__,
)
