"""A node's own ``model: {name: X, batch: ...}``: one node batched (or one node live) while
others call the same entry as the entry says; its calls are priced and counted under the
entry's variant (``X[batch]``, ``X[live]``); bad options are one line naming the file,
line and YAML path; nodes making media refuse it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.errors import ConfigError
from grasp_core.mock_server import MockServer
from tests.conftest import write_task
from tests.nodes.clients.batch.conftest import BATCH, TASK, batch_task, live_calls, submitted


def _node_task(folder: Path, url: str, draft_model: str, models: str) -> Path:
    """The two-node task with ``draft``'s ``model:`` and the models file given."""
    batch_task(folder, url, records=4)  # the data file
    (folder / "models.yaml").write_text(models)
    return write_task(folder, TASK.replace("model: {name: batched}", f"model: {draft_model}"))


def test_one_node_batched_on_an_entry_the_other_node_calls_live(
    tmp_path: Path, server: MockServer
) -> None:
    """``draft`` batches the entry ``m``, ``polish`` calls it live: four requests in
    batches, four live; the batched calls are counted under ``m[batch]``."""
    models = f"m: {{model: openai/m, api_base: '{server.url}/v1'}}\n"
    task = _node_task(tmp_path, server.url, f"{{name: m, batch: {BATCH}}}", models)
    (tmp_path / "task.yaml").write_text(
        task.read_text().replace("model: {name: live}", "model: {name: m}")
    )
    result = run_task(task, RunOptions(overwrite=True, cache=False))
    assert result.done == 4
    ids = submitted(server)
    assert len(ids) == len(set(ids)) == 4
    assert len(live_calls(server)) == 4
    assert result.metrics["models"]["m[batch]"]["calls"] == 4
    assert result.metrics["models"]["m"]["calls"] == 4
    assert result.metrics["nodes"]["draft"]["model_calls"] == 4
    rows = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert all(str(row["draft"]) in str(row["final"]) for row in rows)


def test_batch_true_on_a_batched_entry_keeps_its_options(
    tmp_path: Path, server: MockServer
) -> None:
    """``batch: true`` on a node whose entry is batched already calls the entry itself:
    no variant, the entry's options (batches of at most 4 requests)."""
    models = (
        f"batched: {{model: openai/b, api_base: '{server.url}/v1', batch: {BATCH}}}\n"
        f"live: {{model: openai/live, api_base: '{server.url}/v1'}}\n"
    )
    task = _node_task(tmp_path, server.url, "{name: batched, batch: true}", models)
    result = run_task(task, RunOptions(overwrite=True, cache=False))
    assert result.done == 4
    assert sorted(result.metrics["models"]) == ["batched", "live"]
    created = [r for r in server.requests() if r["path"] == "/v1/batches"]
    assert all(len(r["messages"]) <= 4 for r in created)


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ("{max_request: 3}", "batch.max_request: unknown key 'max_request' (did you mean"),
        ("often", "batch: give `true` or a mapping of batch options"),
        ("false", "batch: give `true` or a mapping of batch options (a node cannot unbatch"),
    ],
)
def test_a_bad_node_batch_option_is_one_line_naming_the_yaml_path(
    tmp_path: Path, batch: str, message: str
) -> None:
    """A bad ``model.batch`` names the task file, the line and the node's YAML path."""
    models = "m: {model: openai/m, api_base: 'http://127.0.0.1:9/v1'}\nlive: {model: openai/l}\n"
    task = _node_task(tmp_path, "http://127.0.0.1:9", f"{{name: m, batch: {batch}}}", models)
    with pytest.raises(ConfigError) as caught:
        run_task(task, RunOptions(overwrite=True, cache=False))
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(f"{task}:")
    assert f"graph_config.nodes.draft.model.{message}" in text


def test_a_media_node_refuses_a_batched_model(tmp_path: Path) -> None:
    """An image node's ``model.batch`` is refused before any call, naming the node."""
    task = write_task(
        tmp_path,
        """
        graph_config:
          nodes:
            draw:
              node_type: image
              prompt: "a cat"
              model: {name: painter, batch: true}
          edges:
            - {from: START, to: draw}
            - {from: draw, to: END}
        data_config:
          sink: {type: jsonl, file_path: out.jsonl}
        output_config:
          output_map:
            image: {from: draw}
        """,
        {"models.yaml": "painter: {model: openai/dall-e-3, api_base: 'http://127.0.0.1:9/v1'}\n"},
    )
    with pytest.raises(ConfigError, match=r"node 'draw': model\.batch: only chat calls"):
        run_task(task, RunOptions(overwrite=True, cache=False, num_records=1))
