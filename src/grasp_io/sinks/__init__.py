"""Sinks that store finished records (entry point group ``grasp.sinks``), one module per
registered type (``jsonl``, ``json``, ``csv``, ``parquet``, ``hf``, ``servicenow``); private
modules hold what they share (appending with commit tokens, Arrow batches, hub pushes).

Every sink is exactly-once under resume: writes return commit tokens, and
``restore(committed)`` returns the output to what those tokens describe.
"""

from grasp_core.plugin import lazy_exports

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

# Imported on first use: the entry points name one sink each (``grasp_io.sinks:JsonlSink``),
# and a run writing JSON Lines should not import the HTTP client of the ServiceNow sink.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "grasp_io.sinks.csv": ["CsvSink", "CsvSinkConfig"],
        "grasp_io.sinks.hf": ["HfSink", "HfSinkConfig"],
        "grasp_io.sinks.json": ["JsonArraySink", "JsonArraySinkConfig"],
        "grasp_io.sinks.jsonl": ["JsonlSink", "JsonlSinkConfig"],
        "grasp_io.sinks.parquet": ["ParquetSink", "ParquetSinkConfig"],
        "grasp_io.sinks.servicenow": ["ServiceNowSink", "ServiceNowSinkConfig"],
    },
    __all__,
)
