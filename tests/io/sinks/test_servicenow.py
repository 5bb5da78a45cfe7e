"""The servicenow sink writes rows through the Table API (insert, update by key, upsert) and
stays exactly-once: a batch replayed after a crash updates the rows it wrote, never adds
them twice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.errors import SinkError
from grasp_io.sinks import ServiceNowSink, ServiceNowSinkConfig
from tests.conftest import write_task
from tests.io.servicenow_fake import PASSWORD, USER, FakeTableApi, fake_table_api

ROWS = [
    {"id": "r1", "summary": "disk full", "tags": ["ops", "disk"]},
    {"id": "r2", "summary": "vpn down", "tags": []},
]


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTableApi]:
    tables: dict[str, list[dict[str, Any]]] = {
        "u_analysis": [],
        "incident": [{"sys_id": "s1", "number": "INC1", "state": "1"}],
    }
    with fake_table_api(tables) as fake:
        monkeypatch.setenv("SNOW_INSTANCE", fake.url)
        monkeypatch.setenv("SNOW_USERNAME", USER)
        monkeypatch.setenv("SNOW_PASSWORD", PASSWORD)
        monkeypatch.delenv("SNOW_OAUTH_CLIENT_ID", raising=False)
        yield fake


def sink(**config: object) -> ServiceNowSink:
    made = ServiceNowSink(ServiceNowSinkConfig.model_validate({"type": "servicenow", **config}))
    made.restore([])
    return made


def test_insert_prefixes_custom_columns_and_stores_nested_values_as_json(
    api: FakeTableApi,
) -> None:
    """On a u_ table, field x is column u_x (as SyGra writes it); lists become JSON text."""
    token = sink(table="u_analysis").write(ROWS)
    assert token == {"count": 2, "inserted": 2, "updated": 0, "missing": 0}
    stored = api.rows("u_analysis")
    assert [{k: v for k, v in r.items() if k != "sys_id"} for r in stored] == [
        {"u_id": "r1", "u_summary": "disk full", "u_tags": '["ops", "disk"]'},
        {"u_id": "r2", "u_summary": "vpn down", "u_tags": "[]"},
    ]


def test_a_replayed_batch_updates_instead_of_duplicating(api: FakeTableApi) -> None:
    """After a crash between the write and the journal, a new sink restored to the last
    commit writes the batch again: the table still holds each record once, updated."""
    first = sink(table="u_analysis")
    first.write(ROWS)
    first.close()  # the crash: the journal never saw this write
    again = sink(table="u_analysis")
    changed = [dict(ROWS[0], summary="disk full (again)"), ROWS[1]]
    token = again.write(changed)
    assert (token["inserted"], token["updated"]) == (0, 2)
    stored = sorted(api.rows("u_analysis"), key=lambda r: r["u_id"])
    assert [(r["u_id"], r["u_summary"]) for r in stored] == [
        ("r1", "disk full (again)"),
        ("r2", "vpn down"),
    ]


def test_update_by_key_changes_matches_and_skips_missing_rows(
    api: FakeTableApi, caplog: pytest.LogCaptureFixture
) -> None:
    """update PATCHes the row whose sys_id matches; a row with no match is counted, not
    inserted."""
    token = sink(table="incident", operation="update").write(
        [{"sys_id": "s1", "state": "6"}, {"sys_id": "gone", "state": "6"}]
    )
    assert token == {"count": 2, "inserted": 0, "updated": 1, "missing": 1}
    assert api.rows("incident") == [{"sys_id": "s1", "number": "INC1", "state": "6"}]


def test_upsert_by_a_chosen_key_inserts_then_updates(api: FakeTableApi) -> None:
    """upsert on key_field number updates INC1 and inserts INC2."""
    out = sink(table="incident", operation="upsert", key_field="number")
    token = out.write([{"number": "INC1", "state": "2"}, {"number": "INC2", "state": "1"}])
    assert (token["updated"], token["inserted"]) == (1, 1)
    rows = {r["number"]: r["state"] for r in api.rows("incident")}
    assert rows == {"INC1": "2", "INC2": "1"}


def test_a_row_without_its_key_is_refused_before_writing(api: FakeTableApi) -> None:
    """cannot_write names the key the sink matches on, so that record alone fails."""
    reason = sink(table="u_analysis").cannot_write({"summary": "no id"})
    assert reason is not None
    assert "matches rows on 'id'" in reason


def test_errors_are_one_line_and_never_show_the_password(
    api: FakeTableApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing table fails restore with the table's name; a bad password names what to
    check, not the password."""
    with pytest.raises(SinkError, match=r"Invalid table u_nope\); check the table name"):
        sink(table="u_nope")
    monkeypatch.setenv("SNOW_PASSWORD", "not-the-pw-123")
    with pytest.raises(SinkError) as info:
        sink(table="u_analysis")
    assert "check SNOW_USERNAME and SNOW_PASSWORD" in str(info.value)
    assert "not-the-pw-123" not in str(info.value)


def test_a_resumed_run_writes_each_record_once(api: FakeTableApi, tmp_path: Path) -> None:
    """A run into a ServiceNow table, then the same run resumed, then run over
    (`overwrite`), leaves each record once in the table."""
    task = write_task(
        tmp_path,
        """
        data_config:
          source: {type: disk, file_path: data.jsonl}
          sink: {type: servicenow, table: u_analysis}
        graph_config:
          nodes:
            copy: {node_type: lambda, lambda: steps.copy, output_keys: copied}
          edges: [{from: START, to: copy}, {from: copy, to: END}]
        """,
        {
            "data.jsonl": "".join(json.dumps(r) + "\n" for r in ROWS),
            "steps.py": "def copy(state):\n    return state['summary'].upper()\n",
        },
    )
    result = run_task(task, RunOptions())
    assert (result.done, result.failed) == (2, 0)
    assert run_task(task, RunOptions(resume=True)).done == 0
    assert run_task(task, RunOptions(overwrite=True)).done == 2
    stored = sorted(api.rows("u_analysis"), key=lambda r: r["u_id"])
    assert [(r["u_id"], r["u_copied"]) for r in stored] == [("r1", "DISK FULL"), ("r2", "VPN DOWN")]
