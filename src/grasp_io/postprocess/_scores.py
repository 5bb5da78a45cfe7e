"""The arithmetic of the ``metrics`` step, free of records and config: per-record checks
(exact, fuzzy, numeric match) and the aggregates (classification scores, pass@k, pass^k).

pass@k is the unbiased estimator of Chen et al. (2021): for an item with ``n`` samples of
which ``c`` are correct, ``1 - C(n-c, k) / C(n, k)``, the chance that at least one of ``k``
samples drawn without replacement is correct. pass^k (Yao et al., 2024, tau-bench) is
``C(c, k) / C(n, k)``, the chance that all ``k`` are. Both are averaged over items, and an
item with fewer than ``k`` samples is left out of that ``k`` (and counted).
"""

from __future__ import annotations

import difflib
import math
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from grasp_io.postprocess._text import normalise

__all__ = [
    "classification_scores",
    "exact_match",
    "fuzzy_ratio",
    "numeric_match",
    "pass_at_k",
    "pass_hat_k",
    "to_number",
]

_NUMBER = re.compile(r"[-+]?(?:\d[\d,]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_MINUS = re.compile(r"(?<![\w.])[-\u2012\u2013](?=\.?\d)")
"""A hyphen or dash used as a number's sign (`-5`, `(-0.5)`, not `1-2`): Unicode calls it
punctuation, so it becomes the minus sign (a symbol), which normalising keeps."""


def _answer(text: str) -> str:
    """An answer's normal form for comparing: ``_text.normalise`` without punctuation, the
    sign of a negative number kept (``-5`` is not ``5``)."""
    return normalise(_MINUS.sub("\u2212", text), strip_punctuation=True)


def exact_match(predicted: str, golden: str, *, normalised: bool) -> bool:
    """The same text; with ``normalised``, after case, Unicode forms, punctuation (not a
    number's sign) and whitespace are folded."""
    if normalised:
        return _answer(predicted) == _answer(golden)
    return predicted == golden


def fuzzy_ratio(predicted: str, golden: str) -> float:
    """Similarity in [0, 1] of the normalised texts (difflib's ratio: twice the matched
    characters over the total)."""
    return difflib.SequenceMatcher(
        None, _answer(predicted), _answer(golden), autojunk=False
    ).ratio()


def to_number(value: Any) -> float | None:
    """A number, or the last number written in a text (``"the answer is 1,234.5"``:
    1234.5); None when there is none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        return None
    found = _NUMBER.findall(value)
    if not found:
        return None
    try:
        return float(found[-1].replace(",", ""))
    except ValueError:
        return None


def numeric_match(predicted: Any, golden: Any, *, tolerance: float, relative: bool) -> bool:
    """Both read as numbers and differ by at most ``tolerance`` (times ``|golden|`` when
    ``relative``)."""
    p, g = to_number(predicted), to_number(golden)
    if p is None or g is None:
        return False
    allowed = tolerance * abs(g) if relative else tolerance
    return abs(p - g) <= allowed


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k of one item with ``n`` samples, ``c`` correct (``n >= k``)."""
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """pass^k of one item: the chance that ``k`` samples drawn from ``n`` are all correct."""
    return math.comb(c, k) / math.comb(n, k)


def classification_scores(pairs: Mapping[tuple[str, str | None], int]) -> dict[str, Any]:
    """Accuracy, and precision, recall, F1 and support per class with their macro
    averages, from counts of ``(golden, predicted)`` pairs. A ``None`` prediction (no
    answer) is wrong: it counts against accuracy and its golden class's recall, but is no
    class of its own. A class never predicted has precision 0; never present, recall 0 (as
    scikit-learn's ``zero_division=0``). With no pair, the scores are ``None``: nothing was
    measured, which is not a score of 0."""
    total = sum(pairs.values())
    correct = sum(count for (golden, predicted), count in pairs.items() if golden == predicted)
    golden_counts: Counter[str] = Counter()
    predicted_counts: Counter[str] = Counter()
    unanswered = 0
    for (golden, predicted), count in pairs.items():
        golden_counts[golden] += count
        if predicted is None:
            unanswered += count
        else:
            predicted_counts[predicted] += count
    classes = sorted(golden_counts.keys() | predicted_counts.keys())
    per_class: dict[str, dict[str, float | int]] = {}
    for name in classes:
        hits = pairs.get((name, name), 0)
        precision = hits / predicted_counts[name] if predicted_counts[name] else 0.0
        recall = hits / golden_counts[name] if golden_counts[name] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": golden_counts[name],
        }
    return {
        "labelled": total,
        "unanswered": unanswered,
        "accuracy": correct / total if total else None,
        "macro": {
            key: _mean([scores[key] for scores in per_class.values()])
            for key in ("precision", "recall", "f1")
        },
        "per_class": per_class,
    }


def _mean(values: list[float | int]) -> float | None:
    return sum(values) / len(values) if values else None
