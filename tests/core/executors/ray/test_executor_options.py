"""Choosing the executor: options are checked, Ray stays optional and off the local path."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.errors import ConfigError
from tests.conftest import copy_task_yaml, write_task

STEPS = "def copy(state):\n    return {'copied': state['x']}\n"


def test_shard_options_need_the_ray_executor() -> None:
    """--num-shards without --executor ray is a config error naming the flag to add."""
    with pytest.raises(ConfigError, match="--executor ray"):
        RunOptions(num_shards=4)
    with pytest.raises(ConfigError, match="at least 1"):
        RunOptions(executor="ray", num_shards=0)
    with pytest.raises(ConfigError, match="'local' or 'ray'"):
        RunOptions(executor="dask")  # type: ignore[arg-type]


def test_missing_ray_is_a_clear_error_with_the_install_line(tmp_path: Path) -> None:
    """Without Ray installed, asking for it says how to install it."""
    task = write_task(tmp_path, copy_task_yaml(), {"steps.py": STEPS, "data.jsonl": '{"x": 1}\n'})
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules["ray"] = None  # what an environment without the extra looks like
        from grasp_core.errors import ConfigError
        from grasp_core import RunOptions, run_task
        try:
            run_task({str(task)!r}, RunOptions(executor="ray", num_shards=2))
        except ConfigError as exc:
            print(exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert 'pip install "grasp-sdg[ray]"' in done.stdout


def test_a_local_run_never_imports_ray(tmp_path: Path) -> None:
    """The local executor finishes a run without loading Ray."""
    task = write_task(tmp_path, copy_task_yaml(), {"steps.py": STEPS, "data.jsonl": '{"x": 1}\n'})
    code = textwrap.dedent(
        f"""
        import json, sys
        from grasp_core import RunOptions, run_task
        result = run_task({str(task)!r}, RunOptions())
        print(json.dumps([result.done, "ray" in sys.modules]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [1, False]


def test_run_task_accepts_the_ray_options_in_python() -> None:
    """RunOptions carries the executor, shard count and cluster address."""
    options = RunOptions(executor="ray", num_shards=3, ray_address="127.0.0.1:6379")
    assert (options.executor, options.num_shards, options.ray_address) == (
        "ray",
        3,
        "127.0.0.1:6379",
    )
    assert callable(run_task)
