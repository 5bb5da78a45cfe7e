"""Requests to the mock server's chat endpoint and reading its answers."""

from __future__ import annotations

from typing import Any

import httpx

CHAT = "/v1/chat/completions"


def user(text: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def chat(client: httpx.Client, text: Any, **body: Any) -> httpx.Response:
    return client.post(CHAT, json={"model": "mock-model", "messages": user(text), **body})


def content_of(response: httpx.Response) -> str:
    text: str = response.json()["choices"][0]["message"]["content"]
    return text


TOOLS = [{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}]
