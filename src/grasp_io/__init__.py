"""Reading and writing records: the disk source and the JSONL, JSON, CSV and Parquet sinks."""

from grasp_io.sinks import (
    CsvSink,
    CsvSinkConfig,
    JsonArraySink,
    JsonArraySinkConfig,
    JsonlSink,
    JsonlSinkConfig,
    ParquetSink,
    ParquetSinkConfig,
)
from grasp_io.sources import DiskFormat, DiskSource, DiskSourceConfig, infer_format

__all__ = [
    "CsvSink",
    "CsvSinkConfig",
    "DiskFormat",
    "DiskSource",
    "DiskSourceConfig",
    "JsonArraySink",
    "JsonArraySinkConfig",
    "JsonlSink",
    "JsonlSinkConfig",
    "ParquetSink",
    "ParquetSinkConfig",
    "infer_format",
]
