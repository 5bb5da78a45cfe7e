"""Throughput of source assembly: records per second read from a JSONL file, plain, through
a chain of streaming transforms, and joined with a random persona. No engine, no sink: only
what the runner pulls from ``build_source(...).iter_records()``.

    python benchmarks/bench_sources.py [--records 200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from grasp_core.config import DataConfig
from grasp_core.sourcing import build_source

TRANSFORMS = [
    {"transform": "rename_fields", "params": {"mapping": {"q": "question"}}},
    {"transform": "add_new_field", "params": {"mapping": {"lang": "en"}}},
    {"transform": "skip_records", "params": {"count": {"from_start": 10, "from_end": 10}}},
    {"transform": "shuffle", "params": {"buffer_size": 10000}},
    {"transform": "sample", "params": {"fraction": 0.5}},
]


def source_block(case: str) -> Any:
    main = {"type": "disk", "file_path": "data.jsonl"}
    if case == "plain":
        return main
    if case == "transforms":
        return {**main, "transformations": TRANSFORMS}
    return [
        {**main, "alias": "q", "join_type": "primary"},
        {"type": "disk", "file_path": "personas.jsonl", "alias": "persona", "join_type": "random"},
    ]


def rate(folder: Path, case: str, records: int) -> float:
    """Input records read per second (the transform chain yields about half)."""
    data = DataConfig.model_validate({"source": source_block(case)})
    source = build_source(data, task_dir=folder)
    started = time.perf_counter()
    for _ in source.iter_records():
        pass
    return records / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with (folder / "data.jsonl").open("w") as out:
            for i in range(args.records):
                out.write(json.dumps({"id": f"r{i}", "q": f"question {i}", "n": i}) + "\n")
        with (folder / "personas.jsonl").open("w") as out:
            for i in range(1000):
                out.write(json.dumps({"id": f"p{i}", "name": f"persona {i}"}) + "\n")
        for case in ("plain", "transforms", "random_join"):
            best = max(rate(folder, case, args.records) for _ in range(args.repeat))
            print(f"{case:12s} {best:12,.0f} input records/s (read side, best of {args.repeat})")


if __name__ == "__main__":
    main()
