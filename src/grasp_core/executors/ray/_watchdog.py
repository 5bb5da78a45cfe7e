"""The reaper's watchdog process (run as ``python -I -S _watchdog.py NAME=MARK``): wait until
the driver closes its pipe, or dies, then kill every process of the driver's local cluster.

A process belongs to the cluster when its environment holds ``NAME=MARK``, or when it keeps a
file open in the cluster's session folder and runs Ray's code (a command line starting with
``ray::``, or a program in Ray's package folder). The second test catches the processes whose
environment reads as blank: ``setproctitle`` may reuse that memory for the process's title.
The driver writes the session folder and Ray's folder on the pipe, one a line, once
``ray.init`` returns.

It imports nothing from GraSP (only the standard library, without ``site``), so it starts in
a few milliseconds and does not depend on the driver's ``sys.path``.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import dataclass

__all__ = ["Cluster", "main", "reap"]

ROUNDS = 100
"""Scans before giving up; a process being killed may still start one (a raylet, a worker)."""


@dataclass(frozen=True)
class Cluster:
    """How to tell the processes of one local cluster."""

    mark: bytes
    """The environment entry (``NAME=VALUE``) every process started under it inherits."""
    session: str = ""
    """The cluster's session folder (empty until ``ray.init`` returned)."""
    ray_dir: str = ""
    """Ray's package folder, where its programs live."""

    def members(self) -> list[int]:
        """Every live process of the cluster (a zombie's files and environment read as
        empty, so the dead are never listed)."""
        return [int(name) for name in os.listdir("/proc") if name.isdigit() and self._has(name)]

    def _has(self, pid: str) -> bool:
        try:
            with open(f"/proc/{pid}/environ", "rb") as handle:
                if self.mark in handle.read().split(b"\0"):
                    return True
            if not self.session:
                return False
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                argv = handle.read().split(b"\0")
            return self._runs_ray(argv) and self._holds_session_file(pid)
        except OSError:  # gone, or not ours to read
            return False

    def _runs_ray(self, argv: list[bytes]) -> bool:
        if argv[0].startswith(b"ray::"):
            return True
        folder = self.ray_dir.encode() + b"/"
        return bool(self.ray_dir) and any(arg.startswith(folder) for arg in argv[:3])

    def _holds_session_file(self, pid: str) -> bool:
        inside = self.session.rstrip("/") + "/"
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(inside):
                    return True
            except OSError:
                continue
        return False


def reap(cluster: Cluster, spare: int) -> int:
    """SIGKILL every process of ``cluster`` but this one and ``spare`` (the driver, when it
    is still alive) until none is left; return how many were killed.

    SIGKILL, not SIGTERM: on a normal exit Ray has already stopped the cluster gracefully,
    and after a crash the shards must stop calling models now (their journals are safe at
    any instant)."""
    keep = {os.getpid(), spare}
    killed: set[int] = set()
    for _ in range(ROUNDS):
        pids = [pid for pid in cluster.members() if pid not in keep]
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    return len(killed)


def main() -> None:
    """Read the driver's pipe until end of file, then reap."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    driver = os.getppid()
    told = b""
    while chunk := os.read(0, 4096):
        told += chunk
    session, ray_dir = [*told.decode(errors="replace").splitlines(), "", ""][:2]
    reap(Cluster(sys.argv[1].encode(), session, ray_dir), spare=driver)


if __name__ == "__main__":
    main()
