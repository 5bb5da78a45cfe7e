"""The garbage collector during start-up: ``grasp`` collects rarely until its run's engine
starts, then freezes what start-up built and collects as usual; a run from Python leaves the
caller's collector as it was. Each check runs in a fresh interpreter (freezing is for good)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import REPO_ROOT, copy_task_yaml, write_task

GC_STATE = """
import gc

def copy(state):
    return {"threshold": list(gc.get_threshold()), "frozen": gc.get_freeze_count()}
"""


def _task(folder: Path) -> Path:
    files = {"data.jsonl": '{"id": "r0"}\n', "steps.py": GC_STATE}
    return write_task(folder, copy_task_yaml(), files)


def _python(code: str, cwd: Path = REPO_ROOT) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _default_thresholds() -> list[int]:
    """A fresh interpreter's thresholds (this process's may have been changed by a test)."""
    return list(json.loads(_python("import gc, json; print(json.dumps(gc.get_threshold()))")))


def test_grasp_run_freezes_start_up_and_collects_as_usual_during_the_records(
    tmp_path: Path,
) -> None:
    """In ``grasp run``, the records see the default thresholds back and the objects
    start-up built frozen (tens of thousands: modules, classes, config models)."""
    task = _task(tmp_path / "task")
    done = subprocess.run(
        [sys.executable, "-m", "grasp_core", "run", str(task), "--quiet"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (row,) = [json.loads(line) for line in (tmp_path / "task" / "out.jsonl").read_text().split()]
    assert row["copied"]["threshold"] == _default_thresholds()
    assert row["copied"]["frozen"] > 10_000


def test_a_run_from_python_leaves_the_callers_collector_alone(tmp_path: Path) -> None:
    """``run_task`` in a fresh interpreter freezes nothing and changes no threshold."""
    task = _task(tmp_path / "task")
    code = f"""
        from pathlib import Path
        from grasp_core import run_task
        result = run_task(Path({str(task)!r}))
        print(result.done)
    """
    assert _python(code, cwd=task.parent).split() == ["1"]
    (row,) = [json.loads(line) for line in (task.parent / "out.jsonl").read_text().split()]
    assert row["copied"] == {"threshold": _default_thresholds(), "frozen": 0}


def test_the_pause_keeps_the_collector_on_and_resume_undoes_it_once() -> None:
    """Paused, the collector still runs (every START_UP_THRESHOLD allocations: memory stays
    bounded); ``resume`` puts the thresholds back, a second ``resume`` changes nothing, and a
    collector switched off (threshold 0) is not switched on by a pause."""
    code = """
        import gc
        from grasp_core import _collector
        before = gc.get_threshold()
        _collector.pause()
        print(gc.isenabled(), gc.get_threshold()[0] == _collector.START_UP_THRESHOLD)
        _collector.resume()
        frozen = gc.get_freeze_count()
        print(gc.get_threshold() == before, frozen > 0)
        _collector.resume()
        print(gc.get_freeze_count() == frozen)
        gc.set_threshold(0)
        _collector.pause()
        print(gc.get_threshold()[0])
    """
    assert _python(code).split() == ["True", "True", "True", "True", "True", "0"]


def test_a_command_another_package_adds_gets_the_collector_back_before_it_runs() -> None:
    """A command from the ``grasp.commands`` entry points (a server such as ``grasp studio``)
    runs with the default thresholds and start-up frozen, as ``grasp mock-server`` does."""
    code = """
        import gc, sys, types
        from importlib.metadata import EntryPoint, EntryPoints
        from grasp_core import _collector, registry
        defaults = gc.get_threshold()
        _collector.pause()
        probe = types.ModuleType("gc_probe")
        probe.add_command = lambda commands: commands.add_parser("probe")
        def run_command(args):
            print(gc.get_threshold() == defaults, gc.get_freeze_count() > 0)
            return 0
        probe.run_command = run_command
        sys.modules["gc_probe"] = probe
        registry._scanned = EntryPoints([EntryPoint("probe", "gc_probe", registry.COMMAND_GROUP)])
        from grasp_core.cli import main
        print(main(["probe"]))
    """
    assert _python(code).split() == ["True", "True", "0"]
