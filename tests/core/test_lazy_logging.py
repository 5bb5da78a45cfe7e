"""structlog (and the rich, pygments and attrs it imports) is imported by the first event that
is shown, not at start-up: a quiet run imports none of them, an event below the configured
level (or a record's warning under ``--quiet``) is dropped without them, and whatever is
shown, by GraSP's loggers or by structlog imported from a user's code, comes out as the
configuration asked (format, level, secrets masked)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from grasp_core.mock_server import MockServer
from tests.conftest import REPO_ROOT, copy_task_yaml, write_task

SECRET = "plain-words-secret-42"

LLM_TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    ask:
      node_type: llm
      output_keys: answer
      prompt: [{user: "write about {topic}"}]
      model: {name: m}
  edges:
    - {from: START, to: ask}
    - {from: ask, to: END}
"""

FAILING_STEP = """
def copy(state):
    if state["text"] == "bad":
        raise ValueError("bad record")
    return state["text"]
"""


def _fresh(code: str, cwd: Path = REPO_ROOT) -> tuple[list[str], list[str]]:
    """Run ``code`` in a fresh interpreter (stderr not a terminal); its stdout and stderr
    lines."""
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
    return done.stdout.splitlines(), done.stderr.splitlines()


LOADED = """
import json, sys
heavy = {"structlog", "rich", "pygments"}
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & heavy)))
"""


def test_a_quiet_run_from_python_imports_neither_structlog_nor_rich(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """A run of an llm task through ``run_task`` that logs no warning, in a fresh
    interpreter, writes every record without importing structlog, rich or pygments."""
    rows = "".join(json.dumps({"id": f"r{i}", "topic": f"topic {i}"}) + "\n" for i in range(3))
    folder = tmp_path / "task"
    files = {"data.jsonl": rows, "models.yaml": "m: {model: openai/m}\n"}
    task = write_task(folder, LLM_TASK, files)
    code = f"""
        from pathlib import Path
        from grasp_core import RunOptions, run_task
        result = run_task(Path({str(task)!r}), RunOptions(mock={mock_server.url!r}, cache=False))
        print(result.done)
    """
    out, err = _fresh(textwrap.dedent(code) + LOADED, cwd=folder)
    assert out == ["3", "[]"], err
    assert len((folder / "out.jsonl").read_text().splitlines()) == 3


def test_a_failed_record_in_a_fresh_run_is_one_warning_line(tmp_path: Path) -> None:
    """The warning about a failed record imports structlog and comes out as a JSON line (no
    terminal) at GraSP's default level: an info line logged afterwards is not shown."""
    data = "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate(["ok", "bad"]))
    folder = tmp_path / "task"
    task = write_task(folder, copy_task_yaml(), {"data.jsonl": data, "steps.py": FAILING_STEP})
    code = f"""
        from pathlib import Path
        import structlog
        from grasp_core import RunOptions, run_task
        result = run_task(Path({str(task)!r}), RunOptions())
        structlog.get_logger("app").info("an info line nobody asked for")
        print(result.done, result.failed)
    """
    out, err = _fresh(code, cwd=folder)
    assert out == ["1 1"]
    lines = [json.loads(line) for line in err if line.startswith("{")]
    assert [(line["level"], line["record_id"]) for line in lines] == [("warning", "1")]
    assert "an info line nobody asked for" not in "\n".join(err)


def test_events_below_the_level_are_dropped_before_structlog_is_imported() -> None:
    """After ``configure_logging`` (warning, JSON), info and debug events leave structlog
    unimported; the first warning imports it and is one JSON line, its secret masked."""
    code = f"""
        import sys
        from grasp_core.logs import configure_logging, get_logger, register_secret
        register_secret({SECRET!r})
        configure_logging(fmt="json")
        log = get_logger("t")
        log.info("an info line")
        log.debug("a debug line")
        print("structlog" in sys.modules)
        log.warning("echoed {SECRET}", detail=[{SECRET!r}])
        print("structlog" in sys.modules)
    """
    out, err = _fresh(code)
    assert out == ["False", "True"]
    (line,) = err
    assert SECRET not in line
    event = json.loads(line)
    assert (event["event"], event["level"], event["detail"]) == (
        "echoed <redacted>",
        "warning",
        ["<redacted>"],
    )


def test_quiet_drops_record_warnings_unimported_and_keeps_record_errors() -> None:
    """With ``records=False`` (``--quiet``) a warning about one record is dropped without
    importing structlog; an error about one record is shown."""
    code = """
        import sys
        from grasp_core.logs import configure_logging, get_logger
        configure_logging(fmt="json", records=False)
        log = get_logger("t")
        log.warning("record failed", record_id="r1")
        print("structlog" in sys.modules)
        log.error("record broke the sink", record_id="r2")
    """
    out, err = _fresh(code)
    assert out == ["False"]
    assert [json.loads(line)["record_id"] for line in err] == ["r2"]


def test_debug_level_shows_debug_events() -> None:
    """``--debug`` (level debug) shows debug events, which import structlog."""
    code = """
        from grasp_core.logs import configure_logging, get_logger
        configure_logging(fmt="json", level="debug")
        get_logger("t").debug("a debug line", n=1)
    """
    _, err = _fresh(code)
    assert [(json.loads(line)["event"], json.loads(line)["level"]) for line in err] == [
        ("a debug line", "debug")
    ]


def test_structlog_imported_by_user_code_has_grasps_configuration() -> None:
    """structlog imported after ``configure_logging`` by code that is not GraSP's (a user's
    function) is configured as GraSP asked: its info lines dropped, its warnings JSON lines
    with secret-shaped text masked."""
    code = """
        from grasp_core.logs import configure_logging
        configure_logging(fmt="json")
        import structlog
        structlog.get_logger("user").info("an info line")
        structlog.get_logger("user").warning("key sk-abcdefghijkl refused")
    """
    _, err = _fresh(code)
    assert [json.loads(line)["event"] for line in err] == ["key <redacted> refused"]
