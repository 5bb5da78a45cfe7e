"""Model clients: one interface, transports behind it."""

from grasp_nodes.clients.base import ChatResult, ModelClient
from grasp_nodes.clients.litellm_client import LiteLLMClient
from grasp_nodes.clients.pool import client_for

__all__ = ["ChatResult", "LiteLLMClient", "ModelClient", "client_for"]
