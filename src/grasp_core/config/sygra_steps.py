"""SyGra's built-in ``graph_post_process`` processors, read as GraSP's post-process steps.

SyGra names its own processors by their class path
(``sygra.core.graph.graph_postprocessor.SemanticDedupPostProcessor``); GraSP has a step that
does the same, so the processor runs as that step with its settings translated. Settings that
only shape SyGra's report are accepted and have no effect (GraSP reports every removed record
with the kept one it repeats, in ``NAME.removed.jsonl``); settings GraSP cannot honour are
refused, naming GraSP's way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grasp_core.errors import ConfigError

__all__ = ["SYGRA_PROCESSORS", "sygra_step"]

SYGRA_PROCESSORS = {"core.graph.graph_postprocessor.SemanticDedupPostProcessor": "embedding_dedup"}
"""SyGra's processor (its path inside the ``sygra`` package, ``grasp`` in older releases) →
the GraSP step it runs as."""

_REPORT_ONLY = frozenset(
    {"id_field", "report_filename", "max_pairs_in_report", "dedup_mode", "vectorstore_k"}
)
_SEMANTIC_DEDUP = frozenset(
    {"field", "similarity_threshold", "embedding_backend", "embedding_model", "keep"}
)


def sygra_step(target: Any, params: Mapping[str, Any], where: str) -> tuple[str, dict[str, Any]]:
    """The GraSP step (name, settings) that SyGra's processor ``target`` with ``params`` is;
    ``(target, params)`` unchanged when it is not one of SyGra's own. ``where`` is the YAML
    path of the params, for the one-line error."""
    if not isinstance(target, str):
        return target, dict(params)
    root, _, rest = target.partition(".")
    if root not in ("sygra", "grasp") or rest not in SYGRA_PROCESSORS:
        return target, dict(params)
    unknown = sorted(set(params) - _SEMANTIC_DEDUP - _REPORT_ONLY)
    if unknown:
        known = ", ".join(sorted(_SEMANTIC_DEDUP | _REPORT_ONLY))
        raise ConfigError(f"{where}: unknown setting(s) {unknown!r} of {target}; known: {known}")
    backend = params.get("embedding_backend", "sentence_transformers")
    if backend != "sentence_transformers":
        raise ConfigError(
            f"{where}.embedding_backend: {backend!r} is not one SyGra supports either; remove "
            "it, and name the embedding model's models-file entry in `embedding_model`"
        )
    if params.get("keep", "first") != "first":
        raise ConfigError(
            f"{where}.keep: {params['keep']!r}: GraSP keeps the first of each group of "
            "similar records; reverse the records first, or remove `keep`"
        )
    settings: dict[str, Any] = {
        "model": params.get("embedding_model", "all-MiniLM-L6-v2"),
        "fields": [params.get("field", "text")],
    }
    if "similarity_threshold" in params:
        settings["threshold"] = params["similarity_threshold"]
    return SYGRA_PROCESSORS[rest], settings
