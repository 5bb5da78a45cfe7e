"""Pydantic models of the task file and the YAML-aware validation helper."""

from grasp_core.config._base import StrictModel
from grasp_core.config._errors import validate_block
from grasp_core.config.data import DataConfig
from grasp_core.config.graph import (
    EdgeConfig,
    GraphConfig,
    GraphProperties,
    NodeConfig,
    RetryConfig,
)
from grasp_core.config.output import OutputConfig, OutputField
from grasp_core.config.schema import SchemaConfig, SchemaFieldConfig
from grasp_core.config.task import TaskConfig

__all__ = [
    "DataConfig",
    "EdgeConfig",
    "GraphConfig",
    "GraphProperties",
    "NodeConfig",
    "OutputConfig",
    "OutputField",
    "RetryConfig",
    "SchemaConfig",
    "SchemaFieldConfig",
    "StrictModel",
    "TaskConfig",
    "validate_block",
]
