"""SyGra's models.yaml loads as it is: model types become routes, URLs and tokens come from
SYGRA_<NAME>_URL / _TOKEN, and what GraSP cannot honour is one line naming the entry."""

from __future__ import annotations

import io
import json
import os
import textwrap
from pathlib import Path

import pytest
from PIL import Image

from grasp_core import RunOptions, run_task
from grasp_core.errors import ConfigError
from grasp_core.mock_server import MockServer
from grasp_core.models.catalog import ModelCatalog
from tests.conftest import write_task

SYGRA_MODELS = """\
# a models file in SyGra's shape (written for these tests)
writer_vllm:
  model_type: vllm
  model_serving_name: writer-8b
  hf_chat_template_model_id: acme/writer-8b
  parameters: {max_tokens: 64, temperature: 0.2}
  special_tokens: ["<|eot|>"]
old_tgi:
  model_type: tgi
  parameters: {max_new_tokens: 100, stop: ["</s>"]}
gpt-4o:
  model_type: azure_openai
  model: gpt-4o-deploy
  api_version: 2024-02-15-preview
  parameters: {max_tokens: 500}
local small:
  model_type: ollama
  model: qwen3:1.7b
plain_openai:
  model_type: openai
  model: gpt-4o-mini
  max_concurrency: 4
grasp_native:
  model: openai/native
  api_base: http://native.example/v1
"""


def _load(tmp_path: Path, text: str) -> ModelCatalog:
    path = tmp_path / "models.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return ModelCatalog.load(path)


def _clear_sygra_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("SYGRA_")]:
        monkeypatch.delenv(name)


def test_sygra_entries_become_routes_urls_and_key_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each model_type maps to its litellm route; the URL comes from SYGRA_<NAME>_URL (with
    /v1 added for vLLM and TGI), the key stays in SYGRA_<NAME>_TOKEN, GraSP entries pass."""
    _clear_sygra_env(monkeypatch)
    monkeypatch.setenv("SYGRA_WRITER_VLLM_URL", "http://gpu1:8000")
    monkeypatch.setenv("SYGRA_OLD_TGI_URL", "http://tgi:8080/v1/")
    monkeypatch.setenv("SYGRA_GPT-4O_URL", "https://res.openai.azure.com")
    monkeypatch.setenv("SYGRA_GPT-4O_TOKEN", "az-secret")
    catalog = _load(tmp_path, SYGRA_MODELS)

    vllm = catalog.get("writer_vllm")
    assert (vllm.model, vllm.api_base, vllm.api_key_env) == (
        "hosted_vllm/writer-8b",
        "http://gpu1:8000/v1",
        None,
    )
    assert vllm.parameters == {"max_tokens": 64, "temperature": 0.2, "stop": ["<|eot|>"]}
    tgi = catalog.get("old_tgi")
    assert (tgi.model, tgi.api_base) == ("hosted_vllm/old_tgi", "http://tgi:8080/v1")
    assert tgi.parameters == {"max_tokens": 100, "stop": ["</s>"]}
    azure = catalog.get("gpt-4o")
    assert (azure.model, azure.api_version, azure.api_key_env) == (
        "azure/gpt-4o-deploy",
        "2024-02-15-preview",
        "SYGRA_GPT-4O_TOKEN",
    )
    assert catalog.api_key("gpt-4o") == "az-secret"
    ollama = catalog.get("local small")
    assert (ollama.model, ollama.api_base) == ("ollama_chat/qwen3:1.7b", "http://localhost:11434")
    openai = catalog.get("plain_openai")
    assert (openai.model, openai.api_base, openai.max_concurrency) == (
        "openai/gpt-4o-mini",
        None,
        4,
    )
    assert catalog.get("grasp_native").api_base == "http://native.example/v1"


def test_shell_friendly_variable_names_are_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shell cannot export SYGRA_GPT-4O_URL; SYGRA_GPT_4O_URL is read in its place."""
    _clear_sygra_env(monkeypatch)
    monkeypatch.setenv("SYGRA_GPT_4O_URL", "https://res.openai.azure.com")
    monkeypatch.setenv("SYGRA_GPT_4O_TOKEN", "k")
    spec = _load(tmp_path, SYGRA_MODELS).get("gpt-4o")
    assert (spec.api_base, spec.api_key_env) == (
        "https://res.openai.azure.com",
        "SYGRA_GPT_4O_TOKEN",
    )


def test_a_token_set_for_a_self_hosted_server_is_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """vLLM needs no key, but one set in SYGRA_<NAME>_TOKEN is used (never written anywhere)."""
    _clear_sygra_env(monkeypatch)
    monkeypatch.setenv("SYGRA_WRITER_VLLM_URL", "http://gpu1:8000/v1")
    monkeypatch.setenv("SYGRA_WRITER_VLLM_TOKEN", "tok-123")
    catalog = _load(tmp_path, SYGRA_MODELS)
    assert catalog.get("writer_vllm").api_key_env == "SYGRA_WRITER_VLLM_TOKEN"
    assert catalog.api_key("writer_vllm") == "tok-123"
    assert "tok-123" not in (tmp_path / "models.yaml").read_text()


def test_an_unset_url_is_reported_on_use_not_on_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing SYGRA_<NAME>_URL names the variable when the model is used for real; the
    file still loads, and --mock routes the model to the mock server."""
    _clear_sygra_env(monkeypatch)
    catalog = _load(tmp_path, SYGRA_MODELS)
    with pytest.raises(
        ConfigError,
        match=r"model 'writer_vllm' \(.*models.yaml:2\): set "
        r"SYGRA_WRITER_VLLM_URL",
    ):
        catalog.api_key("writer_vllm")
    with pytest.raises(ConfigError, match=r"SYGRA_WRITER_VLLM_URL.*grasp validate --mock"):
        catalog.for_checking(check_keys=True).api_key("writer_vllm")
    mocked = catalog.with_mock("http://127.0.0.1:1")
    assert mocked.api_key("writer_vllm") is not None


def test_several_urls_are_refused_with_the_grasp_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SyGra's `url1|url2` list is one clear error naming the variable and the way out."""
    _clear_sygra_env(monkeypatch)
    monkeypatch.setenv("SYGRA_WRITER_VLLM_URL", "http://a:8000|http://b:8000")
    catalog = _load(tmp_path, SYGRA_MODELS)
    with pytest.raises(ConfigError, match=r"SYGRA_WRITER_VLLM_URL holds 2 URLs.*load-balancing"):
        catalog.api_key("writer_vllm")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{model_type: triton, payload_key: default}", r"m\.model_type: .*'triton'.*vllm"),
        ("{model_type: vllm, completions_api: true}", r"m\.completions_api: .*chat template"),
        ("{model_type: vllm, modify_tokenizer: true}", r"m\.modify_tokenizer: .*--chat-template"),
        ("{model_type: ollama, post_process: a.B}", r"m\.post_process: .*node's `post_process`"),
        ("{model_type: vllm, url: 'http://x'}", r"m\.url: .*SYGRA_<NAME>_URL"),
        ("{model_type: vllm, ssl_verify: false}", r"m\.ssl_verify: .*verifies certificates"),
        ("{model_type: mystery}", r"m\.model_type: .*'mystery'.*one of azure, azure_openai"),
        ("{model_type: vllm, colour: red}", r"m\.colour: .*key 'colour'"),
        (
            "{model_type: tgi, chat_template_params: {a: 1}}",
            r"m\.chat_template_params: .*reach only vLLM",
        ),
    ],
)
def test_what_grasp_cannot_honour_is_one_line_naming_the_entry(
    tmp_path: Path, entry: str, message: str
) -> None:
    """Unsupported SyGra settings do not stop the file loading (SyGra's shared models.yaml
    holds entries a task never uses): using the entry for real is one line with file:line,
    the entry and GraSP's way, and --mock serves it."""
    catalog = _load(tmp_path, f"m: {entry}\nok: {{model_type: openai, model: gpt-4o}}\n")
    assert catalog.get("ok").model == "openai/gpt-4o"
    with pytest.raises(ConfigError, match=r"models.yaml:1: " + message) as info:
        catalog.api_key("m")
    assert "\n" not in str(info.value)
    assert catalog.with_mock("http://127.0.0.1:1").get("m").api_base == "http://127.0.0.1:1/v1"


def test_a_key_written_in_the_file_fails_the_load(tmp_path: Path) -> None:
    """A token in SyGra's models file is refused when the file loads, naming the variable."""
    with pytest.raises(ConfigError, match=r"models.yaml:1: m\.auth_token: .*never go in"):
        _load(tmp_path, "m: {model_type: openai, auth_token: sk-1}\n")


def test_false_spellings_of_refused_flags_are_fine_and_vllm_gets_template_kwargs(
    tmp_path: Path,
) -> None:
    """`completions_api: false` is SyGra's default; vLLM chat-template parameters travel as
    chat_template_kwargs."""
    spec = _load(
        tmp_path,
        "m: {model_type: vllm, completions_api: false, modify_tokenizer: false,"
        " chat_template_params: {reasoning_effort: low}}\n",
    ).get("m")
    assert spec.parameters == {"chat_template_kwargs": {"reasoning_effort": "low"}}


def test_a_sygra_models_file_runs_a_task_against_its_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mock_server: MockServer
) -> None:
    """A real run reaches the server named by SYGRA_<NAME>_URL, with the served model name
    and the entry's parameters."""
    _clear_sygra_env(monkeypatch)
    monkeypatch.setenv("SYGRA_WRITER_VLLM_URL", mock_server.url)
    mock_server.reset()
    task = write_task(
        tmp_path,
        """
        data_config:
          source: {type: disk, file_path: in.jsonl}
          sink: {type: jsonl, file_path: out.jsonl}
        graph_config:
          nodes:
            ask: {node_type: llm, prompt: [{user: "{q}"}], model: {name: writer_vllm}}
          edges: [{from: START, to: ask}, {from: ask, to: END}]
        """,
        {"in.jsonl": '{"id": "a", "q": "hi"}\n{"id": "b", "q": "there"}\n'},
    )
    (tmp_path / "models.yaml").write_text(SYGRA_MODELS, encoding="utf-8")
    result = run_task(task, RunOptions(models=tmp_path / "models.yaml"))
    assert (result.done, result.failed) == (2, 0)
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert sorted(row["id"] for row in rows) == ["a", "b"]
    models = {entry["model"] for entry in mock_server.requests()}
    assert models == {"writer-8b"}


def test_vertex_and_bedrock_entries_become_litellm_routes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`vertex_ai` and `bedrock` entries load as litellm's routes with their parameters,
    needing no SYGRA_<NAME>_URL or _TOKEN (litellm reads the provider's own variables)."""
    _clear_sygra_env(monkeypatch)
    catalog = _load(
        tmp_path,
        """\
        gemini_pro: {model_type: vertex_ai, model: gemini-2.5-pro, parameters: {temperature: 0.5}}
        claude_bedrock: {model_type: bedrock, model: us.anthropic.claude-x-v1:0}
        """,
    )
    gemini, bedrock = catalog.get("gemini_pro"), catalog.get("claude_bedrock")
    assert (gemini.model, gemini.api_base, gemini.api_key_env) == (
        "vertex_ai/gemini-2.5-pro",
        None,
        None,
    )
    assert gemini.parameters == {"temperature": 0.5}
    assert (bedrock.model, bedrock.api_base) == ("bedrock/us.anthropic.claude-x-v1:0", None)
    assert catalog.api_key("gemini_pro") is None


PROXY_MODELS = """\
claude_large:
  model_type: claude_proxy
  client_type: http
  backend: proxy
  additional_params: {thinking: {type: disabled}}
  parameters: {maxTokens: 2500, temperature: 0}
"""


def test_a_proxy_entry_loads_and_a_real_use_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SyGra's `claude_proxy` entry does not stop the file loading: a real use is one line
    naming the entry, its line and GraSP's way; --mock serves it with the chat API's names."""
    _clear_sygra_env(monkeypatch)
    catalog = _load(tmp_path, PROXY_MODELS)
    assert catalog.get("claude_large").parameters == {"max_tokens": 2500, "temperature": 0}
    with pytest.raises(ConfigError) as info:
        catalog.api_key("claude_large")
    message = str(info.value)
    assert "model 'claude_large' (" in message
    assert "models.yaml:1)" in message
    assert "'claude_proxy' is SyGra's in-house proxy client" in message
    assert "`model: openai/<name>`, `api_base`" in message
    assert "\n" not in message
    mocked = catalog.with_mock("http://127.0.0.1:1").get("claude_large")
    assert (mocked.model, mocked.api_base) == ("openai/claude_large", "http://127.0.0.1:1/v1")


def test_a_task_naming_a_proxy_model_runs_with_mock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SyGra task whose node names a `claude_proxy` model runs under --mock (the entry goes
    to the mock server) and writes the mock's replies."""
    _clear_sygra_env(monkeypatch)
    task = write_task(
        tmp_path,
        """
        data_config:
          source: {type: disk, file_path: in.jsonl}
          sink: {type: jsonl, file_path: out.jsonl}
        graph_config:
          nodes:
            ask: {node_type: llm, prompt: [{user: "{q}"}], model: {name: claude_large}}
          edges: [{from: START, to: ask}, {from: ask, to: END}]
        output_config:
          output_map:
            id: {from: id}
            answer: {from: ask}
        """,
        {"in.jsonl": '{"id": "a", "q": "say hi"}\n'},
    )
    (tmp_path / "models.yaml").write_text(PROXY_MODELS, encoding="utf-8")
    result = run_task(task, RunOptions(models=tmp_path / "models.yaml", mock=True))
    assert (result.done, result.failed) == (1, 0)
    (row,) = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert row == {"id": "a", "answer": "say hi"}


def test_an_azure_image_entry_calls_azures_image_route(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mock_server: MockServer
) -> None:
    """SyGra's `azure_openai` entry with `output_type: image` generates through Azure's
    `/openai/deployments/<model>/images/generations` at SYGRA_<NAME>_URL, and the node writes
    the image the server made."""
    _clear_sygra_env(monkeypatch)
    monkeypatch.setenv("SYGRA_PAINTER_URL", mock_server.url)
    monkeypatch.setenv("SYGRA_PAINTER_TOKEN", "az-key")
    mock_server.reset()
    task = write_task(
        tmp_path,
        """
        data_config:
          source: {type: disk, file_path: in.jsonl}
          sink: {type: jsonl, file_path: out/out.jsonl}
        graph_config:
          nodes:
            draw: {node_type: llm, output_key: picture, prompt: [{user: "{q}"}],
                   model: {name: painter}}
          edges: [{from: START, to: draw}, {from: draw, to: END}]
        output_config:
          output_map:
            id: {from: id}
            picture: {from: picture}
        """,
        {"in.jsonl": '{"id": "a", "q": "a red kite"}\n'},
    )
    (tmp_path / "models.yaml").write_text(
        "painter:\n  model_type: azure_openai\n  model: image-deploy\n  output_type: image\n"
        "  api_version: 2025-04-01-preview\n  parameters: {size: 32x32}\n",
        encoding="utf-8",
    )
    result = run_task(task, RunOptions(models=tmp_path / "models.yaml"))
    assert (result.done, result.failed) == (1, 0)
    (call,) = mock_server.requests()
    assert (call["path"], call["model"]) == (
        "/openai/deployments/image-deploy/images/generations",
        "image-deploy",
    )
    (row,) = [
        json.loads(line) for line in (tmp_path / "out" / "out.jsonl").read_text().splitlines()
    ]
    png = (tmp_path / "out" / row["picture"]["path"]).read_bytes()
    with Image.open(io.BytesIO(png)) as image:
        assert (image.format, image.size) == ("PNG", (32, 32))
