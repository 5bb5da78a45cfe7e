"""The ``batch:`` option of a models-file entry: bad options are one clear line naming the
file, line and key; a route without a batch API is refused before the first call; a
batched entry is priced at the batch prices."""

from __future__ import annotations

from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.config.models_file import ModelSpec
from grasp_core.errors import ConfigError
from grasp_core.models.catalog import ModelCatalog
from grasp_core.models.pricing import price_of
from tests.nodes.clients.batch.conftest import batch_task


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("batch: {max_request: 3}", "m.batch.max_request: unknown key 'max_request' (did you mean"),
        ("batch: {max_wait: -1}", "m.batch.max_wait: "),
        ("batch: {completion_window: 1d}", "m.batch.completion_window: "),
        ("batch: often", "m.batch: give `true`, `false` or a mapping of batch options"),
        ("batch: {poll_interval: .inf}", "m.batch.poll_interval: input should be a finite number"),
        ("batch: {max_wait: .inf}", "m.batch.max_wait: input should be a finite number"),
        ("batch: {max_wait: .nan}", "m.batch.max_wait: input should be a finite number"),
        ("batch: {max_requests: true}", "m.batch.max_requests: input should be a valid integer"),
        ("batch: {max_resubmits: false}", "m.batch.max_resubmits: input should be a valid int"),
        ("batch: {max_bytes: 2048.0}", "m.batch.max_bytes: input should be a valid integer"),
    ],
)
def test_bad_batch_options_are_one_line_naming_the_key(
    tmp_path: Path, entry: str, message: str
) -> None:
    """Each bad option is reported on one line with the file, line and YAML path."""
    path = tmp_path / "models.yaml"
    path.write_text(f"m:\n  model: openai/m\n  {entry}\n")
    with pytest.raises(ConfigError) as caught:
        ModelCatalog.load(path)
    text = str(caught.value)
    assert "\n" not in text
    assert text.startswith(f"{path}:3: ")
    assert message in text


def test_batch_true_takes_every_default() -> None:
    """``batch: true`` is 10,000 requests a batch, gathered for up to a minute, in 24 h."""
    options = ModelSpec.model_validate({"model": "openai/m", "batch": True}).batch
    assert options is not None
    assert (options.max_requests, options.max_wait, options.completion_window) == (
        10_000,
        60.0,
        "24h",
    )
    assert ModelSpec.model_validate({"model": "openai/m", "batch": False}).batch is None


def test_a_route_without_a_batch_api_is_refused_before_any_call(tmp_path: Path) -> None:
    """An ollama entry with ``batch: true`` fails the run at build time, naming the models
    file's line, the route and what to change."""
    task = batch_task(tmp_path, "http://127.0.0.1:9", records=1)
    models = tmp_path / "models.yaml"
    models.write_text(
        "batched: {model: ollama_chat/llama3, api_base: 'http://127.0.0.1:9', batch: true}\n"
        "live: {model: openai/live, api_base: 'http://127.0.0.1:9/v1'}\n"
    )
    with pytest.raises(ConfigError, match=r"models.yaml:1: model 'batched': batch mode needs"):
        run_task(task, RunOptions(overwrite=True, cache=False))
    assert not (tmp_path / "out.jsonl").exists()


def test_a_batched_entry_is_priced_at_the_batch_prices() -> None:
    """litellm's table lists batch prices for gpt-4o-mini: half the live ones."""
    live = price_of(ModelSpec(model="openai/gpt-4o-mini"))
    batched = price_of(ModelSpec.model_validate({"model": "openai/gpt-4o-mini", "batch": True}))
    assert live is not None
    assert batched is not None
    assert batched.input_per_token == pytest.approx(live.input_per_token / 2)
    assert batched.output_per_token == pytest.approx(live.output_per_token / 2)
