"""The Studio's HTTP API has an OpenAPI document, and fuzzing every operation from it finds
no 500: whatever a request holds, the answer is a status below 500 (errors as one JSON line).

Bounded and repeatable: a few derandomized examples per operation, against a fresh Studio
with ``--mock``. The event stream is left out (it streams until the client leaves)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings

from grasp_studio.openapi import document
from tests.studio.conftest import Studio

schema = schemathesis.openapi.from_dict(document()).exclude(path="/api/runs/events")

pytestmark = pytest.mark.timeout(600)


def test_the_document_lists_every_route(studio_server: Studio) -> None:
    """``/api/openapi.json`` is served (with the token) and lists each API route, the
    Studio's own operations with their parameters."""
    with studio_server.client() as client:
        served = client.get("/api/openapi.json").json()
    assert served["openapi"].startswith("3.1")
    for path in ("/api/tasks", "/api/task/edit", "/api/try", "/api/runs/start", "/api/validate"):
        assert path in served["paths"], path
    start = served["paths"]["/api/runs/start"]["post"]
    body = start["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["executor"] == {"enum": ["local", "ray"]}


@schema.parametrize()
@settings(
    max_examples=6,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_request_makes_the_studio_fail(case: Any, studio_server: Studio) -> None:
    """Any request the document allows (and the fuzzer's variations): never a 5xx; an error
    is ``{"error": ...}``."""
    response = case.call(
        base_url=studio_server.app,
        timeout=120,
    )
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
    assert response.status_code not in (401, 403), "the fuzzer's requests carry the token"
    if response.status_code >= 400:
        assert set(response.json()) == {"error"}
