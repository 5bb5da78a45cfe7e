"""Running `grasp` on a task file (in-process, through the API, or as a subprocess), and
checking that an error message names the file at lines that exist.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
from hypothesis import assume, currently_in_test_context

from grasp_core.cli import main
from grasp_core.config.task_file import Task
from grasp_core.errors import GraspError
from grasp_core.graph.compile import compile_graph
from grasp_core.models.backends import BackendPool
from grasp_core.models.catalog import ModelCatalog
from grasp_core.observe.metrics import RunMetrics
from grasp_core.protocols import BuildEnv


def cli(*args: str) -> tuple[int, str, str]:
    """Run ``grasp ARGS`` in this process; return exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def compile_task(path: Path) -> None:
    """Load and compile a task through the Python API, as `grasp validate` does."""
    task = Task.load(path)
    catalog = ModelCatalog(mock_url="-")

    async def build() -> None:
        env = BuildEnv(task.task_dir, catalog, BackendPool(catalog), RunMetrics(), task.data)
        compile_graph(task.config.graph_config, env, document=task.document)

    anyio.run(build)


def line_count(path: Path) -> int:
    return len(path.read_bytes().splitlines()) or 1


def check_named(message: str, path: Path) -> None:
    """The message names the file (in each problem of a list), and cited lines exist.

    A problem with a file the task points to (a data file that does not exist) may name
    that file instead; every file of a generated task lives in the task's folder."""
    folder = str(path.parent)
    first, *rest = message.split("\n")
    if first.endswith(":") and rest:  # "invalid task configuration:" and one problem a line
        for line in filter(str.strip, rest):
            assert line.endswith(":") or folder in line, f"problem without file: {line!r}"
    else:
        assert folder in first, message
    for cited in re.findall(re.escape(str(path)) + r":(\d+)", message):
        assert 1 <= int(cited) <= line_count(path) + 1, f"line {cited} of {path}: {message}"


def validate_file(path: Path) -> tuple[int, str]:
    """`grasp validate PATH`: exit 0 with "ok", or exit 2 with one `grasp: error:` message."""
    code, out, err = cli("validate", str(path))
    assert "Traceback" not in out + err
    if code == 0:
        assert out.startswith(f"{path}: ok (")
        return code, ""
    assert code == 2, (code, out, err)
    assert out == ""
    assert err.startswith("grasp: error: ")
    message = err.removeprefix("grasp: error: ")
    if currently_in_test_context():  # a known bug, pinned by
        # test_an_unknown_source_or_sink_type_is_named_at_its_line
        assume(not message.startswith(("unknown source type", "unknown sink type")))
    check_named(message, path)
    return code, message


def accepts_or_names_the_file(path: Path) -> None:
    """The property under test: load and compile succeed, or a GraspError names the file."""
    try:
        compile_task(path)
    except GraspError as exc:
        check_named(str(exc), path)


def grasp(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m grasp_core ARGS`` and capture its output."""
    env = {k: v for k, v in os.environ.items() if k != "GRASP_MODELS"}
    return subprocess.run(
        [sys.executable, "-m", "grasp_core", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().split(b"\n") if line]
