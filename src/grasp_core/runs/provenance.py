"""What makes a run's output reproducible, in ``NAME.provenance.json`` beside it.

The task file (every known secret and credential-shaped string masked), the models-file
entries it could call (their settings: a key is never in a models file, and the variables
named by ``api_key_env`` are masked wherever their values appear), GraSP's version, the
seed, the sources (type, dataset, file, split, revision), the run's start and end times,
its calls, tokens and cost, the record counts, and the post-process steps' results with
the dataset profile when a ``profile`` step ran.

Sinks that publish a dataset with a description (the ``hf`` sink's dataset card) receive
the same facts before they finalize, through an optional method
``set_provenance(provenance)``: at that point the generation is over (calls, tokens and
cost are final), the post-process has not run yet.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from grasp_core.engine.storage import write_atomically
from grasp_core.logs import mask_secrets, register_secret
from grasp_core.runs.parts import TaskParts
from grasp_core.runs.result import RunResult

__all__ = ["RunProvenance", "grasp_version"]

_PACKAGE = "grasp-sdg"
_SOURCE_KEYS = ("type", "repo_id", "config_name", "split", "revision", "file_path", "file_format")
"""What identifies a source's data (its other options shape how it is read)."""
_TOKEN_VARIABLES = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "OPENAI_API_KEY")


@cache
def grasp_version() -> str:
    """The installed GraSP version (``unknown`` when run from an uninstalled tree).

    Read once a process (the metadata lookup scans ``sys.path``, about 1 ms): the code that
    runs is the code imported at start, whatever is installed over it later."""
    try:
        return version(_PACKAGE)
    except PackageNotFoundError:
        return "unknown"


class RunProvenance:
    """The provenance of one run, started when the run starts."""

    def __init__(self, parts: TaskParts, *, seed: int) -> None:
        self.parts = parts
        self.seed = seed
        self.started = _now()
        _register_secrets(parts)

    @property
    def path(self) -> Path:
        """``NAME.provenance.json`` beside the run's output."""
        stem = self.parts.layout.stem
        return stem.with_name(stem.name + ".provenance.json")

    def facts(self, metrics: Mapping[str, Any]) -> dict[str, Any]:
        """Everything known once the generation is over (``metrics``: the run metrics'
        summary, with ``totals``), secrets masked."""
        task = self.parts.task
        totals = metrics.get("totals", {})
        facts = {
            "grasp_version": grasp_version(),
            "task": {
                "name": task.name,
                "file": str(task.path) if task.path is not None else None,
                "yaml": _task_yaml(self.parts),
            },
            "models": {
                name: spec.model_dump(mode="json", exclude_defaults=True)
                for name, spec in sorted(self.parts.catalog.specs.items())
            },
            "seed": self.seed,
            "sources": _sources(task.config.data_config.source),
            "run": {"started": self.started, "finished": _now()},
            "usage": {
                key: totals.get(key)
                for key in ("model_calls", "prompt_tokens", "completion_tokens", "cost_usd")
            },
        }
        masked: dict[str, Any] = mask_secrets(facts)
        return masked

    def describe(self, sinks: Iterable[Any], metrics: Mapping[str, Any]) -> None:
        """Hand the facts to each sink that takes them (``set_provenance``)."""
        facts: dict[str, Any] | None = None
        for sink in sinks:
            take = getattr(sink, "set_provenance", None)
            if callable(take):
                facts = facts if facts is not None else self.facts(metrics)
                take(facts)

    def write(self, result: RunResult) -> Path:
        """Write ``NAME.provenance.json`` for a finished run (after its post-process)."""
        facts = self.facts(result.metrics)
        facts["records"] = {
            "written": result.done,
            "finished_total": result.finished_total,
            "failed_total": result.failed_total,
            "outputs": [str(path) for path in result.output_paths],
        }
        curated = result.metrics.get("post_process")
        if curated:
            facts["post_process"] = {key: curated.get(key) for key in ("read", "kept", "steps")}
            profile = _profile(curated)
            if profile is not None:
                facts["profile"] = profile
        write_atomically(self.path, json.dumps(mask_secrets(facts), indent=2, ensure_ascii=False))
        return self.path


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _register_secrets(parts: TaskParts) -> None:
    """Mask the values of every variable the models file and the task name as holding a
    key, and of the usual token variables, even when this run never read them."""
    names = {spec.api_key_env for spec in parts.catalog.specs.values() if spec.api_key_env}
    names.update(_TOKEN_VARIABLES)
    names.update(_token_envs(parts.task.config.data_config.model_dump()))
    for name in names:
        register_secret(os.environ.get(name))


def _token_envs(value: Any) -> set[str]:
    """Every ``token_env`` named anywhere in a block (sources, sinks, benchmarks)."""
    found: set[str] = set()
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key == "token_env" and isinstance(inner, str):
                found.add(inner)
            found |= _token_envs(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _token_envs(inner)
    return found


def _task_yaml(parts: TaskParts) -> str:
    """The task file as written (comments kept), or the task built in code as YAML."""
    task = parts.task
    if task.path is not None and task.path.is_file():
        return task.path.read_text(encoding="utf-8")
    from ruamel.yaml import YAML

    dumper = YAML()
    dumper.default_flow_style = False
    buffer = io.StringIO()
    dumper.dump(_plain(task.data), buffer)
    return buffer.getvalue()


def _plain(value: Any) -> Any:
    """``value`` with what YAML cannot hold (a class, a function) as its dotted name."""
    if isinstance(value, Mapping):
        return {str(key): _plain(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(inner) for inner in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    name = getattr(value, "__qualname__", None) or type(value).__qualname__
    return f"{getattr(value, '__module__', '')}.{name}".lstrip(".")


def _sources(block: Any) -> list[dict[str, Any]]:
    blocks = block if isinstance(block, list) else [block] if block else []
    return [
        {key: item[key] for key in _SOURCE_KEYS if item.get(key) is not None}
        for item in blocks
        if isinstance(item, Mapping)
    ]


def _profile(curated: Mapping[str, Any]) -> Any:
    """The profile a ``profile`` step wrote, when one ran."""
    for name in curated.get("files") or ():
        if str(name).endswith(".profile.json"):
            try:
                return json.loads(Path(name).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return None
    return None
