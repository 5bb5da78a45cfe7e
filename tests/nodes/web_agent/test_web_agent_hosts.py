"""A web agent opens its start page's host and public hosts only (or those listed): a page
or the model cannot send the browser to this machine's services or a cloud metadata address."""

from __future__ import annotations

import json
import socket
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from grasp_core.mock_server import MockServer
from grasp_nodes.web_agent import WebAgentConfig
from grasp_nodes.web_agent.hosts import HostPolicy
from tests.nodes.web_agent.pages import Handler, by_id, failures, run_web, say

METADATA = "http://169.254.169.254/latest/meta-data/"


def goto(url: str) -> str:
    return f'[[mock:call:goto {{"url": "{url}"}}]]'


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8000/admin",
        "http://app.localhost/",
        "http://127.0.0.2/",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://[::1]:8080/",
        METADATA,
    ],
)
def test_local_and_private_hosts_are_refused_by_default(url: str) -> None:
    refusal = HostPolicy("https://93.184.215.14/start").refusal(url)
    assert refusal is not None
    assert "is a local or private-network address" in refusal
    assert "allow_private_hosts: true" in refusal
    assert HostPolicy("https://93.184.215.14/", allow_private=True).refusal(url) is None


def test_the_start_pages_own_host_and_public_hosts_pass() -> None:
    policy = HostPolicy("http://127.0.0.1:5000/index.html")
    assert policy.refusal("http://127.0.0.1:5000/other") is None
    assert policy.refusal("https://93.184.215.14/") is None
    assert policy.refusal("http://127.0.0.1:6000/") is None  # the same host, another port
    assert policy.refusal("http://localhost:5000/") is not None  # another name for it


def test_a_name_that_resolves_to_a_private_address_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The name is resolved once a session: one that points inside is refused like the
    address itself; one that does not resolve is left to the browser to fail."""
    asked: list[str] = []

    def resolve(host: str, *args: Any, **kwargs: Any) -> list[Any]:
        asked.append(host)
        if host == "inside.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", 0))]
        raise socket.gaierror("no such name")

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    policy = HostPolicy("https://93.184.215.14/")
    assert policy.refusal("http://inside.example/a") is not None
    assert policy.refusal("http://inside.example/b") is not None
    assert policy.refusal("http://nowhere.example/") is None
    assert asked == ["inside.example", "nowhere.example"]


def test_allowed_hosts_are_the_only_hosts() -> None:
    policy = HostPolicy("https://docs.example.com/", ["docs.example.com", "*.cdn.example.com"])
    assert policy.refusal("https://docs.example.com/page") is None
    assert policy.refusal("https://img.cdn.example.com/a.png") is None
    assert policy.refusal("https://cdn.example.com.evil.test/") is not None
    refusal = policy.refusal("https://example.com/")
    assert refusal == (
        "cannot open 'https://example.com/': host 'example.com' is not in the node's "
        "allowed_hosts (docs.example.com, *.cdn.example.com)"
    )


@pytest.mark.parametrize("bad", ["https://example.com", "example.com/path", "*", "a b"])
def test_an_allowed_host_must_be_a_host_name(bad: str) -> None:
    with pytest.raises(ValueError, match="is not a host name: write a name or address"):
        WebAgentConfig.model_validate({"model": {"name": "m"}, "allowed_hosts": [bad]})
    config = WebAgentConfig.model_validate({"model": {"name": "m"}, "allowed_hosts": ["A.org."]})
    assert config.allowed_hosts == ["a.org"]


@pytest.mark.anyio
async def test_the_browser_cannot_be_sent_to_private_hosts(
    tmp_path: Path, mock_server: MockServer, site: str, browser: str
) -> None:
    """The model's `goto` to another name for this machine fails its step with the reason,
    and so does a page whose script sends the browser to the metadata address: the browser
    refuses the request, so nothing is fetched. With `allow_private_hosts`, the same goto
    opens the page."""
    port = urllib.parse.urlsplit(site).port
    local = f"http://localhost:{port}/plain?from=goto"
    jump = f"{site}/jump?" + urllib.parse.urlencode({"to": METADATA})
    rows = [
        {"id": "goto", "goal": "read", "url": say(site, goto(local))},
        {"id": "script", "goal": "read", "url": say(site, goto(jump))},
    ]
    result = await run_web(tmp_path, mock_server, rows, max_steps=1)
    assert result.done == 2, failures(result)
    records = by_id(result)
    assert records["goto"]["trajectory"][0]["error"] == (
        f"cannot open {local!r}: host 'localhost' is a local or private-network address "
        "(set allow_private_hosts: true on the node to let the agent open it)"
    )
    assert records["script"]["trajectory"][0]["error"] == (
        f"cannot open {METADATA!r}: host '169.254.169.254' is a local or private-network "
        "address (set allow_private_hosts: true on the node to let the agent open it)"
    )
    assert "/plain?from=goto" not in Handler.served

    allowed = await run_web(tmp_path, mock_server, rows[:1], max_steps=1, allow_private_hosts=True)
    step = by_id(allowed)["goto"]["trajectory"][0]
    assert step["ok"] is True, step
    assert "/plain?from=goto" in Handler.served


@pytest.mark.anyio
async def test_a_start_page_outside_allowed_hosts_fails_its_record(
    tmp_path: Path, mock_server: MockServer, site: str, browser: str
) -> None:
    rows = [{"id": "out", "goal": "read", "url": f"{site}/plain"}]
    result = await run_web(tmp_path, mock_server, rows, allowed_hosts=["example.com"])
    assert result.done == 0
    (failure,) = failures(result)
    assert failure["reason"] == (
        f"record 'out', node 'web': the start page: cannot open '{site}/plain': host "
        "'127.0.0.1' is not in the node's allowed_hosts (example.com)"
    )
    assert json.dumps(failure).count("example.com") == 1
