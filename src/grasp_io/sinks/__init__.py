"""Sinks that store finished records (entry point group ``grasp.sinks``), one module per
registered type (``jsonl``, ``json``, ``csv``, ``parquet``, ``hf``, ``servicenow``); private
modules hold what they share (appending with commit tokens, Arrow batches, hub pushes).

Every sink is exactly-once under resume: writes return commit tokens, and
``restore(committed)`` returns the output to what those tokens describe.
"""

from grasp_io.sinks.csv import CsvSink, CsvSinkConfig
from grasp_io.sinks.hf import HfSink, HfSinkConfig
from grasp_io.sinks.json import JsonArraySink, JsonArraySinkConfig
from grasp_io.sinks.jsonl import JsonlSink, JsonlSinkConfig
from grasp_io.sinks.parquet import ParquetSink, ParquetSinkConfig
from grasp_io.sinks.servicenow import ServiceNowSink, ServiceNowSinkConfig

__all__ = [
    "CsvSink",
    "CsvSinkConfig",
    "HfSink",
    "HfSinkConfig",
    "JsonArraySink",
    "JsonArraySinkConfig",
    "JsonlSink",
    "JsonlSinkConfig",
    "ParquetSink",
    "ParquetSinkConfig",
    "ServiceNowSink",
    "ServiceNowSinkConfig",
]
