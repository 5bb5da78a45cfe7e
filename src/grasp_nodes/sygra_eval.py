"""SyGra's eval metrics, for eval tasks moved over by ``grasp convert sygra``.

SyGra's eval tasks score each record in a lambda with a *unit metric* found by name
(``UnitMetricRegistry.get_metric("exact_match", key="text")``), store the result
(``UnitMetricResult.to_dict()``) in the record, and a ``graph_post_process`` processor turns
the stored results back into ``UnitMetricResult`` objects and hands them to *aggregator
metrics* (``AggregatorMetricRegistry.get_metric("accuracy")``). This module gives those
registries and the metrics SyGra's eval tasks name, written for GraSP; ``sygra_compat``
re-exports them, so converted hooks import them unchanged.

Precision, recall and F1 are per class. Given ``positive_class``, they return that class's
value (``{"precision": p}``); without it, each class seen (the predicted labels for precision,
the golden ones for recall, both for F1) gets its own value, and the result holds their
average too: ``{"average_precision": ..., "precision_per_class": {label: ...}}``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, TypeVar

__all__ = [
    "AccuracyMetric",
    "AggregatorMetricRegistry",
    "BaseAggregatorMetric",
    "BaseUnitMetric",
    "ExactMatchMetric",
    "F1ScoreMetric",
    "PrecisionMetric",
    "RecallMetric",
    "UnitMetricRegistry",
    "UnitMetricResult",
    "aggregator_metric",
    "unit_metric",
]

M = TypeVar("M", bound="type[_Metric]")


@dataclass
class UnitMetricResult:
    """One record's verdict: whether the prediction is right, and what was compared."""

    correct: bool
    golden: Any = None
    predicted: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The result as a plain dict (what a record stores; ``UnitMetricResult(**d)``
        reads it back)."""
        return asdict(self)


class _Metric:
    """A metric created with its settings as keyword arguments; unknown settings and missing
    required ones are refused, naming the metric."""

    name: ClassVar[str] = ""
    required: ClassVar[tuple[str, ...]] = ()
    optional: ClassVar[dict[str, Any]] = {}

    def __init__(self, **config: Any) -> None:
        unknown = sorted(set(config) - set(self.required) - set(self.optional))
        missing = [key for key in self.required if config.get(key) in (None, "")]
        if unknown or missing:
            wanted = ", ".join([*self.required, *self.optional]) or "none"
            raise ValueError(
                f"metric {self.name!r}: "
                + (f"unknown setting(s) {unknown!r}" if unknown else f"missing {missing!r}")
                + f"; its settings: {wanted}"
            )
        self.config = {**self.optional, **config}


class BaseUnitMetric(_Metric):
    """A unit metric: ``evaluate(golden, predicted)`` gives one result per pair."""

    def evaluate(self, golden: Sequence[Any], predicted: Sequence[Any]) -> list[UnitMetricResult]:
        """One :class:`UnitMetricResult` per golden/predicted pair (the lists must be as
        long as each other)."""
        if len(golden) != len(predicted):
            raise ValueError(
                f"metric {self.name!r}: golden and predicted must be as long as each other "
                f"(got {len(golden)} and {len(predicted)})"
            )
        return [self.compare(g, p) for g, p in zip(golden, predicted, strict=True)]

    def compare(self, golden: Any, predicted: Any) -> UnitMetricResult:
        """The verdict on one pair."""
        raise NotImplementedError


class BaseAggregatorMetric(_Metric):
    """An aggregator metric: ``calculate(results)`` sums unit results up."""

    def calculate(self, results: Sequence[UnitMetricResult]) -> dict[str, Any]:
        """The metric over ``results``, as a dict named after it."""
        raise NotImplementedError


class _Registry:
    """Metric classes by name, filled by a decorator."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.metrics: dict[str, type[_Metric]] = {}

    def register(self, name: str) -> Callable[[M], M]:
        def add(cls: M) -> M:
            cls.name = name
            self.metrics[name] = cls
            return cls

        return add

    def get_metric(self, name: str, **config: Any) -> Any:
        """A metric of the registered ``name``, created with ``config``."""
        if name not in self.metrics:
            known = ", ".join(sorted(self.metrics))
            raise ValueError(
                f"{self.kind} metric {name!r} is not one GraSP provides for SyGra's eval tasks "
                f"(provided: {known}); compute it in your processor"
            )
        return self.metrics[name](**config)

    def list_metrics(self) -> list[str]:
        """The registered names."""
        return sorted(self.metrics)


UnitMetricRegistry = _Registry("unit")
"""SyGra's unit metrics by name (``get_metric(name, **settings)``)."""
AggregatorMetricRegistry = _Registry("aggregator")
"""SyGra's aggregator metrics by name."""
unit_metric = UnitMetricRegistry.register
"""Class decorator registering a unit metric under a name."""
aggregator_metric = AggregatorMetricRegistry.register
"""Class decorator registering an aggregator metric under a name."""


@unit_metric("exact_match")
class ExactMatchMetric(BaseUnitMetric):
    """The texts are equal, by default ignoring case and runs of whitespace; ``key`` reads
    the text from dicts."""

    optional: ClassVar[dict[str, Any]] = {
        "case_sensitive": False,
        "normalize_whitespace": True,
        "key": None,
    }

    def compare(self, golden: Any, predicted: Any) -> UnitMetricResult:
        expected, got = self._text(golden), self._text(predicted)
        return UnitMetricResult(
            correct=expected == got,
            golden=golden,
            predicted=predicted,
            metadata={"validator": self.name, "golden_text": expected, "predicted_text": got},
        )

    def _text(self, value: Any) -> str:
        key = self.config["key"]
        text = str(value.get(key, "") if key and isinstance(value, Mapping) else value)
        if self.config["normalize_whitespace"]:
            text = " ".join(text.split())
        return text if self.config["case_sensitive"] else text.lower()


@aggregator_metric("accuracy")
class AccuracyMetric(BaseAggregatorMetric):
    """The share of correct results."""

    optional: ClassVar[dict[str, Any]] = {"key": None}

    def calculate(self, results: Sequence[UnitMetricResult]) -> dict[str, Any]:
        return {"accuracy": _share(sum(r.correct for r in results), len(results))}


@aggregator_metric("precision")
class PrecisionMetric(BaseAggregatorMetric):
    """Per predicted label: the share of the results predicting it that are correct."""

    required: ClassVar[tuple[str, ...]] = ("predicted_key",)
    optional: ClassVar[dict[str, Any]] = {"positive_class": None}

    def calculate(self, results: Sequence[UnitMetricResult]) -> dict[str, Any]:
        scores = _per_class(results, "predicted", self.config["predicted_key"])
        return _named("precision", scores, self.config["positive_class"])


@aggregator_metric("recall")
class RecallMetric(BaseAggregatorMetric):
    """Per golden label: the share of the results expecting it that are correct."""

    required: ClassVar[tuple[str, ...]] = ("golden_key",)
    optional: ClassVar[dict[str, Any]] = {"positive_class": None}

    def calculate(self, results: Sequence[UnitMetricResult]) -> dict[str, Any]:
        scores = _per_class(results, "golden", self.config["golden_key"])
        return _named("recall", scores, self.config["positive_class"])


@aggregator_metric("f1_score")
class F1ScoreMetric(BaseAggregatorMetric):
    """Per label: the harmonic mean of its precision and recall."""

    required: ClassVar[tuple[str, ...]] = ("predicted_key", "golden_key")
    optional: ClassVar[dict[str, Any]] = {"positive_class": None}

    def calculate(self, results: Sequence[UnitMetricResult]) -> dict[str, Any]:
        precision = _per_class(results, "predicted", self.config["predicted_key"])
        recall = _per_class(results, "golden", self.config["golden_key"])
        scores = {
            label: _harmonic(precision.get(label, 0.0), recall.get(label, 0.0))
            for label in sorted({*precision, *recall}, key=str)
        }
        return _named("f1_score", scores, self.config["positive_class"])


def _per_class(results: Iterable[UnitMetricResult], side: str, key: str) -> dict[Any, float]:
    """Label (read under ``key`` from each result's golden or predicted side) → the share of
    its results that are correct."""
    seen: Counter[Hashable] = Counter()
    right: Counter[Hashable] = Counter()
    for result in results:
        value = getattr(result, side)
        if not isinstance(value, Mapping) or key not in value:
            continue  # nothing to count this result under (SyGra skips it too)
        label = value[key]
        label = label if isinstance(label, Hashable) else str(label)
        seen[label] += 1
        right[label] += bool(result.correct)
    return {label: _share(right[label], count) for label, count in seen.items()}


def _named(name: str, scores: Mapping[Any, float], positive: Any) -> dict[str, Any]:
    if positive is not None:
        return {name: scores.get(positive, 0.0)}
    average = _share(math.fsum(scores.values()), len(scores))
    return {f"average_{name}": average, f"{name}_per_class": dict(scores)}


def _share(part: float, whole: int) -> float:
    return part / whole if whole else 0.0


def _harmonic(a: float, b: float) -> float:
    return 2 * a * b / (a + b) if a + b else 0.0
