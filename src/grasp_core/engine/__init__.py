"""The engine: admission of records into a bounded window (``scheduler``), one walk per
record, output shaping (``output``), validation (``validation``), row formats
(``row_formats``), the writer that commits to sinks then journals (``writer``), and the
append-only journal that makes a run resumable (``journal``)."""

from grasp_core.engine.scheduler import Engine, raise_grasp_error
from grasp_core.engine.writer import FAILURES_SINK, OUTPUT_SINK, EngineCounts, RecordResult

__all__ = [
    "FAILURES_SINK",
    "OUTPUT_SINK",
    "Engine",
    "EngineCounts",
    "RecordResult",
    "raise_grasp_error",
]
