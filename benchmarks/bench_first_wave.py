"""Where a first run's time goes: every request of a cold and a warm run, timestamped.

The 2-node llm task of ``bench_engine.py`` runs twice in this process (cold, then warm), each
against a fresh mock (in its own process, the same ``--seed``: both runs meet the same
latencies), through the fast lane's plain-http client. On one clock (``time.monotonic``, the
same across processes) it records, for each record's first call: when it was handed to the
transport, when its connection was opened, when its bytes were written, when the mock read
them and answered, and when the reply was read back. It prints the quantiles of each step for
the first wave (``--concurrency`` calls) and where each run's wall went. The cold run reads
GraSP's modules from compiled bytecode, as an installed copy does (see ``bench_engine.py``).

    python benchmarks/bench_first_wave.py [--median 0.5] [--concurrency 256] [--records 1000]
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

RECORD = re.compile(rb"Answer question (\d+)")
"""The first call's prompt names its record; the second's echoes it, so the first seen wins."""
Events = list[tuple[int, str, float]]


def serve(latency: str, seed: int, out: str) -> None:
    """The mock, noting when each connection is accepted, each request read and answered;
    written to ``out`` as JSON when terminated."""
    from grasp_core.mock_server import Latency, MockServer, _http

    events: Events = []
    made, received, answer = (
        _http.HttpProtocol.connection_made,
        _http.HttpProtocol.data_received,
        _http.HttpProtocol._answer,
    )

    def on_made(self: Any, transport: Any) -> None:
        self.bench_made = time.monotonic()
        made(self, transport)

    def on_data(self: Any, data: bytes) -> None:
        now = time.monotonic()
        received(self, data)
        if found := RECORD.search(data):
            events.extend(
                [(int(found[1]), "accepted", self.bench_made), (int(found[1]), "read", now)]
            )

    async def on_answer(self: Any, request: Any) -> None:
        await answer(self, request)
        if found := RECORD.search(request.body):
            events.append((int(found[1]), "answered", time.monotonic()))

    _http.HttpProtocol.connection_made = on_made  # type: ignore[method-assign]
    _http.HttpProtocol.data_received = on_data  # type: ignore[method-assign]
    _http.HttpProtocol._answer = on_answer  # type: ignore[method-assign]
    server = MockServer(latency=Latency.parse(latency), seed=seed, max_seconds=1800)

    def stop(*_: object) -> None:
        Path(out).write_text(json.dumps(events))
        server.stop()

    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=stop).start())
    with server.running() as url:
        print(f"listening on {url}", flush=True)
        while server._loop is not None:
            time.sleep(0.1)


def trace_client(events: Events) -> None:
    """Note the client's steps once the plain-http client is imported (by the cold run's
    first call, so the cold run still pays for that import)."""

    def patch(module: ModuleType) -> None:
        pool, connection = module.PlainHttpPool, module._Connection
        post, connect, request = pool.post, pool._connect, connection.request

        async def on_post(self: Any, body: bytes, **kwargs: Any) -> Any:
            record = int(found[1]) if (found := RECORD.search(body)) else -1
            events.append((record, "handed", time.monotonic()))
            reply = await post(self, body, **kwargs)
            events.append((record, "replied", time.monotonic()))
            return reply

        async def on_connect(self: Any) -> Any:
            opened = await connect(self)
            events.append((-1, "connected", time.monotonic()))
            return opened

        async def on_request(self: Any, data: bytes) -> Any:
            record = int(found[1]) if (found := RECORD.search(data)) else -1
            events.append((record, "written", time.monotonic()))
            return await request(self, data)

        pool.post, pool._connect, connection.request = on_post, on_connect, on_request

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(
            self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
        ) -> importlib.machinery.ModuleSpec | None:
            if name != "grasp_nodes.clients.plain_http":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(name)
            assert spec is not None
            assert spec.loader is not None
            run_module = spec.loader.exec_module

            def exec_module(module: ModuleType) -> None:
                run_module(module)
                patch(module)

            spec.loader.exec_module = exec_module  # type: ignore[method-assign]
            return spec

    sys.meta_path.insert(0, Finder())


def quantiles(values: list[float]) -> str:
    if not values:
        return "-"
    values = sorted(values)
    pick = [values[min(len(values) - 1, int(q * len(values)))] for q in (0.1, 0.5, 0.9)]
    return " ".join(f"{1000 * v:7.1f}" for v in [values[0], *pick, values[-1]])


def report(
    label: str, started: float, wall: float, client: Events, mock: Events, wave: int
) -> None:
    """The first wave's steps (ms: min, p10, p50, p90, max) and where the run's wall went."""
    ended = started + wall
    first: dict[str, dict[int, float]] = {}
    for record, step, at in client + mock:
        if started <= at <= ended and record >= 0:
            first.setdefault(step, {}).setdefault(record, at)  # a record's first call
    order = sorted(first["handed"], key=first["handed"].__getitem__)[:wave]

    def gap(a: str, b: str) -> list[float]:
        return [first[b][r] - first[a][r] for r in order if r in first[a] and r in first[b]]

    connected = sorted(at for record, step, at in client if step == "connected" and at >= started)
    print(f"\n{label}: wall {wall:.3f}s; the first {len(order)} calls (ms: min p10 p50 p90 max)")
    rows = [
        ("run start → handed to the transport", [first["handed"][r] - started for r in order]),
        ("handed → written", gap("handed", "written")),
        ("written → read by the mock", gap("written", "read")),
        ("read → answered (the latency)", gap("read", "answered")),
        ("answered* → reply read back", gap("answered", "replied")),
    ]
    for name, values in rows:
        print(f"  {name:<38} {quantiles(values)}")
    print("  * the mock notes an answer once its write returns: the client may read it first")
    answered = sorted(at for _, step, at in mock if step == "answered" and started <= at <= ended)
    print(
        f"  connections opened in the run: {len(connected)}; last answer at "
        f"{answered[-1] - started:.3f}s, run ends {ended - answered[-1]:.3f}s after it"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--median", type=float, default=0.5)
    parser.add_argument("--sigma", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--serve", nargs=2, metavar=("LATENCY", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], args.seed, args.serve[1])
        return
    client: Events = []
    trace_client(client)
    from bench_coldstart import Children  # type: ignore[import-not-found]
    from bench_engine import prepare, read_installed_bytecode  # type: ignore[import-not-found]
    from bench_floor import mock_floor  # type: ignore[import-not-found]
    from grasp_core import RunOptions, run_task

    bytecode = tempfile.TemporaryDirectory()  # the cold run imports as an installed copy does
    read_installed_bytecode(Children(str(Path(bytecode.name) / "pycache")))
    latency = f"lognormal:{args.median}:{args.sigma}"
    served = mock_floor(
        args.records, args.concurrency, args.median, sigma=args.sigma, seed=args.seed
    )
    print(f"the floor of the mock's draws: {served:.3f}s")
    with tempfile.TemporaryDirectory() as tmp:
        for label in ("cold", "warm"):
            out = Path(tmp) / f"{label}.json"
            mock = [
                sys.executable,
                __file__,
                "--seed",
                str(args.seed),
                "--serve",
                latency,
                str(out),
            ]
            proc = subprocess.Popen(mock, stdout=subprocess.PIPE, text=True)
            assert proc.stdout is not None
            url = proc.stdout.readline().split()[-1]
            folder = Path(tmp) / label
            folder.mkdir()
            task = prepare(folder, args.records, args.concurrency)
            started = time.monotonic()
            result = run_task(task, RunOptions(mock=url, cache=False))
            wall = time.monotonic() - started
            assert result.done == args.records, result
            proc.terminate()
            proc.wait(timeout=30)
            mock_events = [tuple(e) for e in json.loads(out.read_text())]
            report(label, started, wall, client, mock_events, args.concurrency)  # type: ignore[arg-type]
            print(f"  × the floor of the mock's draws: {wall / served:.3f}")


if __name__ == "__main__":
    main()
