"""What ``grasp run`` reports after an interruption and a resume: totals over every run of
the journal with this run's share, and the output line, printed and in ``summary.json``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core.cli import main
from grasp_core.cli.options import EXIT_INTERRUPTED, EXIT_OK
from tests.conftest import copy_task_yaml, write_task

STEPS = """
import os


def copy(state):
    # with STOP set, record r030 stops the run as Ctrl-C does; with --window 1 the records
    # before it have all been handed to the writer by then
    if os.environ.get("STOP") and state["id"] == "r030":
        raise KeyboardInterrupt
    return state["id"]
"""


def summary_rows(printed: str) -> dict[str, str]:
    """The ``label  value`` rows of the printed summary."""
    rows = [line.strip() for line in printed.splitlines() if line.startswith("  ")]
    return {row[:17].strip(): row[17:].strip() for row in rows}


def test_an_interrupted_resume_counts_what_earlier_runs_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Stopped after 30 records, then resumed and stopped again before committing any: the
    resume says 30 committed (0 by this run), not 0, and names the output it holds; the
    resume that finishes says 60 in all (30 by this run)."""
    rows = "".join(json.dumps({"id": f"r{i:03d}"}) + "\n" for i in range(60))
    task = write_task(tmp_path, copy_task_yaml(), {"data.jsonl": rows, "steps.py": STEPS})
    output, summary = tmp_path / "out.jsonl", tmp_path / "out.summary.json"
    run = ["run", str(task), "--window", "1"]
    monkeypatch.setenv("STOP", "1")
    assert main(run) == EXIT_INTERRUPTED
    capsys.readouterr()

    assert main([*run, "--resume"]) == EXIT_INTERRUPTED
    printed = capsys.readouterr()
    assert "stopped early; 30 records committed (0 by this run)" in printed.err
    shown = summary_rows(printed.out)
    assert (shown["written"], shown["finished earlier"]) == ("0", "30")
    assert shown["finished in all"] == "30 (0 by this run)"
    assert shown["output"] == f"{output} (unfinished: --resume completes it)"
    saved = json.loads(summary.read_text())
    assert (saved["done"], saved["previously_finished"], saved["finished_total"]) == (0, 30, 30)
    assert (saved["outputs"], saved["unfinished_outputs"]) == ([], [str(output)])

    monkeypatch.delenv("STOP")
    assert main([*run, "--resume"]) == EXIT_OK
    shown = summary_rows(capsys.readouterr().out)
    assert shown["finished in all"] == "60 (30 by this run)"
    assert shown["output"] == str(output)
    saved = json.loads(summary.read_text())
    assert (saved["done"], saved["previously_finished"], saved["finished_total"]) == (30, 30, 60)
    assert (saved["outputs"], saved["unfinished_outputs"]) == ([str(output)], [])
    assert len(output.read_text().splitlines()) == 60
