"""The web_agent node driving real Chromium over a local site, with the mock as the model."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from grasp_core.mock_server import MockServer
from grasp_core.plugin import register_secret
from tests.nodes.web_agent.pages import browsers_with, by_id, failures, run_web, say

pytestmark = pytest.mark.anyio


async def test_follows_a_link_fills_a_form_and_answers(
    tmp_path: Path, mock_server: MockServer, site: str, browser: str
) -> None:
    """Each step observes the page, takes the one action the model calls and records it;
    `done(answer)` ends the run with the answer and success."""
    rows = [{"id": "w1", "goal": "Send the form as Ada", "url": f"{site}/"}]
    result = await run_web(tmp_path, mock_server, rows, max_steps=6)
    assert result.done == 1, failures(result)
    record = by_id(result)["w1"]
    steps = record["trajectory"]
    assert [(s["url"], s["title"], s["action"], s["ok"]) for s in steps] == [
        (f"{site}/", "Home", {"name": "click", "arguments": {"element": 1}}, True),
        (
            f"{site}/form",
            "Form",
            {"name": "type", "arguments": {"element": 1, "text": "Ada", "submit": True}},
            True,
        ),
        (
            f"{site}/thanks?name=Ada",
            "Thanks",
            {"name": "done", "arguments": {"answer": "Ada"}},
            True,
        ),
    ]
    assert record["agent_result"] == {
        "success": True,
        "completion_reason": "done",
        "agent_message": "Ada",
        "num_steps": 3,
        "failed_steps": 0,
        "truncated": False,
        "final_url": f"{site}/thanks?name=Ada",
        "eval_confidence": None,
        "eval_reasoning": None,
    }


async def test_replies_that_are_not_one_valid_action_are_failed_steps(
    tmp_path: Path, mock_server: MockServer, site: str, browser: str
) -> None:
    """A text reply, an unknown action, bad arguments and an element that is not on the
    page each fail their step with the reason; the run still ends, at max_steps."""
    rows = [
        {"id": "text", "goal": "look", "url": f"{site}/plain"},
        {"id": "unknown", "goal": "look", "url": say(site, "[[mock:call:jump {}]]")},
        {"id": "args", "goal": "look", "url": say(site, '[[mock:call:click {"element": "x"}]]')},
        {"id": "json", "goal": "look", "url": say(site, "[[mock:call:click {oops]]")},
        {"id": "absent", "goal": "look", "url": say(site, '[[mock:call:click {"element": 9}]]')},
    ]
    result = await run_web(tmp_path, mock_server, rows, max_steps=2)
    assert result.done == 5, failures(result)
    records = by_id(result)
    reasons = {}
    for record_id, record in records.items():
        steps = record["trajectory"]
        assert [s["ok"] for s in steps] == [False, False]
        if record_id != "text":  # the same page, so the same reply and reason again
            assert steps[0]["error"] == steps[1]["error"]
        assert record["agent_result"]["completion_reason"] == "max_steps"
        assert record["agent_result"]["truncated"] is True
        assert record["agent_result"]["failed_steps"] == 2
        reasons[record_id] = steps[0]["error"]
    assert reasons["text"].startswith("the reply called no action (it said ")
    assert reasons["unknown"] == (
        "unknown action 'jump'; the actions are: click, type, scroll, goto, back, done, fail"
    )
    assert reasons["args"] == "click: element must be a integer, got 'x'"
    assert reasons["json"].startswith("click: its arguments are not JSON")
    assert reasons["absent"] == "there is no element [9] on the page (elements: 1-2)"
    assert records["absent"]["trajectory"][0]["action"] == {
        "name": "click",
        "arguments": {"element": 9},
    }


async def test_the_model_sees_earlier_failures(
    tmp_path: Path, mock_server: MockServer, site: str, browser: str
) -> None:
    """Each request lists the earlier steps with their outcomes, so the model can change
    course (the mock echoes the user message when it calls no action)."""
    rows = [{"id": "p", "goal": "look", "url": f"{site}/plain"}]
    result = await run_web(tmp_path, mock_server, rows, max_steps=2)
    first, second = by_id(result)["p"]["trajectory"]
    assert "No earlier steps." in first["thought"]
    assert (
        "Earlier steps:\n1. (no action) -> failed: the reply called no action"
        in (second["thought"])
    )


async def test_goto_and_back_and_a_refused_scheme(
    tmp_path: Path, mock_server: MockServer, site: str, browser: str
) -> None:
    """`goto` opens http(s) URLs; a `file:` URL is refused when the start page is not one."""
    goto = say(site, '[[mock:call:goto {"url": "file:///etc/passwd"}]]')
    rows = [{"id": "g", "goal": "read", "url": goto}]
    result = await run_web(tmp_path, mock_server, rows, max_steps=1)
    step = by_id(result)["g"]["trajectory"][0]
    assert step["error"] == "cannot open 'file:///etc/passwd': only http(s) URLs may be opened"


async def test_secrets_never_reach_the_trajectory(
    tmp_path: Path, mock_server: MockServer, site: str, browser: str
) -> None:
    """A registered secret typed by the agent or shown on a page is masked in the output."""
    secret = "sk-web-agent-test-" + uuid.uuid4().hex
    register_secret(secret)
    marker = f'[[mock:call:type {{"element": 2, "text": "{secret}"}}]]'
    rows = [{"id": "s", "goal": "type the key", "url": say(site, marker)}]
    result = await run_web(tmp_path, mock_server, rows, max_steps=1)
    record = by_id(result)["s"]
    assert record["trajectory"][0]["ok"] is True
    written = json.dumps({k: record[k] for k in ("trajectory", "agent_result")})
    assert secret not in written
    assert record["trajectory"][0]["action"]["arguments"]["text"] != secret


async def test_screenshots_go_to_the_model_as_image_parts(
    tmp_path: Path, mock_server: MockServer, site: str, browser: str
) -> None:
    """With `use_screenshot`, each observation carries one image part (the echoing mock
    counts it); the screenshot itself is not stored in the trajectory."""
    rows = [{"id": "i", "goal": "look", "url": f"{site}/plain"}]
    result = await run_web(tmp_path, mock_server, rows, max_steps=1, use_screenshot=True)
    step = by_id(result)["i"]["trajectory"][0]
    assert step["thought"].endswith("[1 image]")
    assert "data:image" not in json.dumps(step)


async def test_goal_evaluation_is_recorded_and_may_end_the_run(
    tmp_path: Path, mock_server: MockServer, site: str, browser: str
) -> None:
    """With `enable_goal_eval`, the steps it falls on hold the evaluation; the run ends by
    it exactly when the goal is reported reached with enough confidence."""
    rows = [{"id": str(i), "goal": f"goal {i}", "url": f"{site}/plain"} for i in range(4)]
    node = {"enable_goal_eval": True, "eval_start_step": 1, "eval_frequency": 1}
    result = await run_web(tmp_path, mock_server, rows, max_steps=3, **node)
    assert result.done == 4, failures(result)
    for record in by_id(result).values():
        outcome = record["agent_result"]
        checks = [step["goal_eval"] for step in record["trajectory"]]
        assert all(set(c) == {"achieved", "confidence", "reasoning"} for c in checks)
        ended = [c["achieved"] and c["confidence"] >= 0.8 for c in checks]
        assert ended[:-1] == [False] * (len(checks) - 1)
        assert outcome["completion_reason"] == ("goal_eval" if ended[-1] else "max_steps")
        assert outcome["success"] is ended[-1]
        assert outcome["eval_confidence"] == checks[-1]["confidence"]


async def test_a_record_whose_start_page_does_not_load_fails_with_the_reason(
    tmp_path: Path, mock_server: MockServer, site: str, browser: str
) -> None:
    """A start URL that is not http(s)/file, a missing goal and a page that does not load
    each fail their record in one line; the other records are written."""
    rows = [
        {"id": "ok", "goal": "g", "url": say(site, '[[mock:call:fail {"reason": "no"}]]')},
        {"id": "ftp", "goal": "g", "url": "ftp://example.org/"},
        {"id": "nogoal", "url": f"{site}/plain"},
        {"id": "down", "goal": "g", "url": "http://127.0.0.1:9/"},
    ]
    result = await run_web(tmp_path, mock_server, rows, max_steps=1)
    assert result.done == 1
    outcome = by_id(result)["ok"]["agent_result"]
    assert (outcome["success"], outcome["completion_reason"], outcome["agent_message"]) == (
        False,
        "fail",
        "no",
    )
    reasons = {f["id"]: f["reason"] for f in failures(result)}
    assert (
        "'url' must be an http(s) or file URL to start from, got 'ftp://example.org/'"
        in (reasons["ftp"])
    )
    assert "'goal' must be the goal as text, got None" in reasons["nogoal"]
    assert "the start page 'http://127.0.0.1:9/' did not load: " in reasons["down"]
    assert all("\n" not in reason for reason in reasons.values())


async def test_the_browser_is_closed_when_the_record_is_cancelled(
    tmp_path: Path, mock_server: MockServer, site: str, browser: str
) -> None:
    """A node timeout that cancels the record mid-call closes its browser: no process
    started for the run is left."""
    flag = f"--grasp-test-run={uuid.uuid4().hex}"  # Chromium ignores flags it does not know
    rows = [{"id": "t", "goal": "wait", "url": say(site, "[[mock:timeout:hang=120]]")}]
    result = await run_web(tmp_path, mock_server, rows, timeout=3, browser_args=[flag])
    assert result.failed == 1
    assert "timeout" in failures(result)[0]["reason"]
    assert browsers_with(flag) == []


async def test_a_shown_window_without_a_display_runs_headless(
    tmp_path: Path,
    mock_server: MockServer,
    site: str,
    browser: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`headless: false` (SyGra's demo has it) on a machine with no display warns and runs
    headless rather than failing."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    rows = [{"id": "h", "goal": "answer", "url": say(site, '[[mock:call:done {"answer": "hi"}]]')}]
    result = await run_web(tmp_path, mock_server, rows, headless=False, slow_mo=600)
    assert result.done == 1, failures(result)
    assert by_id(result)["h"]["agent_result"]["agent_message"] == "hi"


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_runs_under_trio(
    tmp_path: Path, mock_server: MockServer, site: str, browser: str
) -> None:
    """The browser lives in a worker thread of its own, so the node runs under trio too
    (Playwright's async API would need asyncio)."""
    rows = [{"id": "t", "goal": "Send the form as Ada", "url": f"{site}/"}]
    result = await run_web(tmp_path, mock_server, rows, max_steps=5)
    assert result.done == 1, failures(result)
    steps = by_id(result)["t"]["trajectory"]
    assert [step["action"]["name"] for step in steps] == ["click", "type", "done"]
