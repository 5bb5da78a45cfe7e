"""GraSP Studio's output table on a million records: how long the first page takes over
HTTP (a real Studio on loopback) for a fresh JSONL file and a fresh Parquet file, then the
one-off costs the first sort, filter and count pay (later pages reuse what they build).

    python benchmarks/bench_studio_output.py [--records 1000000]

"First page" is the first request for a file the Studio has not opened yet (no index, no
cache): what a user waits for when opening a run's output. The process's very first request
also imports pyarrow and numpy; it is measured apart, on a one-line file.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from grasp_studio.security import cookie_name
from grasp_studio.server import StudioServer


def write_outputs(folder: Path, records: int) -> None:
    """``run/output/big.jsonl`` and ``.parquet``: records as a quality-tagged run writes."""
    jsonl = folder / "run" / "output" / "big.jsonl"
    jsonl.parent.mkdir(parents=True)
    rows: list[dict[str, Any]] = []
    with jsonl.open("w", encoding="utf-8") as out:
        for i in range(records):
            row = {
                "id": f"r{i}",
                "question": f"What is {i} plus {i}?",
                "answer": f"{2 * i}, because adding {i} to itself doubles it.",
                "quality": {"overall": i % 5 + 1, "language": "en" if i % 3 else "fr"},
            }
            out.write(json.dumps(row) + "\n")
            if len(rows) < 100_000:
                rows.append(row)
    (jsonl.parent / "small.jsonl").write_text(json.dumps(rows[0]) + "\n", encoding="utf-8")
    table = pa.Table.from_pylist(rows)
    repeats = max(1, records // len(rows))
    pq.write_table(
        pa.concat_tables([table] * repeats),
        folder / "run" / "output" / "big.parquet",
        row_group_size=50_000,
    )


def timed(client: httpx.Client, path: str, **params: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    answer = client.get(path, params=params)
    answer.raise_for_status()
    return (time.perf_counter() - started) * 1000, answer.json()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_outputs(folder, args.records)
        server = StudioServer(folder, port=0)
        with server.running():
            port = int(server.base_url.rsplit(":", 1)[1])
            cookies = {cookie_name(port): server.token}
            with httpx.Client(base_url=server.base_url, cookies=cookies, timeout=600) as client:
                warm, _ = timed(client, "/api/output/page", output="run/output/small.jsonl")
                print(f"first request of the process (imports pyarrow, numpy...) {warm:7.1f} ms")
                for name in ("big.jsonl", "big.parquet"):
                    output = f"run/output/{name}"
                    page = "/api/output/page"
                    first, body = timed(client, page, output=output, limit=100)
                    second, _ = timed(client, page, output=output, offset=500_000, limit=100)
                    count, counted = timed(client, "/api/output/count", output=output)
                    sort, _ = timed(client, page, output=output, sort="quality.overall", desc=1)
                    resort, _ = timed(
                        client, page, output=output, sort="quality.overall", desc=1, offset=900
                    )
                    where = 'quality.language == "fr"'
                    filt, _ = timed(client, page, output=output, where=where)
                    print(
                        f"{name:12s} {counted['total']:>9,} rows  first page {first:7.1f} ms"
                        f" (total {'known' if body['total'] is not None else 'counting'})  "
                        f"page at 500k {second:7.1f} ms  count {count:7.1f} ms  "
                        f"first sort {sort:8.1f} ms  next sorted page {resort:6.1f} ms  "
                        f"first filter {filt:8.1f} ms"
                    )


if __name__ == "__main__":
    main()
