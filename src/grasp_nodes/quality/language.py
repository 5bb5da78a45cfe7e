"""Language identification with py3langid, whose model ships inside the package (97
languages, no download). Loading takes 1-2 s once; classifying the capped 2,000 characters
about 1 ms (``benchmarks/bench_quality.py``)."""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["MAX_CHARS", "detect_language"]

MAX_CHARS = 2000
"""Only the first characters are classified: more text barely changes the answer."""

_lock = threading.Lock()
_identifier: Any = None


def _load() -> Any:
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier

            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        return _identifier


def detect_language(text: str) -> tuple[str | None, float | None]:
    """ISO 639-1 code and probability of ``text``'s language; ``(None, None)`` without
    letters to judge by."""
    if not any(ch.isalpha() for ch in text[:MAX_CHARS]):
        return None, None
    code, probability = _load().classify(text[:MAX_CHARS])
    return str(code), round(float(probability), 3)
