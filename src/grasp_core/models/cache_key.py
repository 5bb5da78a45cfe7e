"""What a cached response is filed under: a sha256 over the request and, by default, the
identity of the call inside its record.

The request part covers everything that can change the answer: the route (``openai/gpt-4o``),
the endpoint (``api_base``, ``api_version``; never the API key or any header), every request
parameter after the models file's defaults and the node's own are merged (``temperature``,
``max_tokens``, ``seed``, ``tools``, ``tool_choice``, ``response_format`` with its JSON
schema...), and the messages as sent (media parts as the bytes they carry, so the same image
from another path is the same request). The identity part (mode ``record``) adds the record
id, the node's qualified path, its loop iteration, and how many identical requests this node
run made before (the n-th sample of one prompt): a data-less run asking one prompt 1,000 times
makes 1,000 distinct calls, and a rerun gets the same 1,000 answers back. Mode ``content``
leaves the identity out, for deterministic calls whose answer any record may share.

The walker calls :func:`enter_node_run` as each node run starts; calls made outside a node
run have no identity and are cached only in ``content`` mode.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import Any

from grasp_core._json_text import compact_encoder
from grasp_core.config.models_file import CacheMode

__all__ = [
    "CacheMode",
    "CallIdentity",
    "RequestKeys",
    "current_identity",
    "enter_node_run",
    "request_key",
]

_KEY_VERSION = 1
"""Bumped when what goes into a key changes, so old entries are simply never found."""


@dataclass(slots=True)
class CallIdentity:
    """One node run of one record, and the requests it has made so far."""

    record_id: str
    node: str
    iteration: int
    seen: dict[str, int] = field(default_factory=dict)

    def occurrence(self, digest: str) -> int:
        """How many requests with this ``digest`` the node run made before this one."""
        count = self.seen.get(digest, 0)
        self.seen[digest] = count + 1
        return count


_IDENTITY: ContextVar[CallIdentity | None] = ContextVar("grasp_call_identity", default=None)


def enter_node_run(record_id: str, node: str, iteration: int) -> None:
    """Mark the current task (and the tasks it starts) as running ``node`` for a record."""
    _IDENTITY.set(CallIdentity(record_id, node, iteration))


def current_identity() -> CallIdentity | None:
    """The node run the current task belongs to (None outside one)."""
    return _IDENTITY.get()


_ENCODE = compact_encoder(ensure_ascii=False, sort_keys=True, default=repr)
"""Built once: a rerun computes a key for every call."""


def _canonical(value: Any) -> bytes:
    return _ENCODE(value).encode("utf-8")


def _identity_json(digest: str, identity: CallIdentity, index: int) -> bytes:
    """``_canonical([digest, record_id, node, iteration, index])``, spelt out: the same
    bytes (so keys stay the same) at a third of the cost."""
    record_id, node, iteration = identity.record_id, identity.node, identity.iteration
    if type(record_id) is not str or type(node) is not str or type(iteration) is not int:
        return _canonical([digest, record_id, node, iteration, index])  # not from the walker
    who = f"{encode_basestring(record_id)},{encode_basestring(node)},{iteration},{index}"
    return f'["{digest}",{who}]'.encode()


def _messages_json(messages: Sequence[Mapping[str, Any]]) -> str:
    """``_ENCODE(list(messages))``, with the common message (a dict of exactly a text
    ``content`` and a ``role``) spelt out, keys in sorted order: the same text, without the
    general encoder's sorting of every message's items."""
    parts = []
    for message in messages:
        if type(message) is dict and len(message) == 2:
            content = message.get("content")
            role = message.get("role")
            if type(content) is str and type(role) is str:
                parts.append(
                    f'{{"content":{encode_basestring(content)},"role":{encode_basestring(role)}}}'
                )
                continue
        parts.append(_ENCODE(message))
    return f"[{','.join(parts)}]"


class RequestKeys:
    """The cache keys of requests to one endpoint: the key's constant part (route and
    endpoint) encoded once per client, so a call encodes only its messages and parameters.
    The JSON is the same bytes as encoding the whole request at once (a list's items joined
    by commas), so the keys are the same too."""

    __slots__ = ("_head",)

    def __init__(self, *, route: str, api_base: str | None, api_version: str | None) -> None:
        head = _ENCODE([_KEY_VERSION, route, api_base, api_version])
        self._head = head[:-1]  # without the closing bracket: the request goes on

    def key(
        self,
        messages: Sequence[Mapping[str, Any]],
        params: Mapping[str, Any],
        mode: CacheMode,
    ) -> str | None:
        """See :func:`request_key`."""
        if mode == "off":
            return None
        identity = _IDENTITY.get()
        if mode == "record" and identity is None:
            return None
        encoded = _ENCODE(params if type(params) is dict else dict(params)) if params else "{}"
        request = f"{self._head},{_messages_json(messages)},{encoded}]"
        digest = hashlib.sha256(request.encode("utf-8")).hexdigest()
        if mode == "content" or identity is None:
            return digest
        index = identity.occurrence(digest)
        return hashlib.sha256(_identity_json(digest, identity, index)).hexdigest()


def request_key(
    *,
    route: str,
    api_base: str | None,
    api_version: str | None,
    messages: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any],
    mode: CacheMode,
) -> str | None:
    """The cache key of one chat request (64 hex digits), or None when it is not cached
    (``off``, or ``record`` mode outside a node run): the sha256 of the canonical JSON of
    ``[1, route, api_base, api_version, messages, params]``, then, in ``record`` mode, of
    that digest with the call's identity. Each call counts as one occurrence of its request
    in the node run, so call it once per call."""
    keys = RequestKeys(route=route, api_base=api_base, api_version=api_version)
    return keys.key(messages, params, mode)
