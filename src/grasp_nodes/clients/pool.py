"""One client per model entry per run, shared by every node that calls that model."""

from __future__ import annotations

from grasp_core.protocols import BuildEnv
from grasp_nodes.clients.base import ModelClient
from grasp_nodes.clients.litellm_client import LiteLLMClient, import_litellm

__all__ = ["client_for"]

_SHARED_KEY = "grasp_nodes.clients"


def client_for(env: BuildEnv, model_name: str) -> ModelClient:
    """The run's client for ``model_name`` (checked against the models file now)."""
    clients: dict[str, ModelClient] = env.shared.setdefault(_SHARED_KEY, {})
    client = clients.get(model_name)
    if client is None:
        spec = env.models.get(model_name)
        import_litellm()  # once, at build time, so no record waits for it
        client = LiteLLMClient(
            model_name,
            spec,
            api_key=env.models.api_key(model_name),
            limiter=env.backends.limiter(model_name),
            metrics=env.metrics,
        )
        clients[model_name] = client
    return client
