"""Run a GraSP task inside an existing asyncio program, beside other work.

python examples/python_api/embed_in_asyncio.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from grasp_core import RunOptions, run_task_async

sys.path.insert(0, str(Path(__file__).parents[1] / "quickstart"))
from build import build_task  # the quickstart builder, beside it


async def heartbeat(stop: asyncio.Event) -> int:
    """Some other work of the host program that keeps running during the generation."""
    beats = 0
    while not stop.is_set():
        beats += 1
        await asyncio.sleep(0.01)
    return beats


async def main() -> None:
    stop = asyncio.Event()
    beats = asyncio.create_task(heartbeat(stop))
    with tempfile.TemporaryDirectory() as out:
        result = await run_task_async(build_task(), RunOptions(mock=True, output_dir=Path(out)))
        stop.set()
        records = list(result.records())
    print(f"generated {len(records)} records while the host loop ticked {await beats} times")


if __name__ == "__main__":
    asyncio.run(main())
