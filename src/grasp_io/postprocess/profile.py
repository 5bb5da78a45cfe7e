"""``profile``: what a dataset looks like, as ``NAME.profile.json`` and a self-contained
``NAME.profile.html`` (CSS bars, no script, no external URL).

For each chosen text field: lengths in words and tokens (percentiles and a histogram); over
all of them: languages (the quality node's tag when the record has one, else py3langid),
distinct-n and the exact duplicate rate of the records it sees (the profile counts what
reaches it: put it after `dedup` to profile the curated output, before to see the raw
one); from the quality tags when present: flag counts and the `overall` score histogram;
histograms of any numeric score fields named (a judge's); and, with `embedding_model`, a
diversity figure: the mean cosine distance between the embeddings of a sample of records.
Records pass unchanged. Memory: a length per record and field, a hash per record, at most
``EXACT_LIMIT`` n-gram hashes and 16 KB of HyperLogLog registers per n (``_stats``), and the
embedding sample.
"""

from __future__ import annotations

import hashlib
import json
from array import array
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, Field

from grasp_core.errors import ConfigError
from grasp_core.plugin import (
    SourceItem,
    StepEnv,
    StepOutput,
    StrictModel,
    count_tokens,
    lookup,
)
from grasp_io._fs import coerce_config
from grasp_io.postprocess._profile_html import render_html
from grasp_io.postprocess._stats import DistinctNgrams, histogram, percentiles
from grasp_io.postprocess._text import field_texts, normalise

__all__ = ["ProfileConfig", "ProfileStep"]

_POINTS = (5, 25, 50, 75, 95, 99)
_LANGUAGE_CHARS = 2000
"""Only the first characters of a record are classified: more barely changes the answer."""


class ProfileConfig(StrictModel):
    """Settings of the `profile` post-process step."""

    fields: list[str] | None = Field(default=None, min_length=1)
    """Text fields measured, as dotted paths (`prompt`, `messages`); a list of chat turns
    reads as the text of its turns. Default: every top-level field but the id and the
    `quality_field`."""
    bins: int = Field(default=10, ge=1, le=100)
    """Bars per histogram."""
    tokens: bool = True
    """Count tokens (tiktoken's cl100k_base, offline) besides words."""
    languages: bool = True
    """Count records per language (the quality node's `language` tag, else py3langid)."""
    distinct_n: list[int] = Field(default_factory=lambda: [1, 2, 3], min_length=1)
    """The n of the distinct-n figures (unique word n-grams over all n-grams)."""
    quality_field: str = "quality"
    """Where the quality node's tags are: flag counts and the `overall` histogram."""
    scores: list[str] = Field(default_factory=list)
    """Dotted paths of numeric scores to show as histograms (`judge.score`)."""
    embedding_model: str | None = None
    """A models-file entry with an embeddings route (or `local/...`): adds `diversity`,
    the mean cosine distance between the embeddings of `diversity_sample` records."""
    diversity_sample: int = Field(default=500, ge=2, le=20000)
    """Records embedded for the diversity figure (the first ones)."""
    html: bool = True
    """Also write `NAME.profile.html`."""


class ProfileStep:
    """Measures every record it passes on, then writes the profile files."""

    config_model: ClassVar[type[BaseModel]] = ProfileConfig

    def __init__(self, config: ProfileConfig, env: StepEnv) -> None:
        self.config = config
        self.env = env
        self.records = 0
        self.words: dict[str, array[int]] = {}
        self.tokens: dict[str, array[int]] = {}
        self.languages: Counter[str] = Counter()
        self.flags: Counter[str] = Counter()
        self.tagged = 0
        self.scores: dict[str, list[float]] = {path: [] for path in self._score_paths()}
        self.hashes: set[bytes] = set()
        self.duplicates = 0
        self.distinct = DistinctNgrams(config.distinct_n)
        self.sample: list[str] = []

    @classmethod
    def from_config(cls, config: BaseModel, env: StepEnv) -> ProfileStep:
        cfg = coerce_config(config, ProfileConfig)
        if cfg.embedding_model is not None:
            env.embedder(cfg.embedding_model)  # a wrong model fails now, before any record
        return cls(cfg, env)

    def _score_paths(self) -> list[str]:
        return [f"{self.config.quality_field}.overall", *self.config.scores]

    def process(self, items: Iterator[SourceItem]) -> Iterator[StepOutput]:
        for item in items:
            self._measure(item.data)
            yield item

    def _measure(self, record: Mapping[str, Any]) -> None:
        config = self.config
        self.records += 1
        names = config.fields or sorted(
            key for key in record if key not in (self.env.id_column, config.quality_field)
        )
        texts = field_texts(record, names, id_column=self.env.id_column)
        for name, text in zip(names, texts, strict=True):
            self.words.setdefault(name, array("I")).append(len(text.split()))
            if config.tokens:
                self.tokens.setdefault(name, array("I")).append(_tokens(text))
        whole = "\n".join(texts)
        self.distinct.add(normalise(whole, strip_punctuation=True).split())
        key = hashlib.blake2b(normalise(whole).encode(), digest_size=16).digest()
        self.duplicates += key in self.hashes
        self.hashes.add(key)
        quality = lookup(record, config.quality_field)
        if isinstance(quality, Mapping):
            self.tagged += 1
            flags = quality.get("flags")
            if isinstance(flags, list):
                self.flags.update(str(flag) for flag in flags if flag)
        if config.languages:
            self.languages[self._language(quality, whole)] += 1
        for path, values in self.scores.items():
            value = lookup(record, path)
            if isinstance(value, int | float) and not isinstance(value, bool):
                values.append(float(value))
        if config.embedding_model is not None and len(self.sample) < config.diversity_sample:
            self.sample.append(whole)

    def _language(self, quality: Any, text: str) -> str:
        tagged = lookup(quality, "heuristics.language") if isinstance(quality, Mapping) else None
        if isinstance(tagged, str) and tagged:
            return tagged
        if not any(ch.isalpha() for ch in text[:_LANGUAGE_CHARS]):
            return "unknown"
        import py3langid

        code, _score = py3langid.classify(text[:_LANGUAGE_CHARS])
        return str(code)

    def finish(self) -> Mapping[str, Any]:
        profile = self.profile()
        self.env.file(".profile.json").write_text(
            json.dumps(profile, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        if self.config.html:
            self.env.file(".profile.html").write_text(render_html(profile), encoding="utf-8")
        return self.brief(profile)

    def profile(self) -> dict[str, Any]:
        """The whole profile (``NAME.profile.json``)."""
        bins = self.config.bins
        fields = {
            name: {
                "words": _lengths(words, bins),
                **({"tokens": _lengths(self.tokens[name], bins)} if name in self.tokens else {}),
            }
            for name, words in self.words.items()
        }
        scores = {
            path: {**_lengths(values, bins), "count": len(values)}
            for path, values in self.scores.items()
            if values
        }
        profile: dict[str, Any] = {
            "records": self.records,
            "fields": fields,
            "duplicates": {
                "exact": self.duplicates,
                "rate": round(self.duplicates / self.records, 4) if self.records else None,
            },
            "distinct": self.distinct.ratios(),
            "distinct_estimated": self.distinct.estimated,
            "languages": dict(self.languages.most_common()),
            "quality": {"tagged": self.tagged, "flags": dict(self.flags.most_common())},
            "scores": scores,
        }
        if self.config.embedding_model is not None:
            profile["diversity"] = self._diversity()
        return profile

    def brief(self, profile: Mapping[str, Any]) -> dict[str, Any]:
        """The few figures shown in the run's summary."""
        medians = {
            name: field["words"].get("percentiles", {}).get("p50")
            for name, field in profile["fields"].items()
        }
        languages = dict(list(profile["languages"].items())[:3])
        distinct = profile["distinct"]
        figures = [
            f"{profile['records']} records",
            *(
                f"median {name} {value:g} words"
                for name, value in medians.items()
                if value is not None
            ),
            "languages " + ", ".join(f"{code} {count}" for code, count in languages.items()),
            f"duplicate rate {profile['duplicates']['rate']}",
            *(f"{name.replace('_', '-')} {value}" for name, value in distinct.items()),
        ]
        return {
            "headline": "; ".join(figures),
            "records": profile["records"],
            "median_words": {
                name: field["words"].get("percentiles", {}).get("p50")
                for name, field in profile["fields"].items()
            },
            "languages": dict(list(profile["languages"].items())[:3]),
            "duplicate_rate": profile["duplicates"]["rate"],
            **profile["distinct"],
            **({"diversity": profile["diversity"]} if "diversity" in profile else {}),
        }

    def _diversity(self) -> dict[str, Any]:
        model = self.config.embedding_model
        assert model is not None
        embedder = self.env.embedder(model)
        texts = [text for text in self.sample if text.strip()]
        vectors = self.env.run_async(embedder.embed, texts) if texts else []
        return {
            "model": model,
            "sample": len(texts),
            "mean_cosine_distance": _mean_cosine_distance(vectors),
        }


def _tokens(text: str) -> int:
    try:
        return count_tokens(text)
    except ConfigError as exc:
        raise ConfigError(f"the profile step: {exc}; or set `tokens: false`") from exc


def _lengths(values: Any, bins: int) -> dict[str, Any]:
    listed = list(values)
    if not listed:
        return {"mean": None, "percentiles": {}, "histogram": histogram([], bins)}
    return {
        "mean": round(sum(listed) / len(listed), 3),
        "min": min(listed),
        "max": max(listed),
        "percentiles": percentiles(listed, _POINTS),
        "histogram": histogram(listed, bins),
    }


def _mean_cosine_distance(vectors: list[list[float]]) -> float | None:
    """The mean of ``1 - cos`` over every pair of distinct vectors."""
    if len(vectors) < 2:
        return None
    matrix = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit = matrix / np.where(norms == 0, 1.0, norms)
    similarity = unit @ unit.T
    count = len(vectors)
    pairs = (similarity.sum() - np.trace(similarity)) / (count * (count - 1))
    return round(float(1.0 - pairs), 4)
