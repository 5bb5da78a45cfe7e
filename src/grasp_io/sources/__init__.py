"""Sources that read records for a run (entry point group ``grasp.sources``), one module per
registered type: ``disk`` (JSON Lines, JSON, CSV, Parquet), ``hf``, ``oasst``,
``servicenow`` and ``python`` (records a function of the task's code returns); private
modules hold the per-format readers and the id helpers they share."""

from typing import Any

from grasp_core.plugin import lazy_exports

__all__ = [
    "DiskFormat",
    "DiskSource",
    "DiskSourceConfig",
    "HfSource",
    "HfSourceConfig",
    "OasstSource",
    "OasstSourceConfig",
    "PythonSource",
    "PythonSourceConfig",
    "ServiceNowSource",
    "ServiceNowSourceConfig",
    "infer_format",
    "open_disk_source",
]

# Imported on first use: the entry points name one source each, and a run reading a file
# should not import the Hugging Face or ServiceNow clients.
_exported, __dir__ = lazy_exports(
    __name__,
    {
        "grasp_io.sources.disk": ["DiskFormat", "DiskSource", "DiskSourceConfig", "infer_format"],
        "grasp_io.sources.hf": ["HfSource", "HfSourceConfig"],
        "grasp_io.sources.oasst": ["OasstSource", "OasstSourceConfig"],
        "grasp_io.sources.python": ["PythonSource", "PythonSourceConfig"],
        "grasp_io.sources.servicenow": ["ServiceNowSource", "ServiceNowSourceConfig"],
    },
    __all__,
)


def __getattr__(name: str) -> Any:
    """A name of ``__all__``, imported on first use; ``open_disk_source``, the ``disk``
    entry point's target, is :class:`DiskSource`."""
    return _exported("DiskSource" if name == "open_disk_source" else name)
