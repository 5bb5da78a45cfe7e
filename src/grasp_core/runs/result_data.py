"""A finished run's output as data: an async iterator, or a `datasets.Dataset`."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio.to_thread

from grasp_core.errors import SinkError

__all__ = ["aiter_records", "to_dataset"]

_BATCH = 256
_BUILDERS = {"jsonl": "json", "json": "json", "csv": "csv", "parquet": "parquet"}
_SUFFIXES = {".jsonl": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}


async def aiter_records(records: Iterator[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    """Yield ``records``, reading them in batches in a worker thread (the loop never
    blocks on the file)."""
    while True:
        batch = await anyio.to_thread.run_sync(lambda: list(itertools.islice(records, _BATCH)))
        if not batch:
            return
        for record in batch:
            yield record


def to_dataset(paths: list[Path], output_format: str | None) -> Any:
    """A `datasets.Dataset` read from the output files by the builder for their format,
    kept in memory (its cache is a temporary folder, removed once loaded)."""
    if not paths:
        raise SinkError(
            "the run wrote no finished output (it was interrupted, stopped by its budget, or "
            "made no records); resume it to finish the dataset: RunOptions(resume=True), or "
            "grasp run --resume"
        )
    fmt = output_format or _SUFFIXES.get(paths[0].suffix.lower())
    builder = _BUILDERS.get(fmt or "")
    if builder is None and fmt != "hf":
        raise SinkError(
            f"cannot tell the format of {str(paths[0])!r} to load it as a dataset; read it "
            "with RunResult.records() instead"
        )
    import datasets

    if fmt == "hf":  # the hf sink saves a dataset folder
        parts = [datasets.load_from_disk(str(p), keep_in_memory=True) for p in paths]
        return parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)
    files = [str(p) for p in paths if p.stat().st_size > 0]
    if not files:
        return datasets.Dataset.from_list([])
    bars_were_on = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        with tempfile.TemporaryDirectory(prefix="grasp-dataset-") as cache:
            loaded = datasets.load_dataset(
                str(builder), data_files=files, split="train", keep_in_memory=True, cache_dir=cache
            )
    except Exception as exc:  # datasets raises many types; translated here, once
        raise SinkError(f"datasets cannot load {files!r}: {type(exc).__name__}: {exc}") from exc
    finally:
        if bars_were_on:
            datasets.enable_progress_bars()
    return loaded
