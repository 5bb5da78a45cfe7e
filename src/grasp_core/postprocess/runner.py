"""One post-process: a dataset through its steps in a single streaming pass, into a curated
output, a removal report and the steps' own files, moved into place together at the end.

Records flow lazily from the input through each step to the sink, in batches, so memory is
what the steps hold (a dedup index), never the dataset. Every record a step removes, and
every input record that cannot be read, becomes a line of ``NAME.removed.jsonl``: its id,
the step, the reason, the details and the record itself. Nothing is written over until the
last step finished (see :mod:`~grasp_core.postprocess.staging`): a post-process stopped or
killed half-way leaves what was there before, and the next one starts from scratch.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from grasp_core.config.postprocess import ResolvedStep
from grasp_core.engine.storage import as_output_error, cannot_write
from grasp_core.errors import ConfigError, GraspError, PostProcessError
from grasp_core.logs import get_logger
from grasp_core.models.catalog import ModelCatalog
from grasp_core.postprocess.build import BuiltStep, build_steps
from grasp_core.postprocess.output import CurationTarget, open_sink
from grasp_core.postprocess.protocol import Removed, StepEnv
from grasp_core.postprocess.staging import Staging
from grasp_core.protocols import Sink, SourceItem

__all__ = ["CurationResult", "StepCounts", "curate"]

_READ_STEP = "read"
"""The step named in the report for input records that could not be read."""
_log = get_logger(__name__)


@dataclass
class StepCounts:
    """What one step did."""

    name: str
    seen: int = 0
    removed: int = 0
    kept: int = 0
    """Records it passed on (more than ``seen - removed`` when it adds records)."""
    results: dict[str, Any] = field(default_factory=dict)
    """What its ``finish`` returned."""

    def summary(self) -> dict[str, Any]:
        counts = {"step": self.name, "seen": self.seen, "removed": self.removed, "kept": self.kept}
        return {**counts, "results": self.results} if self.results else counts


@dataclass
class CurationResult:
    """What a post-process did, and the files it wrote."""

    read: int = 0
    unreadable: int = 0
    """Input records that could not be parsed (in the report under the step ``read``)."""
    kept: int = 0
    steps: list[StepCounts] = field(default_factory=list)
    output_paths: list[Path] = field(default_factory=list)
    """The curated dataset (nothing when no record was kept and the sink writes no empty
    file)."""
    removed_path: Path | None = None
    files: list[Path] = field(default_factory=list)
    """The steps' own files."""
    seconds: float = 0.0
    interrupted: bool = False
    """Stopped before the end: nothing was written."""

    @property
    def removed(self) -> int:
        return self.unreadable + sum(step.removed for step in self.steps)

    def summary(self) -> dict[str, Any]:
        """The ``post_process`` entry of the run's summary and ``metrics.json``."""
        return {
            "read": self.read,
            "unreadable": self.unreadable,
            "removed": self.removed,
            "kept": self.kept,
            "interrupted": self.interrupted,
            "seconds": round(self.seconds, 3),
            "steps": [step.summary() for step in self.steps],
            "outputs": [str(path) for path in self.output_paths],
            "removed_report": str(self.removed_path) if self.removed_path else None,
            "files": [str(path) for path in self.files],
        }


class _StoppedError(Exception):
    """``stop()`` said to stop."""


def curate(
    items: Iterator[SourceItem],
    steps: Sequence[ResolvedStep],
    target: CurationTarget,
    *,
    base_dir: Path,
    seed: int = 0,
    id_column: str = "id",
    models: ModelCatalog | None = None,
    metadata: Mapping[str, Any] | None = None,
    stop: Callable[[], bool] | None = None,
    from_loop: bool = False,
    batch_size: int = 1000,
    provenance: Mapping[str, Any] | None = None,
) -> CurationResult:
    """Run ``steps`` over ``items`` into ``target``. ``stop`` is asked before each record;
    when it says so, nothing is written and the result is ``interrupted``. ``from_loop``:
    called in a worker thread of an event loop, which steps reach through ``run_async``.
    ``provenance``: the run's, for a sink that describes its output (``set_provenance``)."""
    started = time.perf_counter()
    result = CurationResult(removed_path=target.removed_path)
    staging = Staging.fresh(target.stem.with_name(target.stem.name + ".curating"))
    reserved = {target.output, target.removed_path}
    step_files: list[Path] = []

    def step_file(suffix: str) -> Path:
        final = target.beside(suffix)
        if final in reserved or final in step_files:
            raise ConfigError(f"a step asked for the file {final.name!r}, which is taken")
        step_files.append(final)
        return staging.path(final)

    env = StepEnv(
        base_dir=base_dir,
        files=step_file,
        seed=seed,
        id_column=id_column,
        models=models,
        metadata=metadata,
        from_loop=from_loop,
    )
    try:
        built = build_steps(steps, env)
        sink = open_sink(target.sink_block, staging.path(target.output))
        describe = getattr(sink, "set_provenance", None)
        if provenance is not None and callable(describe):
            describe(provenance)
        with _report(staging.path(target.removed_path)) as report:
            _write(sink, items, built, result, report, stop, batch_size)
        for step, counts in zip(built, result.steps, strict=True):
            counts.results = _finish(step)
        written = set(staging.commit())
    except _StoppedError:
        staging.discard()
        result.interrupted = True
        result.removed_path = None
        _log.warning("post-process stopped before the end; nothing was written")
        return result
    except Exception as exc:
        staging.discard()
        translated = as_output_error(exc, target.stem.parent)
        if translated is None:
            raise
        raise translated[0] from translated[1]
    except BaseException:  # Ctrl-C: what was staged goes too
        staging.discard()
        raise
    result.output_paths = [target.output] if target.output in written else []
    result.files = [path for path in step_files if path in written]
    result.seconds = time.perf_counter() - started
    return result


def _write(
    sink: Sink,
    items: Iterator[SourceItem],
    built: Sequence[BuiltStep],
    result: CurationResult,
    report: IO[str],
    stop: Callable[[], bool] | None,
    batch_size: int,
) -> None:
    """Stream every record through the steps into ``sink``, in batches."""
    stream = _read(items, result, report, stop)
    for step in built:
        counts = StepCounts(step.name)
        result.steps.append(counts)
        stream = _through(step, stream, counts, report)
    sink.restore([])
    try:
        batch: list[dict[str, Any]] = []
        for item in stream:
            batch.append(dict(item.data))
            if len(batch) >= batch_size:
                sink.write(batch)
                batch = []
        if batch:
            sink.write(batch)
        result.kept = result.steps[-1].kept if result.steps else result.read - result.unreadable
        sink.finalize()
    except BaseException:
        with contextlib.suppress(Exception):  # the error on its way out is the one to see
            sink.close()
        raise


def _read(
    items: Iterator[SourceItem],
    result: CurationResult,
    report: IO[str],
    stop: Callable[[], bool] | None,
) -> Iterator[SourceItem]:
    """The readable input records; unreadable ones go to the report."""
    for item in items:
        if stop is not None and stop():
            raise _StoppedError
        result.read += 1
        if item.error is not None:
            result.unreadable += 1
            _report_line(report, _READ_STEP, Removed(item, "unreadable", {"error": item.error}))
            continue
        yield item


def _through(
    built: BuiltStep, items: Iterator[SourceItem], counts: StepCounts, report: IO[str]
) -> Iterator[SourceItem]:
    """``items`` through one step: what it removes goes to the report, what it keeps on."""

    def counted() -> Iterator[SourceItem]:
        for item in items:
            counts.seen += 1
            yield item

    try:
        for out in built.step.process(counted()):
            if isinstance(out, Removed):
                counts.removed += 1
                _report_line(report, built.name, out)
            elif isinstance(out, SourceItem):
                counts.kept += 1
                yield out
            else:
                raise PostProcessError(
                    f"post-process step {built.name!r} yielded a {type(out).__name__}; a "
                    "step yields records (SourceItem) and Removed"
                )
    except (GraspError, _StoppedError):
        raise
    except Exception as exc:
        raise PostProcessError(
            f"post-process step {built.name!r} failed: {type(exc).__name__}: {exc}"
        ) from exc


def _finish(step: BuiltStep) -> dict[str, Any]:
    try:
        return dict(step.step.finish())
    except GraspError:
        raise
    except Exception as exc:
        raise PostProcessError(
            f"post-process step {step.name!r} failed at its end: {type(exc).__name__}: {exc}"
        ) from exc


@contextlib.contextmanager
def _report(path: Path) -> Iterator[IO[str]]:
    try:
        handle = path.open("w", encoding="utf-8")
    except OSError as exc:
        raise cannot_write(path, exc) from exc
    with handle:
        yield handle


def _report_line(report: IO[str], step: str, removed: Removed) -> None:
    line = {
        "id": removed.item.record_id,
        "step": step,
        "reason": removed.reason,
        "details": dict(removed.details),
        "record": removed.item.data,
    }
    try:
        report.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
    except OSError as exc:
        raise cannot_write(Path(report.name), exc) from exc
