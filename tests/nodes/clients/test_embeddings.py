"""The embeddings client over real HTTP against the mock's ``/v1/embeddings``: both transports
give the same vectors, texts go in batches, retries and errors behave as for chat calls, and
a local route says what to install when its packages are missing."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

import anyio
import pytest

from grasp_core.errors import ConfigError, ModelCallError
from grasp_core.mock_server import MockServer
from grasp_core.models.backends import BackendPool
from grasp_core.models.catalog import ModelCatalog
from grasp_core.observe.metrics import RunMetrics
from grasp_core.plugin import Embedder, embedders
from grasp_core.protocols import BuildEnv
from grasp_nodes.clients.embeddings import RemoteEmbedder, open_embedder

TEXTS = [f"text number {i} about topic {i % 7}" for i in range(150)]


def build_env(entries: dict[str, dict[str, Any]], tmp_path: Path) -> BuildEnv:
    catalog = ModelCatalog.from_mapping(entries, source="models.yaml")
    catalog.base_dir = tmp_path
    return BuildEnv(
        task_dir=tmp_path, models=catalog, backends=BackendPool(catalog), metrics=RunMetrics()
    )


def embed(embedder: Embedder, texts: list[str]) -> list[list[float]]:
    return anyio.run(embedder.embed, texts)


@pytest.fixture
def server() -> Any:
    mock = MockServer(retry_after=0.01)
    with mock.running():
        yield mock


def test_registered_as_the_default_embedder() -> None:
    """The core finds this client through the `grasp.embedders` entry point `default`."""
    assert embedders.get("default") is open_embedder


def test_fast_lane_sends_batches_and_keeps_order(server: MockServer, tmp_path: Path) -> None:
    """150 texts at 64 a request make 3 requests; vectors come back in the texts' order and
    the calls and their prompt tokens are counted for the model."""
    env = build_env({"emb": {"model": "openai/embedder", "api_base": server.url + "/v1"}}, tmp_path)
    embedder = open_embedder("emb", env, batch_size=64)
    assert isinstance(embedder, RemoteEmbedder)
    vectors = embed(embedder, TEXTS)
    assert sorted(len(entry["messages"]) for entry in server.requests()) == [22, 64, 64]
    alone = embed(embedder, [TEXTS[100]])[0]
    assert vectors[100] == alone
    assert all(len(vector) == 384 for vector in vectors)
    stats = env.metrics.models["emb"]
    assert stats.calls == 4
    assert stats.prompt_tokens == sum(len(text.split()) + 1 for text in [*TEXTS, TEXTS[100]])


def test_litellm_transport_gives_the_same_vectors(server: MockServer, tmp_path: Path) -> None:
    """`transport: litellm` (litellm's aembedding, base64 on the wire) returns the same vectors
    as the fast lane."""
    base = {"model": "openai/embedder", "api_base": server.url + "/v1"}
    env = build_env({"fast": base, "slow": {**base, "transport": "litellm"}}, tmp_path)
    fast = embed(open_embedder("fast", env), TEXTS[:5])
    slow = embed(open_embedder("slow", env), TEXTS[:5])
    for a, b in zip(fast, slow, strict=True):
        assert all(math.isclose(x, y, abs_tol=1e-6) for x, y in zip(a, b, strict=True))


def test_only_embedding_parameters_are_sent(tmp_path: Path) -> None:
    """The entry's `dimensions` goes into the request; its chat parameters stay out, so one
    entry can serve chat and embeddings."""
    server = MockServer(log_bodies=True)
    with server.running() as url:
        parameters = {"dimensions": 32, "temperature": 0.1}
        entry = {"model": "openai/embedder", "api_base": url + "/v1", "parameters": parameters}
        [vector] = embed(open_embedder("emb", build_env({"emb": entry}, tmp_path)), ["hi"])
    assert len(vector) == 32
    assert server.requests()[0]["body"] == {"model": "embedder", "input": ["hi"], "dimensions": 32}


def test_transient_errors_are_retried(server: MockServer, tmp_path: Path) -> None:
    """A 429 on the first try is retried (one retry counted); the vectors are the text's."""
    env = build_env({"emb": {"model": "openai/embedder", "api_base": server.url + "/v1"}}, tmp_path)
    embedder = open_embedder("emb", env)
    [marked] = embed(embedder, ["hello there [[mock:429:1]]"])
    [plain] = embed(embedder, ["hello there"])
    assert marked == plain
    assert env.metrics.models["emb"].retries == 1


def test_a_refused_request_fails_at_once(server: MockServer, tmp_path: Path) -> None:
    """A 400 (an empty text) is not retried and says what the server said."""
    env = build_env({"emb": {"model": "openai/embedder", "api_base": server.url + "/v1"}}, tmp_path)
    with pytest.raises(ModelCallError, match=r"'\$\.input\[1\]' is invalid"):
        embed(open_embedder("emb", env), ["fine", ""])
    assert len(server.requests()) == 1


def test_an_unknown_model_names_the_known_ones(tmp_path: Path) -> None:
    """A model not in the models file fails when the embedder is built."""
    env = build_env({"emb": {"model": "openai/embedder"}}, tmp_path)
    with pytest.raises(ConfigError, match=r"model 'nope' is not in the models file.*emb"):
        open_embedder("nope", env)


@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is not None,
    reason="sentence-transformers is installed",
)
def test_local_route_without_the_extra_says_what_to_install(tmp_path: Path) -> None:
    """`local/...` without sentence-transformers fails at build time with the pip command."""
    env = build_env({"mini": {"model": "local/all-MiniLM-L6-v2"}}, tmp_path)
    with pytest.raises(ConfigError, match=r"pip install 'grasp-sdg\[embed\]'"):
        open_embedder("mini", env)


@pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None,
    reason="needs the embed extra: pip install 'grasp-sdg[embed]'",
)
def test_local_route_to_a_missing_folder(tmp_path: Path) -> None:
    """`local/FOLDER` must name a saved model's folder (relative to the models file)."""
    env = build_env({"mine": {"model": "local/models/missing"}}, tmp_path)
    with pytest.raises(ConfigError, match=r"is not a folder holding a sentence-transformers"):
        open_embedder("mine", env)
