"""``serve_cli``: the mock server in the foreground, for ``grasp mock-server``."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from grasp_core.mock_server._batches import BatchPlan
from grasp_core.mock_server._replies import Latency, ReplyMode
from grasp_core.mock_server.server import NO_LATENCY, MockServer

__all__ = ["serve_cli"]


def serve_cli(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    latency: Latency | str = NO_LATENCY,
    reply_mode: ReplyMode = "echo",
    fault_rate: float = 0.0,
    faults: Sequence[str] = ("429", "500"),
    seed: int = 0,
    max_seconds: float = 3600.0,
    request_log_path: str | Path | None = None,
    hang_seconds: float = 30.0,
    retry_after: float = 0.05,
    like: str = "openai",
    quirks: Sequence[str] = (),
    batches: BatchPlan | None = None,
) -> None:
    """Serve in the foreground until ``max_seconds`` pass, printing one URL line first.

    ``latency`` may be text such as ``"lognormal:0.5:0.5"`` (see :meth:`Latency.parse`);
    ``quirks`` names real-server behaviours to switch on beside the ``like`` profile's;
    ``batches`` sets how the Batch API's batches end.
    """
    server = MockServer(
        host=host,
        port=port,
        latency=Latency.parse(latency) if isinstance(latency, str) else latency,
        reply_mode=reply_mode,
        fault_rate=fault_rate,
        faults=faults,
        seed=seed,
        hang_seconds=hang_seconds,
        retry_after=retry_after,
        max_seconds=max_seconds,
        request_log_path=request_log_path,
        keep_requests=0,  # nothing in this process reads them: memory stays flat
        like=like,
        batches=batches,
        **dict.fromkeys(quirks, True),
    )

    def announce(url: str) -> None:
        print(f"grasp mock server listening on {url}", flush=True)

    asyncio.run(server._serve(announce))
