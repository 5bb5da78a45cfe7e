"""Progress off a terminal: the JSON line structlog's renderer wrote, written without
importing structlog (or the rich it imports)."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import structlog

from grasp_core.observe.progress import ProgressReporter, ProgressSnapshot
from tests.conftest import copy_task_yaml, write_task

SNAPSHOT = ProgressSnapshot(
    done=7,
    failed=1,
    filtered=2,
    earlier=3,
    in_flight=4,
    total=None,
    elapsed=1.23456,
    prompt_tokens=100,
    completion_tokens=50,
    cost_usd=0.0012,
    backends={"m": {"in_flight": 4, "limit": 8}},
    cache_hits=5,
    cache_misses=6,
    saved_usd=0.5,
    batches={"parked": 2, "batches": {"running": 1}, "odd": {1, 2}},
)
_STAMP = re.compile(r'"timestamp": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z"')


def _structlog_line(final: bool) -> str:
    """What the display wrote when it was a structlog logger."""
    out = io.StringIO()
    logger = structlog.wrap_logger(
        structlog.PrintLogger(out),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
    )
    logger.info("progress", final=final, **SNAPSHOT.as_fields())
    return out.getvalue()


@pytest.mark.parametrize("final", [False, True])
def test_a_json_progress_line_is_the_line_structlog_rendered(
    final: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same text, key for key and in the same order (a value JSON cannot hold as its
    repr), apart from the moment in its ISO UTC timestamp."""
    out = io.StringIO()
    monkeypatch.setattr(sys, "stderr", out)
    ProgressReporter("json", lambda _: SNAPSHOT).display.show(SNAPSHOT, final=final)
    ours, theirs = out.getvalue(), _structlog_line(final)
    assert _STAMP.search(ours) is not None
    assert _STAMP.sub("T", ours) == _STAMP.sub("T", theirs)
    assert ours.endswith("}\n")


def test_grasp_run_off_a_terminal_shows_progress_without_structlog(tmp_path: Path) -> None:
    """A ``grasp run`` that logs no warning, its stderr a pipe, prints JSON progress lines and
    never imports structlog."""
    rows = "".join(json.dumps({"id": f"r{i}"}) + "\n" for i in range(3))
    task = write_task(tmp_path / "task", copy_task_yaml(), {"data.jsonl": rows, "steps.py": STEP})
    code = f"""
        import sys
        from grasp_core.cli import main
        code = main(["run", {str(task)!r}])
        print(code, "structlog" in sys.modules)
    """
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=task.parent,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == "0 False"
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert lines[-1]["event"] == "progress"
    assert (lines[-1]["final"], lines[-1]["done"], lines[-1]["level"]) == (True, 3, "info")


STEP = """
def copy(state):
    return state["id"]
"""
