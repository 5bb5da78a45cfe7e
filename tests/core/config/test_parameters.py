"""Request parameters are checked when they are loaded: known OpenAI ones by type and range,
every value as JSON; unknown ones pass through, and a likely typo gets a did-you-mean."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grasp_core import ConfigError, ModelCatalog, RunOptions, run_task
from grasp_core.mock_server import MockServer
from tests.conftest import write_task
from tests.core.config.test_config import compile_file, line_of


def models_file(tmp_path: Path, parameters: str) -> Path:
    path = tmp_path / "models.yaml"
    path.write_text(f"m:\n  model: openai/m\n  parameters:\n{parameters}", encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("parameter", "message"),
    [
        ("temperature: {x: 1}", "temperature: input should be a valid number"),
        ("temperature: hot", "temperature: input should be a valid number (got 'hot')"),
        ("temperature: -0.5", "temperature: input should be greater than or equal to 0"),
        ("temperature: true", "temperature: input should be a valid number (got True)"),
        ("top_p: 1.5", "top_p: input should be less than or equal to 1"),
        ("max_tokens: .nan", "max_tokens: input should be a valid integer (got nan)"),
        ("max_tokens: 0", "max_tokens: input should be greater than or equal to 1"),
        ("max_completion_tokens: 12.5", "max_completion_tokens: input should be a valid integer"),
        ("n: 0", "n: input should be greater than or equal to 1"),
        ("presence_penalty: low", "presence_penalty: input should be a valid number"),
        ("frequency_penalty: .inf", "frequency_penalty: input should be a finite number"),
        ("seed: '7'", "seed: input should be a valid integer (got '7')"),
        ("stop: [a, 3]", "stop: give a string or a list of strings"),
        ("stop: 3", "stop: give a string or a list of strings (got 3)"),
        ("logprobs: 'yes'", "logprobs: input should be a valid boolean (got 'yes')"),
        ("top_logprobs: -1", "top_logprobs: input should be greater than or equal to 0"),
        ("logit_bias: {'50256': high}", "logit_bias.50256: input should be a valid number"),
        ("response_format: json", "response_format: expected a mapping or 'b64_json'"),
        ("user: 42", "user: input should be a valid string (got 42)"),
        ("extra_body: {top_k: .inf}", "parameters: extra_body.top_k is inf, which JSON cannot"),
        ("guided_choice: [a, .nan]", "parameters: guided_choice.1 is nan, which JSON cannot"),
    ],
)
def test_a_bad_parameter_in_the_models_file_names_its_line_and_path(
    tmp_path: Path, parameter: str, message: str
) -> None:
    """Wrong type, out of range, or not JSON (NaN, infinity): one line, at the parameter."""
    path = models_file(tmp_path, f"    {parameter}\n")
    with pytest.raises(ConfigError) as info:
        ModelCatalog.load(path)
    line = 4 if message.startswith(parameter.split(":")[0]) else 3
    assert str(info.value).startswith(f"{path}:{line}: m.parameters"), str(info.value)
    assert message in str(info.value)


def test_valid_and_provider_parameters_are_kept_as_written(tmp_path: Path) -> None:
    """Known parameters in range, and parameters of other providers, are kept unchanged."""
    parameters: dict[str, Any] = {
        "temperature": 0.7,
        "top_p": 1,
        "max_tokens": 256,
        "n": 1,
        "seed": 3,
        "stop": ["\n\n", "END"],
        "logprobs": True,
        "top_logprobs": 0,
        "logit_bias": {"50256": -100, 1234: 2.5},
        "response_format": {"type": "json_object"},
        "user": "me",
        "top_k": 40,
        "repetition_penalty": 1.1,
        "extra_body": {"guided_choice": ["yes", "no"]},
    }
    catalog = ModelCatalog.from_mapping(
        {"m": {"model": "openai/m", "parameters": parameters}}, source="test"
    )
    assert catalog.get("m").parameters == parameters


NODE_TASK = """\
data_config:
  num_records: 1
graph_config:
  nodes:
    ask:
      node_type: llm
      prompt: [{user: hello}]
      model:
        name: m
        parameters:
          temperature: {x: 1}
          max_tokens: .nan
  edges:
    - {from: START, to: ask}
    - {from: ask, to: END}
"""


def test_a_nodes_parameters_are_checked_at_their_lines(tmp_path: Path) -> None:
    """Each bad parameter of a node is a line of one error, at the parameter."""
    task = write_task(tmp_path, NODE_TASK)
    with pytest.raises(ConfigError) as info:
        compile_file(task)
    where = f"{task}:{{}}: graph_config.nodes.ask.model.parameters"
    message = str(info.value)
    assert where.format(line_of(task, "temperature")) + ".temperature: " in message
    assert where.format(line_of(task, "max_tokens")) + ".max_tokens: " in message


TYPO_TASK = """\
data_config:
  num_records: 1
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    ask:
      node_type: llm
      prompt: [{user: hello}]
      model:
        name: m
        parameters: {temprature: 0.3, top_k: 5}
  edges:
    - {from: START, to: ask}
    - {from: ask, to: END}
"""


def test_a_misspelt_parameter_is_sent_with_a_did_you_mean_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`temprature` is not refused (providers have parameters of their own) but warned about
    at its line with the name it probably meant; `top_k`, a known provider parameter, is not."""
    server = MockServer(log_bodies=True)
    task = write_task(tmp_path, TYPO_TASK)
    with server.running() as url:
        result = run_task(task, RunOptions(models=ModelCatalog().with_mock(url)))
    assert result.done == 1
    (body,) = (entry["body"] for entry in server.requests())
    assert (body["temprature"], body["top_k"]) == (0.3, 5)
    warnings = [json.loads(line)["event"] for line in capsys.readouterr().err.splitlines()]
    assert warnings == [
        f"{task}:{line_of(task, 'temprature')}: graph_config.nodes.ask.model.parameters."
        "temprature: unknown parameter 'temprature' (did you mean 'temperature'?); it is sent "
        "to the provider as it is"
    ]
