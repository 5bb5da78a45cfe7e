"""Start the bundled mock server in its own process (so it never competes for our GIL)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def mock_process(latency: str, *extra: str) -> Iterator[str]:
    """Run ``grasp mock-server`` on a free port; yield its base URL. What the server writes
    to stderr is passed on once it stops, but for the line its stop signal prints."""
    cmd = [
        sys.executable,
        "-m",
        "grasp_core",
        "mock-server",
        "--port",
        "0",
        "--latency",
        latency,
        "--max-seconds",
        "1800",
        *extra,
    ]
    with tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors, text=True)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if "http://" not in line:
                raise RuntimeError(f"mock server did not start: {line!r}")
            yield line.strip().split()[-1]
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            errors.seek(0)
            for said in errors:
                if said.strip() != "grasp: interrupted":
                    sys.stderr.write(said)
