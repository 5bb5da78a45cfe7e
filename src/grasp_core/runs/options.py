"""``RunOptions``: how to run a task, one field per ``grasp run`` flag."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from grasp_core.errors import ConfigError
from grasp_core.models.catalog import ModelCatalog

__all__ = ["RunOptions"]

_MIN_PROGRESS_SECONDS = 0.05
"""Faster progress reports would only flood the terminal or the log."""


@dataclass(frozen=True)
class RunOptions:
    """How to run a task; every field mirrors a ``grasp run`` flag."""

    num_records: int | None = None
    """Most records to process (data-less runs: how many to generate)."""
    start_index: int | None = None
    """Skip this many source records first."""
    output_dir: Path | str | None = None
    """Where relative sink paths resolve (default: the task's folder)."""
    models: Path | str | ModelCatalog | None = None
    """Models file or catalog (default: $GRASP_MODELS, then models.yaml beside the task)."""
    mock: bool | str = False
    """True: start the bundled mock server and route every model to it; a URL: use that one."""
    resume: bool = False
    """Continue the run recorded in the journal."""
    force: bool = False
    """Resume even though the task file changed since the journal was started."""
    overwrite: bool = False
    """Delete an earlier run's output and journal and start over."""
    window: int | None = None
    """Most records in flight (default: twice the backends' total concurrency, at least 16)."""
    batch_size: int = 64
    """Most records written to the sink in one commit."""
    ordered: bool = False
    """Write records in source order instead of as they finish (also a sink's `ordered: true`);
    finished records wait, within the window, for the ones before them."""
    allowed_failures: float | int | None = None
    """Failure budget (a count, or a fraction below 1); within it the run counts as a success."""
    sync_every: int = 1000
    """fsync sinks and journal after this many records..."""
    sync_seconds: float = 5.0
    """...or this many seconds, whichever comes first (and when the run ends)."""
    sync_min_seconds: float = 1.0
    """...but after `sync_every` records no sooner than this after the last sync: an fsync
    costs milliseconds however little it forces, so a run of fast steps would spend a fifth
    of its CPU on them."""
    seed: int | None = None
    """Seed for random choices (samplers); a resume reuses the journal's seed (default 0)."""
    oasst: bool | Literal["sft", "dpo"] = False
    """Write OpenAssistant message rows (`oasst_sft`/`oasst_dpo`); True takes the type from
    `output_config.oasst_mapper`, else `sft`."""
    format: str | None = None
    """Write each record as rows of this registered format (`sft`, `dpo`, `oasst_sft`...)."""
    quality: str | tuple[str, ...] | None = None
    """Tag every output record under `quality` with these tasks (`heuristics`, `judge`;
    comma-separated or a tuple), over the task's `output_config.data_quality`."""
    post_process: bool = True
    """Run the task's `post_process` steps over the output once every record is done
    (`--no-post-process`: skip them; `grasp curate` runs them later)."""
    handle_signals: bool = False
    """Turn SIGINT/SIGTERM into a clean stop (the CLI sets it; libraries usually don't)."""
    hints: Literal["python", "cli"] = "python"
    """How error messages name these options: as `RunOptions` fields (`RunOptions(resume=True)`)
    or, set by the CLI, as its flags (`--resume`)."""
    progress: bool | Literal["auto", "rich", "json", "off"] = False
    """Live progress on stderr: `"rich"` (a live display), `"json"` (structlog lines), `True`
    or `"auto"` (rich on a terminal, JSON lines otherwise). Off by default in Python."""
    progress_every: float | None = None
    """Seconds between progress reports (default: 0.25 with rich, 10 for JSON lines)."""
    max_cost: float | None = None
    """Stop admitting records once the dataset's model calls cost this many dollars
    (overrides the task's `budget.max_cost`)."""
    max_tokens: int | None = None
    """Stop admitting records once the dataset's model calls used this many tokens
    (overrides the task's `budget.max_tokens`)."""

    cache: bool = True
    """Answer model calls from the persistent response cache, and store fresh replies in it
    (`--no-cache`: neither read nor write it)."""
    refresh_cache: bool = False
    """Call the backend for every request even when the cache holds it, and overwrite the
    stored reply with the fresh one (`--refresh-cache`)."""
    cache_dir: Path | str | None = None
    """The response cache's folder (`--cache-dir`; default: the models file's `cache.dir`,
    else `$XDG_CACHE_HOME/grasp/responses`, else `~/.cache/grasp/responses`, as the process
    starting the run sees them: Ray shards use the same)."""
    cache_max_mb: int | None = None
    """The cache's size limit in MiB (`--cache-max-mb`; default: the models file's
    `cache.max_mb`, else 2048): beyond it, the next run to open it drops the oldest replies
    down to three quarters of it."""
    reuse_from: Path | str | None = None
    """An earlier run's journal, or the folder holding it, whose outputs of `reuse_nodes`
    this run keeps instead of running those nodes again (`--reuse-from`)."""
    reuse_nodes: tuple[str, ...] | str = ()
    """The nodes whose outputs come from `reuse_from`, by record (`--reuse-nodes a,b`; a
    comma-separated string or a tuple)."""

    executor: Literal["local", "ray"] = "local"
    """`local`: one engine in this process; `ray`: shards on a Ray cluster (`grasp-sdg[ray]`)."""
    num_shards: int | None = None
    """With the ray executor: how many shards (default: the cluster's CPUs; a resume keeps
    the count it started with)."""
    ray_address: str | None = None
    """With the ray executor: the cluster to join (default: $RAY_ADDRESS, else a local one)."""

    def hint(self, name: str, value: object = True) -> str:
        """Option ``name`` set to ``value``, as the caller writes it: ``--seed 3`` on the
        command line, ``RunOptions(seed=3)`` in Python."""
        if self.hints == "cli":
            flag = "--" + name.replace("_", "-")
            return flag if value is True else f"{flag} {value}"
        return f"RunOptions({name}={value!r})"

    def __post_init__(self) -> None:
        if self.resume and self.overwrite:
            raise ConfigError(
                f"{self.hint('resume')} and {self.hint('overwrite')} contradict each other: "
                f"{self.hint('resume')} continues the earlier run, {self.hint('overwrite')} "
                "deletes its output; pass one of them"
            )
        if self.executor not in ("local", "ray"):
            raise ConfigError(f"executor must be 'local' or 'ray', got {self.executor!r}")
        if self.num_shards is not None and self.num_shards < 1:
            raise ConfigError(f"num_shards must be at least 1, got {self.num_shards!r}")
        if self.executor == "local" and (self.num_shards or self.ray_address):
            raise ConfigError("--num-shards and --ray-address need --executor ray")
        every = self.progress_every
        if every is not None and not _MIN_PROGRESS_SECONDS <= every < float("inf"):
            raise ConfigError(
                f"--progress-every must be at least {_MIN_PROGRESS_SECONDS} seconds, got {every!r}"
            )
        if isinstance(self.output_dir, str):
            object.__setattr__(self, "output_dir", Path(self.output_dir))
        if isinstance(self.models, str):
            object.__setattr__(self, "models", Path(self.models))
        if isinstance(self.reuse_nodes, str):
            names = tuple(n.strip() for n in self.reuse_nodes.split(",") if n.strip())
            object.__setattr__(self, "reuse_nodes", names)
        if isinstance(self.reuse_from, str):
            object.__setattr__(self, "reuse_from", Path(self.reuse_from))
        if (self.reuse_from is None) != (not self.reuse_nodes):
            raise ConfigError(
                f"{self.hint('reuse_from', 'RUN')} and {self.hint('reuse_nodes', 'a,b')} go "
                "together: the earlier run, and which of its nodes' outputs to keep"
            )
        if isinstance(self.cache_dir, str):
            object.__setattr__(self, "cache_dir", Path(self.cache_dir))
        if self.refresh_cache and not self.cache:
            raise ConfigError(
                f"{self.hint('refresh_cache')} overwrites the response cache and "
                f"{self.hint('cache', False) if self.hints == 'python' else '--no-cache'} "
                "turns it off; pass one of them"
            )
        if self.cache_max_mb is not None and self.cache_max_mb < 1:
            raise ConfigError(
                f"{self.hint('cache_max_mb', self.cache_max_mb)}: the size limit must be at "
                "least 1 MiB"
            )
