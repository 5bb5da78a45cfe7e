"""One client per model entry per run, shared by every node that calls that model."""

from __future__ import annotations

from grasp_core.plugin import BatchOptions, BuildEnv, CacheMode
from grasp_nodes.clients.base import ModelClient, PolicyClient, RetryingClient
from grasp_nodes.clients.fast_lane import FastLaneClient, fast_lane_supports
from grasp_nodes.clients.litellm_client import LiteLLMClient
from grasp_nodes.clients.replies import ReplyPolicy

__all__ = ["ClientPool", "client_for"]

_SHARED_KEY = "grasp_nodes.clients"


class ClientPool:
    """The run's clients; closed (connections released) when the run ends."""

    def __init__(self) -> None:
        self.clients: dict[str, RetryingClient] = {}

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()


def client_for(
    env: BuildEnv,
    model_name: str,
    replies: ReplyPolicy | None = None,
    cache: CacheMode | None = None,
    *,
    batch: BatchOptions | None = None,
) -> ModelClient:
    """The run's client for ``model_name`` (checked against the models file now); with
    ``replies`` or ``cache``, a view of it whose calls follow a node's own
    ``on_truncated``/``on_empty`` and cache mode.

    OpenAI-compatible routes take the fast lane; every other route, and any entry with
    ``transport: litellm``, goes through litellm; an entry with ``batch:`` through the
    provider's batch API (unless the catalog says to call it live: a preview). A node's
    own ``batch`` (its ``model.batch``) on an entry without it, or with other options, calls
    a variant of the entry (``name[batch]``), priced and counted apart.
    """
    client = _shared_client(env, _entry_name(env, model_name, batch))
    if (replies is None or replies == ReplyPolicy()) and cache is None:
        return client
    return PolicyClient(client, replies or ReplyPolicy(), cache)


def _shared_client(env: BuildEnv, model_name: str) -> RetryingClient:
    pool: ClientPool = env.shared.setdefault(_SHARED_KEY, ClientPool())
    client = pool.clients.get(model_name)
    if client is not None:
        return client
    spec = env.models.get(model_name)
    common = {
        "api_key": env.models.api_key(model_name, env.task_dir),
        "backend": env.backends.backend(model_name),
        "metrics": env.metrics,
        "cache": env.cache,
        "cache_endpoint": _cache_endpoint(env, spec.api_base),
    }
    litellm_client = LiteLLMClient(model_name, spec, **common)  # type: ignore[arg-type]
    if spec.batch is not None and not env.models.call_live:
        from grasp_nodes.clients.batch import BatchClient  # httpx: only for batched entries

        client = BatchClient.build(env, model_name, spec, **common)
    elif fast_lane_supports(spec):
        client = FastLaneClient(model_name, spec, fallback=litellm_client, **common)
    else:  # litellm is imported at the first call the response cache does not answer
        client = litellm_client
    pool.clients[model_name] = client
    return client


def _entry_name(env: BuildEnv, name: str, batch: BatchOptions | None) -> str:
    """The entry a node's calls go to: ``name``, or its variant for the node's ``batch``
    (the defaults, as ``batch: true`` gives, keep a batched entry's own options)."""
    current = env.models.get(name).batch
    if batch is None or batch == current or (current is not None and batch == BatchOptions()):
        return name
    return env.models.batch_variant(name, batch)


def _cache_endpoint(env: BuildEnv, api_base: str | None) -> str | None:
    """The endpoint a cache key names: ``mock`` for the mock server (``--mock`` starts it
    on a new port each run; its replies depend only on the request), else ``api_base``."""
    mock = env.models.mock_url
    if mock is not None and api_base is not None and api_base.startswith(mock):
        return "mock" + api_base[len(mock) :]
    return api_base
