"""Row formats declare the record field they read and their list columns, so a run that
could not write them (no `conversation`; lists into a CSV cell) is refused up front, and a
trainer never gets a column of another type than the format documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from grasp_core import ConfigError, Graph, RunOptions, Task, run_task
from grasp_io.formats import DpoFormat, OasstDpoFormat, OasstSftFormat, SftFormat
from grasp_io.sinks import CsvSink, JsonlSink, ParquetSink

CONVERSATION = [
    {"role": "user", "content": "Name a prime."},
    {"role": "assistant", "content": "7"},
]


def converse(state: dict[str, Any]) -> list[dict[str, str]]:
    return CONVERSATION


def task(folder: Path, sink: str, key: str = "conversation") -> Task:
    """A data-less task of two records whose lambda writes a conversation under ``key``."""
    graph = (
        Graph()
        .add_node("talk", "lambda", output_keys=key, **{"lambda": converse})
        .add_edge("START", "talk")
        .add_edge("talk", "END")
    )
    suffix = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}[sink]
    config = {"num_records": 2, "sink": {"type": sink, "file_path": f"rows.{suffix}"}}
    return graph.to_task(data_config=config, task_dir=folder)


def test_the_built_in_formats_declare_what_they_need() -> None:
    """Every conversation format reads `conversation`; its list columns are named."""
    for fmt in (SftFormat, DpoFormat, OasstSftFormat, OasstDpoFormat):
        assert fmt.required_fields == ("conversation",)
    assert SftFormat.nested_columns == ("messages", "images", "audios")
    assert DpoFormat.nested_columns == ("prompt", "chosen", "rejected", "images", "audios")
    assert "conversation_quality" in OasstSftFormat.nested_columns
    assert {"images", "audios"} <= set(OasstSftFormat.nested_columns)


def test_only_the_csv_sink_stores_lists_as_text() -> None:
    assert CsvSink.nested_as_text is True
    assert not getattr(JsonlSink, "nested_as_text", False)
    assert not getattr(ParquetSink, "nested_as_text", False)


@pytest.mark.parametrize("fmt", ["sft", "oasst_sft"])
def test_a_csv_sink_with_a_list_format_is_refused_before_the_run(tmp_path: Path, fmt: str) -> None:
    """`RunOptions(format="sft")` with a CSV sink raises before any record runs, naming the
    sink and the sinks to use instead; nothing is written."""
    with pytest.raises(ConfigError) as raised:
        run_task(task(tmp_path, "csv"), RunOptions(format=fmt))
    message = str(raised.value)
    assert message.startswith("data_config.sink.type: a csv sink writes lists and dicts")
    assert "Write these rows to a jsonl, parquet or hf sink" in message
    assert not (tmp_path / "rows.csv").exists()


def test_plain_records_to_csv_still_run(tmp_path: Path) -> None:
    """Without a row format the CSV sink is not refused (its JSON cells are documented)."""
    result = run_task(task(tmp_path, "csv"), RunOptions())
    assert result.done == 2


@pytest.mark.parametrize("sink", ["jsonl", "parquet"])
def test_sft_rows_read_back_as_conversational_messages(tmp_path: Path, sink: str) -> None:
    """From a jsonl or parquet sink, `to_dataset()` gives `messages` as a list of role/content
    dicts: what TRL recognises as conversational."""
    result = run_task(task(tmp_path, sink), RunOptions(format="sft"))
    dataset = result.to_dataset()
    assert dataset.column_names == ["messages"]
    assert dataset[0]["messages"] == CONVERSATION


def test_a_record_without_the_field_is_refused_up_front(tmp_path: Path) -> None:
    """The lambda writes `dialogue`, not `conversation`: refused before the first record,
    naming the record's keys."""
    with pytest.raises(ConfigError) as raised:
        run_task(task(tmp_path, "jsonl", key="dialogue"), RunOptions(format="dpo"))
    message = str(raised.value)
    assert "--format dpo writes rows from each record's 'conversation' field" in message
    assert "a record is its final state: dialogue, id" in message
    assert not (tmp_path / "rows.jsonl").exists()
