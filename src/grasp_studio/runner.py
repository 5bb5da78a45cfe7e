"""Runs started from the Studio: each is ``grasp run`` in a child process.

A child process, not a task in the Studio's event loop, because then a stop is exactly the
terminal's Ctrl-C (SIGINT: what finished is committed, the run exits 130 and ``--resume``
continues it), a Ray driver runs as it does from the command line, a run's crash or memory
never takes the UI down, and a run the Studio started is watched the same way as one started
in a terminal: through the files it writes (``grasp_core.run_status``).

Each run is the leader of its own process group: a stop signals the whole group, and once
the run has ended (it is reaped then, never left a zombie) whatever its code started and left
behind is killed with the group."""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

__all__ = ["RunProcess", "Runner", "StartOptions"]

_LOG_LINES = 200


@dataclass(frozen=True)
class StartOptions:
    """The run options the run view offers (each is a ``grasp run`` flag)."""

    num_records: int | None = None
    resume: bool = False
    overwrite: bool = False
    mock: bool = False
    executor: Literal["local", "ray"] = "local"
    num_shards: int | None = None
    retry_failures: bool = False
    """Run only the records the task's last run failed, under ``NAME.retry/``."""

    def flags(self) -> list[str]:
        flags: list[str] = ["--retry-failures"] if self.retry_failures else []
        if self.num_records is not None:
            flags += ["--num-records", str(self.num_records)]
        if self.resume:
            flags.append("--resume")
        if self.overwrite:
            flags.append("--overwrite")
        if self.mock:
            flags.append("--mock")
        if self.executor == "ray":
            flags += ["--executor", "ray"]
            if self.num_shards is not None:
                flags += ["--num-shards", str(self.num_shards)]
        return flags


@dataclass
class RunProcess:
    """One ``grasp run`` child and the last lines it printed."""

    task: Path
    command: list[str]
    process: subprocess.Popen[str]
    lines: collections.deque[str] = field(
        default_factory=lambda: collections.deque(maxlen=_LOG_LINES)
    )
    stopping: bool = False
    retry: bool = False
    """A retry of the failed records (``--retry-failures``), not the task's run itself."""

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "pid": self.process.pid,
            "running": self.running,
            "exit_code": self.process.poll(),
            "stopping": self.stopping and self.running,
            "command": ["grasp", *self.command[3:]],
            "log": list(self.lines)[-40:],
        }


class Runner:
    """The runs this Studio started, one at a time per task file (its run, or a retry of
    the records its run failed)."""

    def __init__(self) -> None:
        self._runs: dict[Path, RunProcess] = {}
        self._lock = threading.Lock()

    def get(self, task: Path) -> RunProcess | None:
        return self._runs.get(task)

    def start(
        self, task: Path, options: StartOptions, *, env: Mapping[str, str] | None = None
    ) -> RunProcess:
        """Start ``grasp run TASK`` with ``options`` (in ``env``: the Studio confines the
        run's code to its workspace); a run of this task still going is a ``RuntimeError``
        (the caller says so)."""
        with self._lock:
            current = self._runs.get(task)
            if current is not None and current.running:
                what = "a retry of the failed records" if current.retry else "a run"
                raise RuntimeError(
                    f"{what} of {task.name} started here is still going; stop it first"
                )
            command = [sys.executable, "-m", "grasp_core", "run", str(task), *options.flags()]
            process = subprocess.Popen(
                command,
                cwd=task.parent,
                env=None if env is None else dict(env),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                bufsize=1,
                start_new_session=True,  # its own process group: stopped as one
            )
            run = RunProcess(task, command, process, retry=options.retry_failures)
            assert process.stdout is not None
            threading.Thread(
                target=_follow,
                args=(process.stdout, run.lines),
                name="grasp run output",
                daemon=True,
            ).start()
            threading.Thread(
                target=_reap, args=(process,), name="grasp run reaper", daemon=True
            ).start()
            self._runs[task] = run
            return run

    def stop(self, task: Path) -> RunProcess | None:
        """Stop the run of ``task`` as Ctrl-C does (SIGINT); None if none of ours runs."""
        run = self._runs.get(task)
        if run is None or not run.running:
            return None
        run.stopping = True
        _signal_group(run.process, signal.SIGINT)
        return run

    def stop_all(self, timeout: float = 20.0) -> None:
        """Stop every run still going (the Studio is closing) and wait for each to commit."""
        for task in list(self._runs):
            self.stop(task)
        for run in self._runs.values():
            try:
                run.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _signal_group(run.process, signal.SIGKILL)
                run.process.wait()


def _follow(stream: IO[str], lines: collections.deque[str]) -> None:
    """Keep the child's last lines (its summary, or the one-line error it stopped on)."""
    with stream:
        for line in stream:
            lines.append(line.rstrip("\n"))


def _reap(process: subprocess.Popen[str]) -> None:
    """Wait for the run to end (no zombie is left), then kill what its code started and
    left running in its process group (a process may hold its output open: the reaper
    does not wait for the output's end)."""
    process.wait()
    _signal_group(process, signal.SIGKILL)


def _signal_group(process: subprocess.Popen[str], signum: int) -> None:
    """``signum`` to every process of the run's group (the run and what its code started)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)
