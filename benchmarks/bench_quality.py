"""Cost of the quality heuristics: one-time model loads, then per record.

A two-turn conversation of about ``--words`` words per side. Reports the load time of the
tokenizer and of the language model, and the median microseconds per call of each part and
of the whole `heuristics()` block (median of ``--repeat`` rounds of ``--calls`` calls).

    python benchmarks/bench_quality.py [--words 300] [--calls 300] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from grasp_nodes.quality import (
    count_tokens,
    detect_language,
    heuristics,
    mtld,
    record_text,
    repetition_ratio,
    words,
)

_VOCAB = [
    "the",
    "a",
    "model",
    "answer",
    "question",
    "data",
    "record",
    "graph",
    "node",
    "quality",
    "token",
    "language",
    "text",
    "python",
    "function",
    "returns",
    "value",
    "list",
    "sorted",
    "order",
    "first",
    "second",
    "because",
    "therefore",
]


def conversation(n_words: int) -> dict[str, Any]:
    rng = random.Random(0)

    def side() -> str:
        return " ".join(rng.choice(_VOCAB) for _ in range(n_words)) + "."

    return {
        "conversation": [
            {"role": "user", "content": side()},
            {"role": "assistant", "content": side()},
        ]
    }


def loaded(load: Callable[[], object]) -> float:
    started = time.perf_counter()
    load()
    return round(time.perf_counter() - started, 3)


def per_call_us(fn: Callable[[], object], calls: int, repeat: int) -> float:
    rounds = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        rounds.append((time.perf_counter() - started) / calls * 1e6)
    return round(statistics.median(rounds), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--words", type=int, default=300)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    record = conversation(args.words)
    text = record_text(record)
    response = text.response
    tokens = words(response)
    results = {
        "words_per_side": args.words,
        "load_s": {
            "tokenizer": loaded(lambda: count_tokens("warm up")),
            "language_model": loaded(lambda: detect_language("warm up the model")),
        },
        "per_call_us": {
            "tokens": per_call_us(lambda: count_tokens(text.all_text), args.calls, args.repeat),
            "language": per_call_us(
                lambda: detect_language(text.all_text), args.calls, args.repeat
            ),
            "words": per_call_us(lambda: words(response), args.calls, args.repeat),
            "mtld": per_call_us(lambda: mtld(tokens), args.calls, args.repeat),
            "repetition": per_call_us(lambda: repetition_ratio(tokens), args.calls, args.repeat),
            "heuristics_total": per_call_us(lambda: heuristics(text), args.calls, args.repeat),
        },
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
