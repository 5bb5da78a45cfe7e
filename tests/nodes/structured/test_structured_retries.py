"""An invalid structured reply is fed back to the model and retried, up to max_attempts;
then the record fails with the last validation error.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core.mock_server import MockServer
from tests.nodes.structured.helpers import SCHEMAS_PY, bodies, outputs, run


@pytest.mark.parametrize("transport", ["auto", "litellm"])
@pytest.mark.parametrize("marker", ["bad_json", "schema_violation"])
def test_an_invalid_reply_is_fed_back_and_the_retry_succeeds(
    tmp_path: Path, server: MockServer, transport: str, marker: str
) -> None:
    """After an invalid reply the next request carries it as the assistant turn and the
    validation error as a user turn; the corrected reply is stored."""
    prompt = f"grade [[mock:{marker}:2]]"
    result = run(tmp_path, server, [prompt, "fine"], transport=transport)
    assert result.done == 2, result.failure_reasons
    assert 1 <= outputs(tmp_path)[0]["verdict"]["score"] <= 5
    mine = [b for b in bodies(server) if "mock:" in b["messages"][1]["content"]]
    assert [len(b["messages"]) for b in mine] == [2, 4, 6]
    second = mine[1]["messages"]
    assert second[2]["role"] == "assistant"
    assert second[3]["role"] == "user"
    feedback = second[3]["content"]
    if marker == "bad_json":
        assert "Invalid JSON" in feedback
        assert second[2]["content"].startswith('{"answer": "this reply stops')
    else:
        assert "score: Input should be a valid integer" in feedback
        assert "reason: Input should be a valid string" in feedback
    transcript = outputs(tmp_path)[0]["messages"]
    assert len(transcript) == 2, "failed attempts stay out of the dataset transcript"


def test_exhausted_attempts_fail_the_record_with_the_last_error(
    tmp_path: Path, server: MockServer
) -> None:
    """After max_attempts invalid replies the record fails (counted, in the failures file)
    with the last validation error; the other records are written."""
    result = run(tmp_path, server, ["ok", "never [[mock:bad_json]]"], attempts=2)
    assert (result.done, result.failed) == (1, 1)
    assert result.failure_reasons == {"judge: StructuredOutputError": 1}
    (failure,) = [json.loads(line) for line in result.failures_path.read_text().splitlines()]
    assert failure["id"] == "1"
    assert "2 attempt(s)" in failure["reason"]
    assert "Invalid JSON" in failure["reason"]
    failing = [b for b in bodies(server) if "bad_json" in b["messages"][1]["content"]]
    assert len(failing) == 2


@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_a_rejecting_validator_exhausts_attempts_with_its_message(
    tmp_path: Path, server: MockServer, transport: str
) -> None:
    """A pydantic validator's message is what the model is told and what the failure says."""
    result = run(
        tmp_path,
        server,
        ["grade"],
        schema=" schemas.Picky",
        attempts=2,
        transport=transport,
        files={"schemas.py": SCHEMAS_PY},
    )
    assert result.failed == 1
    reason = json.loads(result.failures_path.read_text())["reason"]
    assert "reason: Value error, the reason must cite a source" in reason
    assert "the reason must cite a source" in bodies(server)[1]["messages"][-1]["content"]
