"""A web agent's browser is stopped whatever it waits for: a page whose script never yields
makes Playwright's calls wait forever, and the record's cancellation must still end them."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from grasp_core.cli.options import EXIT_INTERRUPTED
from grasp_core.mock_server import MockServer
from tests.nodes.web_agent.pages import Handler, browsers_with, failures, run_web, say, web_task

pytestmark = pytest.mark.anyio


@pytest.mark.timeout(120)
async def test_a_node_timeout_ends_a_page_that_never_answers(
    tmp_path: Path, mock_server: MockServer, site: str, browser: str
) -> None:
    """A node `timeout` fails the record (as a timeout) even when the page's script loops
    forever, and kills its browser: no process started for the run is left."""
    flag = f"--grasp-test-run={uuid.uuid4().hex}"
    rows = [{"id": "busy", "goal": "wait", "url": f"{site}/busy"}]
    result = await run_web(tmp_path, mock_server, rows, max_steps=3, timeout=3, browser_args=[flag])
    assert (result.done, result.failed) == (0, 1)
    [failure] = failures(result)
    assert "took longer than its timeout of 3s" in failure["reason"]
    assert browsers_with(flag) == []


@pytest.mark.timeout(120)
async def test_a_page_that_never_answers_fails_its_record_without_a_timeout(
    tmp_path: Path, mock_server: MockServer, site: str, browser: str
) -> None:
    """Without a node `timeout`, an observation or action that takes longer than
    `navigation_timeout` + `action_timeout` stops the browser and fails the record."""
    flag = f"--grasp-test-run={uuid.uuid4().hex}"
    rows = [{"id": "busy", "goal": "wait", "url": f"{site}/busy"}]
    node = {"navigation_timeout": 5, "action_timeout": 1, "browser_args": [flag]}
    result = await run_web(tmp_path, mock_server, rows, max_steps=3, **node)
    assert (result.done, result.failed) == (0, 1)
    [failure] = failures(result)
    assert failure["reason"] == (
        "record 'busy', node 'web': the browser failed: the page did not answer in 6s "
        "(a script that never yields?), so its browser was stopped"
    )
    assert browsers_with(flag) == []


async def test_a_model_error_fails_the_record_and_closes_its_browser(
    tmp_path: Path, mock_server: MockServer, site: str, browser: str
) -> None:
    """A model call that fails (HTTP 500, a malformed body, a dropped connection, no
    choices, an empty reply) fails its record in one line, and closes its browser."""
    flag = f"--grasp-test-run={uuid.uuid4().hex}"
    markers = ("500", "malformed", "drop", "empty", "blank")
    rows = [{"id": m, "goal": "g", "url": say(site, f"[[mock:{m}]]")} for m in markers]
    result = await run_web(tmp_path, mock_server, rows, max_steps=2, browser_args=[flag])
    assert (result.done, result.failed) == (0, 5)
    reasons = {f["id"]: f["reason"] for f in failures(result)}
    assert reasons["500"] == "model 'm': HTTP 500 (mock fault [[mock:500]])"
    assert reasons["malformed"].startswith("model 'm': the response is not JSON")
    assert reasons["drop"].startswith("model 'm': connection failed")
    assert reasons["empty"] == "model 'm': the response has no choices"
    assert "the reply was empty" in reasons["blank"]
    assert all("\n" not in reason for reason in reasons.values())
    assert browsers_with(flag) == []


STOPPED_TASK = """\
data_config:
  source: {{type: disk, file_path: data.jsonl}}
  sink: {{type: jsonl, file_path: out/web.jsonl}}
graph_config:
  nodes:
    web:
      node_type: web_agent
      model: {{name: m}}
      max_steps: 3
      use_screenshot: false
      browser_args: ["{flag}"]
  edges:
    - {{from: START, to: web}}
    - {{from: web, to: END}}
"""


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_a_stopped_run_ends_while_a_page_never_answers(
    tmp_path: Path, site: str, browser: str, stop: signal.Signals
) -> None:
    """SIGINT or SIGTERM stops `grasp run` (exit 130) while its record's page loops
    forever, and leaves no browser behind."""
    flag = f"--grasp-test-run={uuid.uuid4().hex}"
    busy = f"/busy?run={uuid.uuid4().hex}"
    rows = [{"id": "busy", "goal": "wait", "url": site + busy}]
    web_task(tmp_path, rows)  # its models file and data
    (tmp_path / "task.yaml").write_text(STOPPED_TASK.format(flag=flag), encoding="utf-8")
    command = [sys.executable, "-m", "grasp_core", "run", "task.yaml", "--mock", "--quiet"]
    with subprocess.Popen(command, cwd=tmp_path, stderr=subprocess.PIPE, text=True) as child:
        while busy not in Handler.served:  # the browser has reached the page
            assert child.poll() is None, child.stderr.read() if child.stderr else ""
            time.sleep(0.1)
        child.send_signal(stop)
        assert child.wait(timeout=120) == EXIT_INTERRUPTED
    assert browsers_with(flag) == []
