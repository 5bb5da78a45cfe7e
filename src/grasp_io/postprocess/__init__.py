"""Post-process steps run over a finished output (entry point group ``grasp.postprocess``):
``dedup`` (exact and MinHash-LSH), ``embedding_dedup`` (cosine similarity of embeddings) and
``decontaminate`` (n-gram overlap with benchmarks), ``metrics`` (evaluation scores) and
``profile`` (a dataset's profile as JSON and an HTML page). ``_text`` reads and normalises
the text of chosen fields for every step that compares records."""

from grasp_io.postprocess.decontaminate import (
    BenchmarkConfig,
    DecontaminateConfig,
    DecontaminateStep,
)
from grasp_io.postprocess.dedup import DedupConfig, DedupStep
from grasp_io.postprocess.embed_dedup import EmbeddingDedupConfig, EmbeddingDedupStep
from grasp_io.postprocess.metrics import MetricsConfig, MetricsStep
from grasp_io.postprocess.profile import ProfileConfig, ProfileStep

__all__ = [
    "BenchmarkConfig",
    "DecontaminateConfig",
    "DecontaminateStep",
    "DedupConfig",
    "DedupStep",
    "EmbeddingDedupConfig",
    "EmbeddingDedupStep",
    "MetricsConfig",
    "MetricsStep",
    "ProfileConfig",
    "ProfileStep",
]
