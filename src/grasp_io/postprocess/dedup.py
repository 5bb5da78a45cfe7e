"""``dedup``: remove exact or near-duplicate records over chosen fields, keeping the first.

``exact`` compares a hash of the fields' normalised text (Unicode compatibility forms, case
and whitespace folded; punctuation too with ``strip_punctuation``). ``minhash`` estimates
the Jaccard similarity of the records' word n-grams with MinHash and finds candidates with
LSH (datasketch); a record whose similarity to a kept one reaches ``threshold`` is removed.
Each removed record is reported with ``duplicate_of`` (the id of the kept record) and the
``similarity`` (1.0 for exact duplicates). Both stream: memory grows with the records kept
(an exact hash each; a MinHash signature and its LSH buckets), never with their text.
Permutations come from a fixed ``seed``, so two passes over the same data agree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, model_validator

from grasp_core.plugin import Removed, SourceItem, StepEnv, StepOutput, StrictModel
from grasp_io._fs import coerce_config
from grasp_io.postprocess._minhash import MinHashIndex
from grasp_io.postprocess._text import field_texts, normalise

__all__ = ["DedupConfig", "DedupStep"]

_MINHASH_ONLY = ("threshold", "ngram", "num_perm", "seed")


class DedupConfig(StrictModel):
    """Settings of the `dedup` post-process step: remove duplicates, keeping the first."""

    method: Literal["exact", "minhash"] = "exact"
    """`exact`: the same normalised text; `minhash`: near duplicates, whose estimated Jaccard
    similarity of word n-grams reaches `threshold` (MinHash with LSH)."""
    fields: list[str] | None = Field(default=None, min_length=1)
    """Fields compared, as dotted paths (`answer`, `messages`, `messages.1.content`); a list
    of chat turns reads as the text of its turns. Default: every field but the id."""
    roles: list[str] | None = None
    """With a list of chat turns: read only the turns of these roles (`[user, assistant]`
    leaves out a system prompt that every record shares)."""
    strip_punctuation: bool | None = None
    """Ignore punctuation when comparing. Default: false for `exact`, true for `minhash`."""
    threshold: float = Field(default=0.8, gt=0, le=1)
    """`minhash`: the estimated Jaccard similarity from which a record is a duplicate."""
    ngram: int = Field(default=3, ge=1, le=10)
    """`minhash`: words per shingle (a text shorter than this is one shingle)."""
    num_perm: int = Field(default=128, ge=16, le=1024)
    """`minhash`: permutations per signature; more estimate closer, cost time and memory."""
    seed: int = 1
    """`minhash`: the seed of the permutations (fixed, so every pass agrees)."""

    @model_validator(mode="after")
    def _minhash_settings(self) -> DedupConfig:
        given = [name for name in _MINHASH_ONLY if name in self.model_fields_set]
        if self.method == "exact" and given:
            names = ", ".join(f"`{name}`" for name in given)
            verb = "applies" if len(given) == 1 else "apply"
            raise ValueError(
                f"{names} only {verb} to `method: minhash`; drop it, or set `method: minhash` "
                "for near duplicates"
            )
        return self


class _ExactIndex:
    """The first record of each normalised text, by a 128-bit hash of it."""

    def __init__(self) -> None:
        self._first: dict[bytes, str] = {}

    def match(self, record_id: str, texts: Sequence[str]) -> tuple[str, float] | None:
        key = hashlib.blake2b("\x00".join(texts).encode(), digest_size=16).digest()
        first = self._first.get(key)
        if first is not None:
            return first, 1.0
        self._first[key] = record_id
        return None


class DedupStep:
    """Removes each record that duplicates an earlier kept one."""

    config_model: ClassVar[type[BaseModel]] = DedupConfig

    def __init__(self, config: DedupConfig, *, id_column: str) -> None:
        self.config = config
        self.id_column = id_column
        minhash = config.method == "minhash"
        self.strip = config.strip_punctuation if config.strip_punctuation is not None else minhash
        self.index: _ExactIndex | MinHashIndex = (
            MinHashIndex(
                threshold=config.threshold,
                num_perm=config.num_perm,
                ngram=config.ngram,
                seed=config.seed,
            )
            if minhash
            else _ExactIndex()
        )
        self.reason = "near duplicate" if minhash else "exact duplicate"
        self.duplicates = 0
        self.empty = 0

    @classmethod
    def from_config(cls, config: BaseModel, env: StepEnv) -> DedupStep:
        return cls(coerce_config(config, DedupConfig), id_column=env.id_column)

    def process(self, items: Iterator[SourceItem]) -> Iterator[StepOutput]:
        config = self.config
        for item in items:
            texts = [
                normalise(text, strip_punctuation=self.strip)
                for text in field_texts(
                    item.data, config.fields, id_column=self.id_column, roles=config.roles
                )
            ]
            if not any(texts):
                self.empty += 1  # nothing to compare: kept, and counted
                yield item
                continue
            found = self.index.match(item.record_id, texts)
            if found is None:
                yield item
                continue
            self.duplicates += 1
            details = {"duplicate_of": found[0], "similarity": round(found[1], 4)}
            yield Removed(item, self.reason, {**details, "method": config.method})

    def finish(self) -> Mapping[str, Any]:
        results: dict[str, Any] = {
            "method": self.config.method,
            "duplicates": self.duplicates,
            "empty": self.empty,
        }
        if isinstance(self.index, MinHashIndex):
            results["threshold"] = self.config.threshold
            results["candidates_checked"] = self.index.candidates_checked
        return results
