"""``metrics``: score an evaluation run's records and aggregate the scores.

Unit metrics check each record on its own (``exact_match``, ``fuzzy_match``, ``numeric``
with a tolerance, or a ``judge``'s verdict field) and add the results to the record under
``field`` (``eval: {correct: true}``); a record whose compared field is missing gets
``null`` and is left out of that metric's accuracy (and counted as ``missing``). The
aggregates, in the step's results (the run's summary and ``metrics.json``): each unit
metric's accuracy; with ``classification``, accuracy and precision, recall and F1 per
class and macro-averaged over the records with a golden label (``labelled``; a record
without an answer counts as wrong, ``unanswered``, and is no class of its own); with
``pass_at_k``, pass@k and pass^k over the records grouped by an item key (``k`` samples
per item, each scored by a unit metric). Records are kept; memory holds counts per class
pair and per item, never the records. A figure over no record is ``null``, not 0, and a
metric that scored no record at all logs a warning (a misspelt path reads as missing
everywhere).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, model_validator

from grasp_core.plugin import (
    MISSING,
    SourceItem,
    StepEnv,
    StepOutput,
    StrictModel,
    get_logger,
    lookup,
)
from grasp_io._fs import coerce_config
from grasp_io.postprocess._scores import (
    classification_scores,
    exact_match,
    fuzzy_ratio,
    numeric_match,
    pass_at_k,
    pass_hat_k,
)
from grasp_io.postprocess._text import normalise

__all__ = ["MetricsConfig", "MetricsStep"]

_log = get_logger(__name__)

_DIGITS = 6
_CORRECT: tuple[str | int | bool, ...] = ("correct", "yes", "true", "pass", "a")
"""Aggregates are rounded to this many decimals in the results."""


class UnitMetric(StrictModel):
    """One per-record check; its result (true, false, or null when a field is missing)
    goes under the step's `field`, keyed by `name`."""

    name: str = Field(min_length=1)
    """The result's key in the record (`eval.<name>`) and in the results."""
    type: Literal["exact_match", "fuzzy_match", "numeric", "judge"]
    """`exact_match`: the same text; `fuzzy_match`: similar text (`threshold`); `numeric`:
    the same number within `tolerance` (the last number of a text counts); `judge`: a
    verdict field (`predicted`) holds one of the `correct` values."""
    predicted: str = Field(min_length=1)
    """Dotted path of the model's answer (`judge`: of the verdict)."""
    golden: str | None = None
    """Dotted path of the expected answer (not for `judge`)."""
    normalise: bool = True
    """`exact_match`: fold case, Unicode forms, punctuation and whitespace first."""
    threshold: float = Field(default=0.8, gt=0, le=1)
    """`fuzzy_match`: the similarity (0..1, difflib's ratio of normalised texts) from which
    the answer counts as correct."""
    tolerance: float = Field(default=1e-6, ge=0)
    """`numeric`: the largest difference that still counts as equal."""
    relative: bool = False
    """`numeric`: `tolerance` is relative to the expected value."""
    correct: list[str | int | bool] = Field(default_factory=lambda: list(_CORRECT), min_length=1)
    """`judge`: the verdicts that mean correct, compared case-insensitively (`A` is
    SimpleQA's grade for correct)."""

    @model_validator(mode="after")
    def _golden(self) -> UnitMetric:
        if self.type == "judge" and self.golden is not None:
            raise ValueError("a `judge` metric reads only its verdict (`predicted`); drop golden")
        if self.type != "judge" and self.golden is None:
            raise ValueError(f"a `{self.type}` metric needs `golden`: the expected answer's path")
        return self


class ClassificationConfig(StrictModel):
    """Classification scores of a predicted label against the golden one."""

    predicted: str = Field(min_length=1)
    """Dotted path of the predicted label."""
    golden: str = Field(min_length=1)
    """Dotted path of the true label."""
    normalise: bool = True
    """Fold case and whitespace of labels before comparing them."""


class PassAtKConfig(StrictModel):
    """pass@k and pass^k over several samples per item."""

    metric: str = Field(min_length=1)
    """The unit metric (its `name`) that says whether a sample is correct."""
    item_key: str = Field(min_length=1)
    """Dotted path of the field that groups the samples of one item (a question id)."""
    k: list[int] = Field(default_factory=lambda: [1], min_length=1)
    """The sample counts to report (`[1, 5]`)."""

    @model_validator(mode="after")
    def _positive(self) -> PassAtKConfig:
        if any(k < 1 for k in self.k):
            raise ValueError(f"every k must be 1 or more; got {self.k}")
        return self


class MetricsConfig(StrictModel):
    """Settings of the `metrics` post-process step: evaluation scores."""

    unit: list[UnitMetric] = Field(default_factory=list)
    """Per-record checks, in order."""
    classification: ClassificationConfig | None = None
    """Accuracy, precision, recall and F1 of a label field."""
    pass_at_k: PassAtKConfig | None = None
    """pass@k and pass^k of a unit metric over samples grouped by an item key."""
    field: str = Field(default="eval", min_length=1)
    """The field that receives each record's unit results."""

    @model_validator(mode="after")
    def _settings(self) -> MetricsConfig:
        if not self.unit and self.classification is None:
            raise ValueError(
                "list `unit` metrics or set `classification`; there is nothing to score"
            )
        names = [metric.name for metric in self.unit]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"unit metric names must differ; {twice} is given more than once")
        if self.pass_at_k is not None and self.pass_at_k.metric not in names:
            raise ValueError(
                f"pass_at_k.metric {self.pass_at_k.metric!r} is not a unit metric; "
                f"name one of {names}"
            )
        return self


class MetricsStep:
    """Adds unit results to each record and aggregates them."""

    config_model: ClassVar[type[BaseModel]] = MetricsConfig

    def __init__(self, config: MetricsConfig) -> None:
        self.config = config
        self.correct: Counter[str] = Counter()
        self.scored: Counter[str] = Counter()
        self.missing: Counter[str] = Counter()
        self.records = 0
        self.pairs: Counter[tuple[str, str | None]] = Counter()
        self.unlabelled = 0
        self.items: dict[str, list[int]] = {}
        """pass@k: [samples, correct] per item."""

    @classmethod
    def from_config(cls, config: BaseModel, env: StepEnv) -> MetricsStep:
        return cls(coerce_config(config, MetricsConfig))

    def process(self, items: Iterator[SourceItem]) -> Iterator[StepOutput]:
        for item in items:
            self.records += 1
            results = {metric.name: self._unit(metric, item.data) for metric in self.config.unit}
            self._classify(item.data)
            self._sample(item.data, results)
            if not self.config.unit:
                yield item
                continue
            yield SourceItem(item.record_id, {**item.data, self.config.field: results})

    def _unit(self, metric: UnitMetric, record: Mapping[str, Any]) -> bool | None:
        predicted = lookup(record, metric.predicted)
        golden = lookup(record, metric.golden) if metric.golden is not None else None
        if predicted is MISSING or predicted is None or golden is MISSING:
            self.missing[metric.name] += 1
            return None
        passed = _check(metric, predicted, golden)
        self.scored[metric.name] += 1
        self.correct[metric.name] += passed
        return passed

    def _classify(self, record: Mapping[str, Any]) -> None:
        config = self.config.classification
        if config is None:
            return
        golden = _label(lookup(record, config.golden), config.normalise)
        if golden is None:
            self.unlabelled += 1
            return
        self.pairs[(golden, _label(lookup(record, config.predicted), config.normalise))] += 1

    def _sample(self, record: Mapping[str, Any], results: Mapping[str, bool | None]) -> None:
        config = self.config.pass_at_k
        if config is None:
            return
        key, passed = lookup(record, config.item_key), results[config.metric]
        if key in (MISSING, None) or passed is None:
            return
        counts = self.items.setdefault(str(key), [0, 0])
        counts[0] += 1
        counts[1] += passed

    def finish(self) -> Mapping[str, Any]:
        results: dict[str, Any] = {"records": self.records}
        self._warn_unscored()
        if self.config.unit:
            results["unit"] = {
                metric.name: {
                    "type": metric.type,
                    "accuracy": _ratio(self.correct[metric.name], self.scored[metric.name]),
                    "correct": self.correct[metric.name],
                    "scored": self.scored[metric.name],
                    "missing": self.missing[metric.name],
                }
                for metric in self.config.unit
            }
        if self.config.classification is not None:
            scores = _rounded(classification_scores(self.pairs))
            results["classification"] = {**scores, "unlabelled": self.unlabelled}
        if self.config.pass_at_k is not None:
            results["pass_at_k"] = self._pass_at_k(self.config.pass_at_k)
        return {"headline": _headline(results), **results}

    def _warn_unscored(self) -> None:
        """One warning per metric that scored none of the records it saw: its fields are
        missing in every record, which is most often a misspelt path."""
        if not self.records:
            return
        for metric in self.config.unit:
            if not self.scored[metric.name]:
                paths = [path for path in (metric.predicted, metric.golden) if path]
                _log.warning(
                    f"metric {metric.name!r} scored no record: every one of the "
                    f"{self.records} records lacks {' or '.join(map(repr, paths))}; "
                    "check the paths",
                )
        classification = self.config.classification
        if classification is not None and not sum(self.pairs.values()):
            _log.warning(
                f"classification scored no record: none of the {self.records} records has "
                f"a golden label at {classification.golden!r}; check the path",
            )

    def _pass_at_k(self, config: PassAtKConfig) -> dict[str, Any]:
        summary: dict[str, Any] = {"metric": config.metric, "items": len(self.items)}
        for k in config.k:
            counted = [(n, c) for n, c in self.items.values() if n >= k]
            summary[f"pass@{k}"] = _mean_of([pass_at_k(n, c, k) for n, c in counted])
            summary[f"pass^{k}"] = _mean_of([pass_hat_k(n, c, k) for n, c in counted])
            summary[f"items_with_fewer_than_{k}_samples"] = len(self.items) - len(counted)
        return summary


def _headline(results: Mapping[str, Any]) -> str:
    """The main figures in one line: each unit metric's accuracy, the classification's
    accuracy and macro F1, pass@k."""
    figures = [
        f"{name} {unit['accuracy']:.3f}"
        for name, unit in results.get("unit", {}).items()
        if unit["accuracy"] is not None
    ]
    if "classification" in results:
        scores = results["classification"]
        if scores["accuracy"] is not None:
            macro_f1 = scores["macro"]["f1"]
            figures.append(f"accuracy {scores['accuracy']:.3f}, macro F1 {macro_f1:.3f}")
    figures.extend(
        f"{key} {value:.3f}"
        for key, value in results.get("pass_at_k", {}).items()
        if key.startswith("pass") and isinstance(value, float)
    )
    return "; ".join(figures) or "nothing scored"


def _check(metric: UnitMetric, predicted: Any, golden: Any) -> bool:
    if metric.type == "judge":
        wanted = {normalise(str(value)) for value in metric.correct}
        return normalise(str(predicted)) in wanted
    if metric.type == "numeric":
        return numeric_match(
            predicted, golden, tolerance=metric.tolerance, relative=metric.relative
        )
    if metric.type == "fuzzy_match":
        return fuzzy_ratio(_str(predicted), _str(golden)) >= metric.threshold
    return exact_match(_str(predicted), _str(golden), normalised=metric.normalise)


def _str(value: Any) -> str:
    return "" if value is None or value is MISSING else str(value)


def _label(value: Any, fold: bool) -> str | None:
    """A label to compare; None for a missing, null or blank one (no label, no class)."""
    text = _str(value)
    label = normalise(text) if fold else text
    return label if label.strip() else None


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, _DIGITS) if whole else None


def _mean_of(values: list[float]) -> float | None:
    return round(sum(values) / len(values), _DIGITS) if values else None


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, _DIGITS)
    if isinstance(value, dict):
        return {key: _rounded(inner) for key, inner in value.items()}
    return value
