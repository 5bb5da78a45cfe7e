"""Model clients: one interface, two transports (litellm, and the OpenAI-compatible fast lane),
and batch mode through providers' batch APIs (``batch``)."""

from grasp_nodes.clients.base import ChatResult, ModelClient, PolicyClient, RetryingClient
from grasp_nodes.clients.fast_lane import FAST_LANE_PROVIDERS, FastLaneClient, fast_lane_supports
from grasp_nodes.clients.litellm_client import LiteLLMClient
from grasp_nodes.clients.pool import ClientPool, client_for
from grasp_nodes.clients.replies import ReplyPolicy

__all__ = [
    "FAST_LANE_PROVIDERS",
    "ChatResult",
    "ClientPool",
    "FastLaneClient",
    "LiteLLMClient",
    "ModelClient",
    "PolicyClient",
    "ReplyPolicy",
    "RetryingClient",
    "client_for",
    "fast_lane_supports",
]
