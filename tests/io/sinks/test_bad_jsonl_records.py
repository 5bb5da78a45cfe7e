"""Bad records in a JSONL source never crash a run: each is written right, or failed.

Generated JSONL files hold records that lack the field a node needs, hold it with the wrong
type or as a 100 KB string, with ids repeated or missing, and lines that are blank, not
JSON, not an object, not UTF-8 or cut short. A lambda node, or an llm node against the mock
server, runs over each file; every record is then accounted for (see `record_model`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from grasp_core import RunOptions, RunResult, run_task
from grasp_core.errors import ConfigError
from grasp_core.mock_server import MockServer
from grasp_core.runs.preflight import PEEK
from tests.io.sinks.record_model import (
    SETTINGS,
    Found,
    NewFolder,
    assign_ids,
    check_accounted,
    lambda_output,
    lambda_task,
    llm_output,
    llm_task,
    read_jsonl,
    run_over,
)
from tests.io.sinks.record_strategies import huge_text, records, texts

_BAD_LINES = [
    "[1, 2]",
    '"just a string"',
    "42",
    "null",
    "true",
    "{not json",
    '{"text": "unterminated',
    "{'single': 'quotes'}",
]
_BLANK_LINES = ["", " ", "\t", " \t  "]


@st.composite
def jsonl_files(draw: st.DrawFn, text: st.SearchStrategy[Any] = texts) -> tuple[bytes, Found]:
    """JSONL bytes, and per record position its data or (unreadable) its line number."""
    lines: list[bytes] = []
    kinds = st.sampled_from(["record"] * 5 + ["blank", "bad", "not-utf8", "duplicate"])
    for _ in range(draw(st.integers(min_value=0, max_value=10))):
        kind = draw(kinds)
        if kind == "record" or (kind == "duplicate" and not lines):
            ascii_only = draw(st.booleans())
            record = draw(records(text))
            try:
                lines.append(json.dumps(record, ensure_ascii=ascii_only).encode())
            except UnicodeEncodeError:  # a lone surrogate: the JSON escape is the same string
                lines.append(json.dumps(record).encode())
        elif kind == "duplicate":
            lines.append(draw(st.sampled_from(lines)))
        elif kind == "blank":
            lines.append(draw(st.sampled_from(_BLANK_LINES)).encode())
        elif kind == "bad":
            lines.append(draw(st.sampled_from(_BAD_LINES)).encode())
        else:
            lines.append(b'{"text": "caf\xe9", "id": "latin-1"}')
    content = b"".join(line + b"\n" for line in lines)
    if bool(lines) and draw(st.booleans()):  # cut the last line short
        last = lines[-1]
        content = content[: len(content) - 1 - len(last)] + last[: draw(st.integers(0, len(last)))]
    if draw(st.booleans()):
        content = b"\xef\xbb\xbf" + content
    return content, jsonl_model(content)


def jsonl_model(content: bytes) -> Found:
    """Blank lines are not records; every other line is a record, or unreadable."""
    found: Found = []
    lines = content.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # the empty piece after the final newline
    for number, raw in enumerate(lines, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            found.append((number, None))
            continue
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        found.append((number, value if isinstance(value, dict) else None))
    return found


@SETTINGS
@given(file=jsonl_files())
def test_jsonl_records_are_written_as_computed_or_failed(
    new_folder: NewFolder, file: tuple[bytes, Found]
) -> None:
    """Lambda over a JSONL file: written + failed is every non-blank line, values exact."""
    folder = new_folder()
    task = lambda_task(folder, "data.jsonl")
    result, items = run_over(folder, "data.jsonl", *file, task=task)
    check_accounted(result, folder, items, lambda_output)


_llm_texts = st.text(st.characters(codec="utf-8", exclude_characters="["), max_size=40) | huge_text
"""No `[[mock:...]]` markers: the mock server obeys them. (Generated text never holds lone
surrogates; see test_the_mock_server_answers_a_prompt_with_a_lone_surrogate.)"""


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(file=jsonl_files(_llm_texts))
def test_jsonl_records_through_an_llm_node_are_written_as_echoed_or_failed(
    new_folder: NewFolder, mock_server: MockServer, file: tuple[bytes, Found]
) -> None:
    """An llm node against the mock server: each record gets its echoed prompt, or fails;
    when none of the first records the run reads to learn the columns has `text`, the run
    is refused before any call."""
    folder = new_folder()
    task = llm_task(folder, "data.jsonl", mock_server.url)
    if _lacks_text_up_front(file[1], folder / "data.jsonl"):
        (folder / "data.jsonl").write_bytes(file[0])
        with pytest.raises(ConfigError, match=r"\{text\} is not in the record's state"):
            run_task(*task)
        assert not (folder / "out").exists()
        event("refused before any call")
        return
    result, items = run_over(folder, "data.jsonl", *file, task=task)
    check_accounted(result, folder, items, llm_output)


def _lacks_text_up_front(found: Found, path: Path) -> bool:
    """Whether the records a run reads first to learn the data's columns are readable and
    none has `text` (the prompt's variable): the run is then refused up front."""
    first = assign_ids(found, "line", path.resolve())[:PEEK]
    readable = [item.data for item in first if item.data is not None]
    return bool(readable) and not any("text" in data for data in readable)


def run_jsonl(folder: Path, content: str | bytes, task: Any = None) -> RunResult:
    """Run the lambda task (or ``task``) over ``content`` written as ``data.jsonl``."""
    data = content.encode() if isinstance(content, str) else content
    (folder / "data.jsonl").write_bytes(data)
    return run_task(*(task or lambda_task(folder, "data.jsonl")))


def test_a_deeply_nested_record_fails_alone(tmp_path: Path) -> None:
    """One record nested 300 levels deep fails (or is written); the others are still written."""
    deep = '{"text": "ab", "v": ' + "[" * 300 + "]" * 300 + "}\n"
    result = run_jsonl(tmp_path, deep + '{"text": "abc"}\n')
    assert result.done + result.failed == 2
    assert {"id": "1", "text": "abc", "out": 3} in read_jsonl(tmp_path / "out" / "out.jsonl")


def test_a_non_list_messages_field_is_not_exploded(tmp_path: Path, mock_server: MockServer) -> None:
    """An llm node over a record whose `messages` is a string fails it, or keeps the string."""
    task = llm_task(tmp_path, "data.jsonl", mock_server.url)
    result = run_jsonl(tmp_path, '{"text": "a", "messages": "oops"}\n', task)
    written = read_jsonl(tmp_path / "out" / "out.jsonl")
    assert result.failed == 1 or written[0]["messages"][0] == "oops"


def test_a_bad_line_is_not_lost_on_resume_behind_a_lookalike_id(tmp_path: Path) -> None:
    """Every line is written or failed after a resume, even beside an id like '<line 2>'."""
    content = '{"id": "<line 2>", "text": "a"}\n{not json\n{"text": "bb"}\n'
    task, _ = lambda_task(tmp_path, "data.jsonl")
    (tmp_path / "data.jsonl").write_text(content, encoding="utf-8")
    run_task(task, RunOptions(num_records=1))
    run_task(task, RunOptions(resume=True))
    written = read_jsonl(tmp_path / "out" / "out.jsonl")
    failed = read_jsonl(tmp_path / "out" / "out.failures.jsonl")
    assert len(written) + len(failed) == 3


def test_the_mock_server_answers_a_prompt_with_a_lone_surrogate(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """The mock echoes such a prompt, or refuses it as a bad request (4xx), never a 5xx."""
    task = llm_task(tmp_path, "data.jsonl", mock_server.url)
    run_jsonl(tmp_path, '{"text": "a\\ud800b"}\n', task)
    failures = read_jsonl(tmp_path / "out" / "out.failures.jsonl")
    assert all("HTTP 5" not in f["reason"] for f in failures)
