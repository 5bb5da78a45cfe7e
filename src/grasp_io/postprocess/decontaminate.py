"""``decontaminate``: find records that contain text of a benchmark's test split.

Before the first record, the step reads each benchmark through GraSP's sources (a local
JSONL, JSON, CSV or Parquet file, a Hugging Face dataset or a folder written by
``save_to_disk``) and indexes the word ``ngram``-grams (13 by default) of its chosen fields.
A record any of whose chosen fields shares an n-gram with a benchmark is contaminated: with
``action: remove`` it goes to the removal report, with ``action: flag`` it is kept and its
``flag_field`` lists the matches (an empty list on clean records). Each match names the
benchmark, its split, the benchmark row's id, the record's field and the overlapping span
(the longest stretch of shared words, normalised). A benchmark text shorter than ``ngram``
words cannot be matched; the step's results count those per benchmark.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from grasp_core.errors import ConfigError, GraspError
from grasp_core.plugin import (
    Removed,
    Source,
    SourceItem,
    StepEnv,
    StepOutput,
    StrictModel,
    get_logger,
    sources,
    validate_block,
)
from grasp_io._fs import coerce_config
from grasp_io.postprocess._ngrams import NgramIndex, Overlap
from grasp_io.postprocess._text import field_texts

__all__ = ["BenchmarkConfig", "DecontaminateConfig", "DecontaminateStep"]

_log = get_logger(__name__)


class BenchmarkConfig(StrictModel):
    """One benchmark whose test data must not appear in the output."""

    name: str = Field(min_length=1)
    """The benchmark's name in the report (`gsm8k`)."""
    source: dict[str, Any]
    """Where its rows are: a source block, as under `data_config.source`
    (`{type: disk, file_path: gsm8k_test.jsonl}`, `{type: hf, repo_id: openai/gsm8k,
    config_name: main, split: test}`, or a `save_to_disk` folder as `repo_id`)."""
    fields: list[str] | None = Field(default=None, min_length=1)
    """The benchmark's fields whose text counts (`[question]`). Default: every field but
    the id."""
    split: str | None = None
    """The split named in the report. Default: the source's `split` when it names one,
    else `test`."""

    @field_validator("source")
    @classmethod
    def _typed(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(value.get("type"), str):
            raise ValueError(
                "a benchmark's source needs a `type`, such as `{type: disk, file_path: "
                "test.jsonl}` or `{type: hf, repo_id: org/name, split: test}`"
            )
        return value

    @property
    def split_name(self) -> str:
        declared = self.source.get("split")
        return self.split or (declared if isinstance(declared, str) else "test")


class DecontaminateConfig(StrictModel):
    """Settings of the `decontaminate` post-process step."""

    benchmarks: list[BenchmarkConfig] = Field(min_length=1)
    """The benchmarks to check against, each with its own source."""
    fields: list[str] | None = Field(default=None, min_length=1)
    """The output's fields compared, as dotted paths (`answer`, `messages`); a list of chat
    turns reads as the text of its turns. Default: every field but the id."""
    roles: list[str] | None = None
    """With a list of chat turns: read only the turns of these roles."""
    ngram: int = Field(default=13, ge=3, le=64)
    """Words per n-gram: a record and a benchmark that share this many consecutive words
    (normalised) overlap. Lower finds shorter leaks and more coincidences."""
    action: Literal["remove", "flag"] = "remove"
    """`remove` the contaminated records (into the removal report), or `flag` them: keep
    them with `flag_field` listing the matches."""
    flag_field: str = Field(default="contamination", min_length=1)
    """With `action: flag`: the field that lists each record's matches (`[]` when clean)."""

    @model_validator(mode="after")
    def _settings(self) -> DecontaminateConfig:
        names = [benchmark.name for benchmark in self.benchmarks]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"benchmark names must differ; {twice} is given more than once")
        if self.action == "remove" and "flag_field" in self.model_fields_set:
            raise ValueError("`flag_field` only applies to `action: flag`; drop it, or flag")
        return self


class DecontaminateStep:
    """Removes or flags the records that share an n-gram with a benchmark."""

    config_model: ClassVar[type[BaseModel]] = DecontaminateConfig

    def __init__(self, config: DecontaminateConfig, index: NgramIndex, *, id_column: str) -> None:
        self.config = config
        self.index = index
        self.id_column = id_column
        self.row_ids: list[list[str]] = [[] for _ in config.benchmarks]
        self.indexed: list[dict[str, int]] = [
            {"rows": 0, "ngrams": 0, "too_short": 0, "unreadable": 0} for _ in config.benchmarks
        ]
        self.found = dict.fromkeys((b.name for b in config.benchmarks), 0)
        self.contaminated = 0

    @classmethod
    def from_config(cls, config: BaseModel, env: StepEnv) -> DecontaminateStep:
        """Read and index every benchmark now, so a missing file fails before any record."""
        cfg = coerce_config(config, DecontaminateConfig)
        step = cls(cfg, NgramIndex(cfg.ngram), id_column=env.id_column)
        for number, benchmark in enumerate(cfg.benchmarks):
            step._index(number, benchmark, env)
        step.index.freeze()
        return step

    def _index(self, number: int, benchmark: BenchmarkConfig, env: StepEnv) -> None:
        block = benchmark.source
        kind = sources.get(str(block["type"]))
        where = ("benchmarks", number, "source")
        config = validate_block(kind.config_model, block, path=where, document=None)
        counts, ids = self.indexed[number], self.row_ids[number]
        texted = 0  # rows with any text in the chosen fields
        columns: list[str] = []
        for item in _rows(benchmark.name, kind.from_config, config, env):
            if item.error is not None:
                counts["unreadable"] += 1
                _log.warning("benchmark row unreadable", benchmark=benchmark.name, error=item.error)
                continue
            row = len(ids)
            ids.append(item.record_id)
            counts["rows"] += 1
            texts = field_texts(item.data, benchmark.fields, id_column=_id_of(config))
            texted += any(text.strip() for text in texts)
            columns = columns or sorted(item.data)
            added = sum(self.index.add(number, row, text) for text in texts)
            counts["ngrams"] += added
            counts["too_short"] += added == 0
        if not counts["rows"]:
            raise ConfigError(
                f"benchmark {benchmark.name!r}: its source {block!r} holds no readable row; "
                "check the file, split or fields"
            )
        if not texted:  # a misspelt field would find no leak, silently
            raise ConfigError(
                f"benchmark {benchmark.name!r}: no row has text in its fields "
                f"{benchmark.fields or 'but the id'}; its rows have {columns}: name those fields"
            )

    def process(self, items: Iterator[SourceItem]) -> Iterator[StepOutput]:
        config = self.config
        paths = config.fields
        for item in items:
            texts = field_texts(item.data, paths, id_column=self.id_column, roles=config.roles)
            names = (
                paths if paths is not None else sorted(k for k in item.data if k != self.id_column)
            )
            matches = [
                self._match(overlap, field)
                for field, text in zip(names, texts, strict=True)
                for overlap in self.index.overlaps(text)
            ]
            if matches:
                self.contaminated += 1
                for benchmark in {match["benchmark"] for match in matches}:
                    self.found[benchmark] += 1
            if config.action == "flag":
                yield SourceItem(item.record_id, {**item.data, config.flag_field: matches})
            elif matches:
                yield Removed(item, "benchmark overlap", {"matches": matches})
            else:
                yield item

    def _match(self, overlap: Overlap, field: str) -> dict[str, Any]:
        benchmark = self.config.benchmarks[overlap.benchmark]
        return {
            "benchmark": benchmark.name,
            "split": benchmark.split_name,
            "benchmark_id": self.row_ids[overlap.benchmark][overlap.row],
            "field": field,
            "span": overlap.span,
            "words": overlap.words,
        }

    def finish(self) -> Mapping[str, Any]:
        return {
            "action": self.config.action,
            "ngram": self.config.ngram,
            "contaminated": self.contaminated,
            "benchmarks": {
                benchmark.name: {
                    "split": benchmark.split_name,
                    **counts,
                    "records_matched": self.found[benchmark.name],
                }
                for benchmark, counts in zip(self.config.benchmarks, self.indexed, strict=True)
            },
        }


def _id_of(config: BaseModel) -> str:
    """The id column a source config reads (``id`` when it has none)."""
    value = getattr(config, "id_column", "id")
    return value if isinstance(value, str) else "id"


def _rows(
    name: str, open_source: Callable[[BaseModel, Path], Source], config: BaseModel, env: StepEnv
) -> Iterator[SourceItem]:
    """The benchmark's rows; a source that cannot be opened or read is a config error (it
    is located at the step in the steps file) naming the benchmark."""
    try:
        yield from open_source(config, env.base_dir).iter_records()
    except GraspError as exc:
        raise ConfigError(f"benchmark {name!r}: {exc}") from exc
