"""Sources that read records for a run (entry point group ``grasp.sources``), one module per
registered type: ``disk`` (JSON Lines, JSON, CSV, Parquet), ``hf``, ``oasst`` and
``servicenow``; private modules hold the per-format readers and the id helpers they share."""

from grasp_io.sources.disk import DiskFormat, DiskSource, DiskSourceConfig, infer_format
from grasp_io.sources.hf import HfSource, HfSourceConfig
from grasp_io.sources.oasst import OasstSource, OasstSourceConfig
from grasp_io.sources.servicenow import ServiceNowSource, ServiceNowSourceConfig

__all__ = [
    "DiskFormat",
    "DiskSource",
    "DiskSourceConfig",
    "HfSource",
    "HfSourceConfig",
    "OasstSource",
    "OasstSourceConfig",
    "ServiceNowSource",
    "ServiceNowSourceConfig",
    "infer_format",
    "open_disk_source",
]

open_disk_source = DiskSource
"""The ``disk`` entry point's target (an alias of :class:`DiskSource`)."""
