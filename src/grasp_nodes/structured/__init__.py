"""Structured output for `llm`, `multi_llm` and `agent` nodes: replies validated against a
schema (a pydantic model or inline fields), with retries that show the model its mistake."""

from grasp_nodes.structured._config import FieldSpec, InlineSchema, StructuredOutputConfig
from grasp_nodes.structured._forms import NATIVE_PROVIDERS, SchemaForm
from grasp_nodes.structured._output import Placement, StructuredOutput, StructuredOutputError
from grasp_nodes.structured._reply import SCHEMA_CLOSE, SCHEMA_OPEN

__all__ = [
    "NATIVE_PROVIDERS",
    "SCHEMA_CLOSE",
    "SCHEMA_OPEN",
    "FieldSpec",
    "InlineSchema",
    "Placement",
    "SchemaForm",
    "StructuredOutput",
    "StructuredOutputConfig",
    "StructuredOutputError",
]
