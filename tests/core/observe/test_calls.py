"""Watching model calls: a reported call reaches the watcher of the task it runs in, with its
node run's identity and without credential-bearing parameters; unwatched, nothing happens."""

from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass, field
from typing import Any

from grasp_core.models.cache_key import enter_node_run
from grasp_core.observe.calls import ModelCall, report_model_call, watching_model_calls


@dataclass
class Reply:
    text: str = "hi"
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = "stop"
    prompt_tokens: int = 3
    completion_tokens: int = 1
    attempts: int = 1


def test_a_watched_call_carries_its_node_run_and_hides_credentials() -> None:
    """The watcher gets the call's record, node and iteration; ``api_key`` and headers are
    left out of its parameters."""
    seen: list[ModelCall] = []
    params = {"temperature": 0, "api_key": "sk-secret", "extra_headers": {"X-Key": "k"}}

    def in_a_node_run() -> None:
        with watching_model_calls(seen.append):
            enter_node_run("r7", "outer.inner", 2)
            messages = [{"role": "user", "content": "q"}]
            report_model_call(
                "m", messages, params, Reply(), started=time.perf_counter(), cached=True
            )

    contextvars.copy_context().run(in_a_node_run)  # the node run's identity stays in there
    (call,) = seen
    assert (call.record_id, call.node, call.iteration) == ("r7", "outer.inner", 2)
    assert call.parameters == {"temperature": 0}
    assert call.cached
    assert call.text == "hi"
    assert call.prompt_tokens == 3


def test_an_unwatched_call_is_dropped() -> None:
    """Outside ``watching_model_calls`` a report does nothing (and the watcher is gone after)."""
    seen: list[ModelCall] = []
    with watching_model_calls(seen.append):
        pass
    report_model_call("m", [], {}, Reply(), started=time.perf_counter())
    assert seen == []
