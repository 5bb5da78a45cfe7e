"""Image generation at scale: N records, one image each, against the mock server in its own
process, at a given concurrency. Prints wall time against the ideal (the mock's fixed latency
times the waves of ``concurrency`` requests: what a run would take with free CPU and disk),
the media written, and the resident memory sampled through the run: peak, and its growth
after the first quarter of the run (flat: media are never all held in memory).

The mock's PNGs are 8x8 grids of colours padded to a photo's weight; its largest (1024x1024,
the side cap) weigh about 57 KB, so that is the size used. Drawing one costs the mock under
1 ms of CPU (``grasp_core.mock_server._png``), so the mock is not the bottleneck.
``--transport litellm`` sends the calls through litellm instead of the fast lane.

    python benchmarks/bench_media.py [--records 1000] [--concurrency 64] [--latency 2]
                                     [--transport auto|litellm]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from _mock_process import mock_process  # type: ignore[import-not-found]
from grasp_core import RunOptions, run_task

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/images.jsonl}
graph_config:
  nodes:
    draw:
      node_type: image
      model: {name: painter}
      prompt: "a watercolour of {topic}"
      size: 1024x1024
      output_keys: picture
  edges:
    - {from: START, to: draw}
    - {from: draw, to: END}
output_config:
  output_map:
    id: {from: id}
    picture: {from: picture}
"""


def rss_mib() -> float:
    """This process's resident memory now."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class RssSampler:
    """Samples resident memory every 50 ms, with the time since the start."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        started = time.perf_counter()
        while not self._stop.wait(0.05):
            self.samples.append((time.perf_counter() - started, rss_mib()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=2.0)
    parser.add_argument("--transport", choices=["auto", "litellm"], default="auto")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, mock_process(f"fixed:{args.latency}") as url:
        folder = Path(tmp)
        rows = (json.dumps({"id": i, "topic": f"fox number {i}"}) for i in range(args.records))
        (folder / "data.jsonl").write_text("\n".join(rows) + "\n")
        (folder / "models.yaml").write_text(
            f"painter:\n  model: openai/gpt-image-1\n  max_concurrency: {args.concurrency}\n"
            f"  transport: {args.transport}\n"
        )
        (folder / "task.yaml").write_text(TASK)
        warm = folder / "warm"  # imports (litellm) and first connections, not measured
        warm.mkdir()
        (warm / "data.jsonl").write_text('{"id": "w", "topic": "warm-up"}\n')
        (warm / "task.yaml").write_text(TASK)
        (warm / "models.yaml").write_text((folder / "models.yaml").read_text())
        assert run_task(warm / "task.yaml", RunOptions(mock=url)).done == 1
        before = rss_mib()
        with RssSampler() as sampler:
            started = time.perf_counter()
            result = run_task(folder / "task.yaml", RunOptions(mock=url))
            wall = time.perf_counter() - started
        assert (result.done, result.failed) == (args.records, 0), result.failure_reasons
        files = list((folder / "out" / "images.media" / "draw").iterdir())
        stored = sum(path.stat().st_size for path in files)
    ideal = math.ceil(args.records / args.concurrency) * args.latency
    peak = max(rss for _, rss in sampler.samples)
    early = max(rss for at, rss in sampler.samples if at <= wall / 4)
    rows_out = [
        ("records (one 1024x1024 PNG each)", f"{args.records:,}"),
        ("concurrency / mock latency", f"{args.concurrency} / {args.latency:g} s"),
        ("transport", args.transport),
        ("wall", f"{wall:.2f} s"),
        ("ideal (waves × latency)", f"{ideal:.2f} s"),
        ("wall / ideal", f"{wall / ideal:.3f}×"),
        ("images stored (mean size)", f"{len(files):,} ({stored / len(files) / 1024:.1f} KB)"),
        ("RSS before the run (after a 1-record warm-up)", f"{before:.0f} MiB"),
        ("RSS peak", f"{peak:.0f} MiB"),
        ("RSS growth after the first 1/4 of the run", f"{peak - early:+.0f} MiB"),
        ("media written", f"{stored / 2**20:.1f} MiB"),
    ]
    width = max(len(label) for label, _ in rows_out)
    print(f"| {'measure':<{width}} | {'value':>18} |")
    print(f"|{'-' * (width + 2)}|{'-' * 20}|")
    for label, value in rows_out:
        print(f"| {label:<{width}} | {value:>18} |")


if __name__ == "__main__":
    main()
