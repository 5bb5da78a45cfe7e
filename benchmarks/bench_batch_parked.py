"""Memory of requests parked in batch mode: N calls waiting in one model's ``Batcher`` (each
a task awaiting its answer, as a record's walk does at a batched node) → RSS added per
parked request and in all. Nothing is sent: the batch limits are set above N, so every
request stays pending until the benchmark cancels them.

That is the batch layer's share (the parked task, its waiter and JSONL line). ``--run N``
also measures whole runs: a one-node task over N records whose model is batched with
``max_requests: N`` (so all N records park at once before the one batch goes) against the
same task live, each in a fresh process against a mock server in another one → peak RSS of
each, and the difference per record (the walk's frames, the record's state in the window).

``--polls N`` measures the poll transport: CPU per ``GET /v1/batches/{id}`` through the
batch client's httpx submitter and through litellm's ``aretrieve_batch`` (the alternative
route), against an in-process mock server, and litellm's import time.

    python benchmarks/bench_batch_parked.py [--parked 100000] [--prompt-chars 400] [--run N]
        [--polls N]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import anyio

from _mock_process import mock_process  # type: ignore[import-not-found]
from grasp_core.config.models_file import BatchOptions, ModelSpec
from grasp_core.mock_server import MockServer
from grasp_core.observe.metrics import RunMetrics
from grasp_nodes.clients.batch.batcher import Batcher
from grasp_nodes.clients.batch.ledger import BatchLedger
from grasp_nodes.clients.batch.requests import batch_line
from grasp_nodes.clients.batch.stats import BatchStats
from grasp_nodes.clients.batch.submitter import BatchSubmitter


def rss_bytes() -> int:
    """This process's resident set size now (Linux ``/proc``)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


async def park(parked: int, prompt_chars: int, folder: Path) -> dict[str, float]:
    options = BatchOptions(max_requests=parked + 1, max_bytes=2**40, max_wait=10**6)
    spec = ModelSpec(model="openai/b", api_base="http://127.0.0.1:9/v1", batch=options)
    stats = BatchStats(RunMetrics())
    batcher = Batcher(
        "b", options, BatchSubmitter("b", spec, None), BatchLedger(folder / "l.jsonl"), stats
    )
    lines = []
    for n in range(parked):
        body = {
            "model": "b",
            "messages": [{"role": "user", "content": f"{n:08d}" * (prompt_chars // 8)}],
        }
        lines.append(batch_line(f"{n:064x}", "/v1/chat/completions", body))
    gc.collect()
    before = rss_bytes()
    async with anyio.create_task_group() as tg:
        for n, line in enumerate(lines):
            tg.start_soon(batcher.submit, f"{n:064x}", line)
        await anyio.wait_all_tasks_blocked()  # every call parked
        assert stats.parked == parked, stats.parked
        gc.collect()
        after = rss_bytes()
        tg.cancel_scope.cancel()
    return {
        "parked": parked,
        "rss_added_mb": round((after - before) / 2**20, 1),
        "bytes_per_parked": round((after - before) / parked),
        "line_bytes": len(lines[0]),
    }


_TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    answer:
      node_type: llm
      output_keys: answer
      prompt: [{user: "{question}"}]
      model: {name: m}
  edges:
    - {from: START, to: answer}
    - {from: answer, to: END}
"""

_PEAK = textwrap.dedent(
    """
    import sys
    from grasp_core import RunOptions, run_task
    result = run_task(sys.argv[1], RunOptions(overwrite=True, cache=False, progress=False))
    assert result.done == int(sys.argv[2]), result
    status = open("/proc/self/status").read().split("VmHWM:")[1].split()
    print(int(status[0]) * 1024)
    """
)
"""Prints the run's peak RSS: ``VmHWM`` (``ru_maxrss`` would carry over the parent's peak
across ``fork``+``exec``)."""


def whole_runs(records: int, prompt_chars: int, folder: Path) -> dict[str, float]:
    """Peak RSS of a run whose N records all park in one batch, and of the same run live."""
    rows = "".join(
        json.dumps({"id": n, "question": f"{n:08d}" * (prompt_chars // 8)}) + "\n"
        for n in range(records)
    )
    peaks: dict[str, int] = {}
    with mock_process("fixed:0") as url:
        for mode in ("live", "batched"):
            task = folder / mode
            task.mkdir()
            (task / "task.yaml").write_text(_TASK)
            (task / "data.jsonl").write_text(rows)
            batch = f", batch: {{max_requests: {records}, max_wait: 600, poll_interval: 0.5}}"
            entry = (
                f"m: {{model: openai/m, api_base: '{url}/v1'{batch if mode == 'batched' else ''}}}"
            )
            (task / "models.yaml").write_text(entry + "\n")
            out = subprocess.run(
                [sys.executable, "-c", _PEAK, str(task / "task.yaml"), str(records)],
                capture_output=True,
                text=True,
                check=True,
                timeout=1800,
            )
            peaks[mode] = int(out.stdout.split()[-1])
    return {
        "records": records,
        "peak_rss_live_mb": round(peaks["live"] / 2**20, 1),
        "peak_rss_batched_mb": round(peaks["batched"] / 2**20, 1),
        "bytes_per_parked_record": round((peaks["batched"] - peaks["live"]) / records),
    }


async def poll_cost(polls: int, url: str) -> dict[str, float]:
    """CPU milliseconds per poll through httpx (ours) and litellm, and litellm's import."""
    spec = ModelSpec(model="openai/m", api_base=url + "/v1", batch=BatchOptions())
    submitter = BatchSubmitter("m", spec, None)
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    file_id = await submitter.upload(batch_line("a", "/v1/chat/completions", body))
    batch = str((await submitter.create(file_id, "24h"))["id"])
    started = time.process_time()
    for _ in range(polls):
        await submitter.retrieve(batch)
    ours = (time.process_time() - started) / polls
    await submitter.aclose()
    started_wall = time.perf_counter()
    import litellm

    imported = time.perf_counter() - started_wall
    kwargs = {"custom_llm_provider": "openai", "api_base": url + "/v1", "api_key": "x"}
    await litellm.aretrieve_batch(batch_id=batch, **kwargs)  # warm up
    started = time.process_time()
    for _ in range(polls):
        await litellm.aretrieve_batch(batch_id=batch, **kwargs)
    theirs = (time.process_time() - started) / polls
    return {
        "polls": polls,
        "httpx_cpu_ms_per_poll": round(ours * 1e3, 3),
        "litellm_cpu_ms_per_poll": round(theirs * 1e3, 3),
        "litellm_import_s": round(imported, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parked", type=int, default=100_000)
    parser.add_argument("--prompt-chars", type=int, default=400)
    parser.add_argument("--run", type=int, default=0, help="also measure whole runs of N records")
    parser.add_argument("--polls", type=int, default=0, help="also measure N polls per transport")
    args = parser.parse_args()
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["batch_parked"] = anyio.run(park, args.parked, args.prompt_chars, Path(tmp))
        if args.run:
            results["whole_run"] = whole_runs(args.run, args.prompt_chars, Path(tmp))
    if args.polls:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        with MockServer().running() as url:
            results["poll_transport"] = anyio.run(poll_cost, args.polls, url, backend="asyncio")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
