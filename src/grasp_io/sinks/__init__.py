"""Sinks that store finished records (entry point group ``grasp.sinks``).

Every sink is exactly-once under resume: writes return commit tokens, and
``restore(committed)`` returns the output to what those tokens describe.
"""

from grasp_io.sinks.csv_sink import CsvSink, CsvSinkConfig
from grasp_io.sinks.hf import HfSink, HfSinkConfig
from grasp_io.sinks.json_array import JsonArraySink, JsonArraySinkConfig
from grasp_io.sinks.jsonl import JsonlSink, JsonlSinkConfig
from grasp_io.sinks.parquet import ParquetSink, ParquetSinkConfig

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
]
