"""Reading and writing records: disk and Hugging Face sources, and the JSONL, JSON, CSV,
Parquet and Hugging Face sinks."""

from grasp_core.plugin import lazy_exports

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

# Imported on first use: a run loads its source, sink and media encoder through entry
# points, each of which imports this package first.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "grasp_io.sinks": [
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
        ],
        "grasp_io.sources": [
            "DiskFormat",
            "DiskSource",
            "DiskSourceConfig",
            "HfSource",
            "HfSourceConfig",
            "infer_format",
        ],
    },
    __all__,
)
