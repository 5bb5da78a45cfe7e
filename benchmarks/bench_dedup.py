"""MinHash-LSH dedup at scale: time and peak RSS of ``grasp curate`` with one ``dedup`` step
(``method: minhash``) over N records of about ``--words`` words, a share of them planted
near copies (a few words changed) of a recent record; recall of the planted copies too.

The data file is written first, streaming; the curate runs in a child process of its own,
so its peak RSS is the post-process's alone (the interpreter and imports included: see the
`baseline` row, the same child over 1,000 records).

    python benchmarks/bench_dedup.py                    (10,000 records: a quick look)
    python benchmarks/bench_dedup.py --records 1000000  (the figure the docs quote)
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

_VOCABULARY = 50_000
_RECENT = 1_000
"""Planted copies copy one of this many latest originals."""


def write_data(path: Path, records: int, words: int, dup_rate: float, seed: int = 0) -> int:
    """Write ``records`` lines (Zipf-distributed words); return how many are planted copies
    (each with ``copy_of``, and 2% of its words replaced)."""
    rng = random.Random(seed)
    vocabulary = [f"w{i}" for i in range(_VOCABULARY)]
    weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(_VOCABULARY)))
    recent: deque[tuple[str, list[str]]] = deque(maxlen=_RECENT)
    planted = 0
    with path.open("w", encoding="utf-8") as out:
        for n in range(records):
            record: dict[str, Any] = {"id": f"r{n}"}
            if recent and rng.random() < dup_rate:
                source_id, source = rng.choice(recent)
                text = list(source)
                for position in rng.sample(range(len(text)), max(1, len(text) // 50)):
                    text[position] = rng.choice(vocabulary)
                record["copy_of"] = source_id
                planted += 1
            else:
                text = rng.choices(vocabulary, cum_weights=weights, k=words)
                recent.append((record["id"], text))
            record["text"] = " ".join(text)
            out.write(json.dumps(record) + "\n")
    return planted


def curate_child(data: Path, threshold: float) -> dict[str, Any]:
    """Run in the child: curate ``data`` and report seconds, peak RSS and the removals."""
    from grasp_core.postprocess import CurationTarget, curate, load_steps_file, read_output

    folder = data.parent
    steps = folder / "steps.yaml"
    steps.write_text(f"- dedup: {{method: minhash, fields: [text], threshold: {threshold}}}\n")
    target = CurationTarget.at({"type": "jsonl"}, folder / "curated.jsonl")
    resolved = load_steps_file(steps)
    started = time.perf_counter()
    result = curate(read_output([data], "jsonl", "id"), resolved, target, base_dir=folder)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    found = 0
    with target.removed_path.open(encoding="utf-8") as report:
        for line in report:
            removed = json.loads(line)
            found += removed["record"].get("copy_of") == removed["details"]["duplicate_of"]
    return {
        "seconds": seconds,
        "peak_rss_mb": peak_mb,
        "read": result.read,
        "removed": result.removed,
        "found": found,
    }


def measure(
    folder: Path, records: int, words: int, dup_rate: float, threshold: float
) -> dict[str, Any]:
    data = folder / f"data-{records}.jsonl"
    planted = write_data(data, records, words, dup_rate)
    child = subprocess.run(
        [sys.executable, __file__, "--child", str(data), "--threshold", str(threshold)],
        capture_output=True,
        text=True,
        check=True,
    )
    row: dict[str, Any] = json.loads(child.stdout.splitlines()[-1])
    row["planted"] = planted
    data.unlink()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--words", type=int, default=200)
    parser.add_argument("--dup-rate", type=float, default=0.1)
    parser.add_argument("--threshold", type=float, default=0.8)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(curate_child(args.child, args.threshold)))
        return
    print(
        f"| records | seconds | records/s | peak RSS MB | removed | planted | recall "
        f"|  ({args.words} words, {args.dup_rate:.0%} near copies, threshold {args.threshold})"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for label, records in (("baseline", 1_000), (f"{args.records:,}", args.records)):
            row = measure(Path(tmp), records, args.words, args.dup_rate, args.threshold)
            print(
                f"| {label} | {row['seconds']:.1f} | {row['read'] / row['seconds']:,.0f} "
                f"| {row['peak_rss_mb']:,.0f} | {row['removed']:,} | {row['planted']:,} "
                f"| {row['found'] / max(row['planted'], 1):.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
