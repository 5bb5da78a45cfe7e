"""A local Ray cluster that ends with its driver, even one killed with ``kill -9``.

``ray.init`` binds the processes it starts itself (GCS, raylet...) to the driver, but not the
processes those start: after the driver is killed, the shards' workers go on calling models
for seconds, and each node's agents (``ray::DashboardAgent``, ``ray::RuntimeEnvAgent``) stay
for good. So before starting a cluster the driver starts a watchdog (``_watchdog.py``), in
its own session so a Ctrl-C at the terminal does not reach it, and sets a mark in its own
environment while ``ray.init`` runs: every process of the cluster inherits the mark (Ray
passes its environment on), and nothing else has it. Once the cluster is up, the driver
tells the watchdog its session folder too (a process whose title overwrote its environment
is known by the files it keeps open there). The watchdog reads a pipe from the driver; when
the pipe closes (the driver is done, or dead: the kernel closes it either way) it kills
every process of the cluster.

Linux only (it reads ``/proc``); elsewhere the cluster is left to Ray's own clean-up.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from grasp_core.logs import get_logger

__all__ = ["MARK", "ClusterReaper"]

MARK = "GRASP_RAY_CLUSTER"
"""The environment variable marking a cluster's processes (its value is per cluster)."""
WATCHDOG = Path(__file__).with_name("_watchdog.py")
REAP_SECONDS = 30.0
"""How long the driver waits for the watchdog to finish at the end of a run."""
_log = get_logger(__name__)


@dataclass(frozen=True)
class ClusterReaper:
    """The watchdog of one local cluster, and the mark its processes carry."""

    process: subprocess.Popen[bytes] | None
    mark: str

    @classmethod
    @contextmanager
    def start(cls) -> Iterator[ClusterReaper]:
        """Start the watchdog; at the end, close its pipe (it kills what is left of the
        cluster) and wait for it. Without one (not Linux, or it cannot start) the run goes
        on with Ray's own clean-up."""
        process = None
        mark = secrets.token_hex(12)
        if sys.platform.startswith("linux"):
            try:
                process = subprocess.Popen(
                    [sys.executable, "-I", "-S", str(WATCHDOG), f"{MARK}={mark}"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            except OSError as exc:
                _log.warning("no watchdog for the local Ray cluster", error=str(exc))
        if process is None:
            yield cls(None, "")
            return
        try:
            yield cls(process, mark)
        finally:
            with contextlib.suppress(OSError):  # a dead watchdog's pipe
                if process.stdin is not None:
                    process.stdin.close()
            try:
                process.wait(timeout=REAP_SECONDS)
            except subprocess.TimeoutExpired:
                _log.warning("the Ray cluster's watchdog did not finish", pid=process.pid)
                process.kill()

    def watch(self, session_dir: str, ray_dir: str) -> None:
        """Tell the watchdog the cluster's session folder and Ray's package folder."""
        if self.process is None or self.process.stdin is None:
            return
        try:
            self.process.stdin.write(f"{session_dir}\n{ray_dir}\n".encode())
            self.process.stdin.flush()
        except OSError as exc:  # it died: the end of the run says so
            _log.warning("the local Ray cluster's watchdog is gone", error=str(exc))

    @contextmanager
    def marking(self) -> Iterator[None]:
        """Mark this process's environment while the cluster's processes are started."""
        if self.process is None:
            yield
            return
        saved = os.environ.get(MARK)
        os.environ[MARK] = self.mark
        try:
            yield
        finally:
            if saved is None:
                del os.environ[MARK]
            else:
                os.environ[MARK] = saved
