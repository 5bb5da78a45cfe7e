"""Sources that read records for a run (entry point group ``grasp.sources``)."""

from grasp_io.sources.disk import DiskFormat, DiskSource, DiskSourceConfig, infer_format
from grasp_io.sources.hf import HfSource, HfSourceConfig

__all__ = [
    "DiskFormat",
    "DiskSource",
    "DiskSourceConfig",
    "HfSource",
    "HfSourceConfig",
    "infer_format",
    "open_disk_source",
]

open_disk_source = DiskSource
"""The ``disk`` entry point's target (an alias of :class:`DiskSource`)."""
