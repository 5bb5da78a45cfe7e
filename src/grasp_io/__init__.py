"""Reading and writing records: disk and Hugging Face sources, and the JSONL, JSON, CSV,
Parquet and Hugging Face sinks."""

from grasp_io.sinks import (
    CsvSink,
    CsvSinkConfig,
    HfSink,
    HfSinkConfig,
    JsonArraySink,
    JsonArraySinkConfig,
    JsonlSink,
    JsonlSinkConfig,
    ParquetSink,
    ParquetSinkConfig,
)
from grasp_io.sources import (
    DiskFormat,
    DiskSource,
    DiskSourceConfig,
    HfSource,
    HfSourceConfig,
    infer_format,
)

__all__ = [
    "CsvSink",
    "CsvSinkConfig",
    "DiskFormat",
    "DiskSource",
    "DiskSourceConfig",
    "HfSink",
    "HfSinkConfig",
    "HfSource",
    "HfSourceConfig",
    "JsonArraySink",
    "JsonArraySinkConfig",
    "JsonlSink",
    "JsonlSinkConfig",
    "ParquetSink",
    "ParquetSinkConfig",
    "infer_format",
]
