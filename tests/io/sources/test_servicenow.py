"""The servicenow source reads a table through the Table API: queries, fields, pages and the
run's window, with SyGra's keys and SNOW_* variables; failures are one line, never a secret."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.errors import ConfigError, SourceError
from grasp_io._servicenow import encode_filters, instance_url
from grasp_io.sources import ServiceNowSource, ServiceNowSourceConfig
from tests.conftest import write_task
from tests.io.servicenow_fake import (
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    USER,
    FakeTableApi,
    fake_table_api,
)

INCIDENTS = [
    {
        "sys_id": f"s{n:02d}",
        "number": f"INC{n:04d}",
        "priority": str(1 + n % 3),
        "active": "true" if n % 2 == 0 else "false",
        "short_description": f"printer {n} is on fire",
    }
    for n in range(12)
]


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTableApi]:
    with fake_table_api({"incident": [dict(row) for row in INCIDENTS]}) as fake:
        monkeypatch.setenv("SNOW_INSTANCE", fake.url)
        monkeypatch.setenv("SNOW_USERNAME", USER)
        monkeypatch.setenv("SNOW_PASSWORD", PASSWORD)
        monkeypatch.delenv("SNOW_OAUTH_CLIENT_ID", raising=False)
        monkeypatch.delenv("SNOW_OAUTH_CLIENT_SECRET", raising=False)
        yield fake


def source(**config: object) -> ServiceNowSource:
    return ServiceNowSource(ServiceNowSourceConfig.model_validate({"type": "servicenow", **config}))


def test_rows_are_read_page_by_page_with_sys_id_as_id(api: FakeTableApi) -> None:
    """Every matching row arrives once, in order, across pages; ids are sys_ids and the
    count comes from X-Total-Count."""
    src = source(table="incident", batch_size=5)
    items = list(src.iter_records())
    assert [i.record_id for i in items] == [r["sys_id"] for r in INCIDENTS]
    assert items[3].data == INCIDENTS[3]
    assert src.count() == 12
    pages = [path for method, path in api.log if method == "GET" and "sysparm_offset" in path]
    assert len(pages) == 3


def test_filters_query_fields_and_order_reach_the_server(api: FakeTableApi) -> None:
    """SyGra's filters and query are ANDed, fields narrow each row, order_desc sorts."""
    src = source(
        table="incident",
        filters={"priority": ["1", "2"], "number": {"operator": ">=", "value": "INC0002"}},
        query="active=true",
        fields=["sys_id", "number"],
        order_by="number",
        order_desc=True,
        limit=3,
    )
    rows = [item.data for item in src.iter_records()]
    assert rows == [
        {"sys_id": "s10", "number": "INC0010"},
        {"sys_id": "s06", "number": "INC0006"},
        {"sys_id": "s04", "number": "INC0004"},
    ]
    assert src.count() == 3


def test_the_run_window_maps_to_the_api_offset(api: FakeTableApi) -> None:
    """start and limit become sysparm_offset and sysparm_limit: rows before start are not
    fetched."""
    items = list(source(table="incident", batch_size=100).iter_records(start=7, limit=2))
    assert [i.record_id for i in items] == ["s07", "s08"]
    assert "sysparm_offset=7" in api.log[-1][1]
    assert "sysparm_limit=2" in api.log[-1][1]


def test_encoded_filters_follow_servicenow_syntax() -> None:
    """Equality, lists as IN, operators, booleans in lower case, `^` escaped."""
    assert encode_filters(
        {"active": True, "state": ["6", "7"], "n": {"operator": "not in", "value": [1, 2]}}
    ) == ("active=true^stateIN6,7^nNOT IN1,2")
    assert encode_filters({"d": "a^b"}) == "d=a^^b"
    with pytest.raises(ConfigError, match="unknown operator 'BETWEEN'; use one of"):
        encode_filters({"n": {"operator": "between", "value": 1}})


def test_an_instance_is_a_name_a_host_or_a_url() -> None:
    """SNOW_INSTANCE takes SyGra's instance name, a host name, or a full URL (local servers)."""
    assert instance_url("dev00000") == "https://dev00000.service-now.com"
    assert instance_url("acme.service-now.com") == "https://acme.service-now.com"
    assert instance_url("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"


def test_a_wrong_password_is_one_line_without_the_password(
    api: FakeTableApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """401 names the status, the URL and the variables to check; the password is not shown."""
    monkeypatch.setenv("SNOW_PASSWORD", "wrong-pw-value")
    with pytest.raises(SourceError) as info:
        list(source(table="incident").iter_records())
    message = str(info.value)
    assert "answered 401 (User Not Authenticated); check SNOW_USERNAME and SNOW_PASSWORD" in message
    assert "wrong-pw-value" not in message
    assert "\n" not in message


def test_an_unknown_table_names_the_table(api: FakeTableApi) -> None:
    """The API's 400 for an unknown table becomes one line naming it."""
    with pytest.raises(SourceError, match=r"answered 400 \(Invalid table nope\); check the table"):
        list(source(table="nope").iter_records())


def test_missing_settings_and_passwords_in_files_are_refused(
    api: FakeTableApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No instance or password is a ConfigError naming the variable; a password in the task
    file is refused in favour of SNOW_PASSWORD."""
    monkeypatch.delenv("SNOW_PASSWORD")
    with pytest.raises(ConfigError, match=r"set SNOW_USERNAME .* and SNOW_PASSWORD"):
        source(table="incident")
    monkeypatch.delenv("SNOW_INSTANCE")
    with pytest.raises(ConfigError, match="no instance; set `instance` or SNOW_INSTANCE"):
        source(table="incident")
    with pytest.raises(ValueError, match=r"`password` never goes in a task file.*SNOW_PASSWORD"):
        source(table="incident", password="hunter2")


def test_oauth_password_grant_signs_in_with_a_bearer_token(
    api: FakeTableApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the OAuth pair set, the client gets a token from /oauth_token.do and uses it."""
    monkeypatch.setenv("SNOW_OAUTH_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SNOW_OAUTH_CLIENT_SECRET", CLIENT_SECRET)
    items = list(source(table="incident", limit=2).iter_records())
    assert len(items) == 2
    assert api.log[0] == ("POST", "/oauth_token.do")


def test_a_passing_server_error_is_retried(api: FakeTableApi) -> None:
    """A 503 is retried (auto_retry) and the read completes; without retries it fails."""
    api.fail_next.extend([503])
    assert len(list(source(table="incident").iter_records())) == 12
    api.fail_next.extend([503])
    with pytest.raises(SourceError, match="answered 503"):
        list(source(table="incident", auto_retry=False).iter_records())


def test_a_task_reads_servicenow_through_snow_instance(api: FakeTableApi, tmp_path: Path) -> None:
    """A task with SyGra's source block runs against the table SNOW_INSTANCE points at."""
    task = write_task(
        tmp_path,
        """
        data_config:
          source: {type: servicenow, table: incident, filters: {active: "true"}, limit: 4,
                   fields: [sys_id, short_description]}
          sink: {type: jsonl, file_path: out.jsonl}
        graph_config:
          nodes:
            copy: {node_type: lambda, lambda: steps.copy, output_keys: copied}
          edges: [{from: START, to: copy}, {from: copy, to: END}]
        """,
        {"steps.py": "def copy(state):\n    return state['short_description'].upper()\n"},
    )
    result = run_task(task, RunOptions())
    assert (result.done, result.failed) == (4, 0)
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert sorted(r["copied"] for r in rows) == [f"PRINTER {n} IS ON FIRE" for n in (0, 2, 4, 6)]
