"""The mock server as a server: loopback hosts only, HTTP/1.1 connections, stats, starting
and stopping, and the request log another process writes.
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import anyio
import httpx
import pytest

from grasp_core.mock_server import Latency, MockServer
from tests.core.mock_server.helpers import CHAT, chat, user


def test_models_health_stats_and_reset(server: MockServer, client: httpx.Client) -> None:
    """GET /v1/models, /health and /_mock/stats answer; POST /_mock/reset clears counters."""
    assert client.get("/v1/models").json()["data"][0]["id"] == "mock-model"
    assert client.get("/health").json() == {"status": "ok"}
    chat(client, "count me")
    assert client.get("/_mock/stats").json()["by_status"] == {"200": 1}
    assert client.post("/_mock/reset").status_code == 200
    assert server.stats()["requests"] == 0
    assert server.requests() == []


@pytest.mark.anyio
async def test_stats_track_max_in_flight() -> None:
    """Concurrent requests overlap during latency and max_in_flight records the peak."""
    server = MockServer(latency=Latency.fixed(0.3))
    statuses: list[int] = []

    async def call(http_client: httpx.AsyncClient, i: int) -> None:
        response = await http_client.post(CHAT, json={"messages": user(f"parallel {i}")})
        statuses.append(response.status_code)

    with server.running() as url:
        async with httpx.AsyncClient(base_url=url) as http_client, anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(call, http_client, i)
    assert statuses == [200] * 20
    assert server.stats()["max_in_flight"] == 20
    assert server.stats()["in_flight"] == 0


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.com", "::"])
def test_non_loopback_host_is_refused(host: str) -> None:
    """Only 127.0.0.0/8, localhost and ::1 may be bound."""
    with pytest.raises(ValueError, match="loopback only"):
        MockServer(host=host)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.2", "::1"])
def test_loopback_hosts_are_served(host: str) -> None:
    """localhost, any 127.x address and ::1 serve requests."""
    with MockServer(host=host).running() as url:
        assert httpx.get(url + "/health").status_code == 200


def test_chunked_request_body_and_keep_alive(server: MockServer) -> None:
    """Chunked request bodies are read, and one connection serves several requests."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    body = json.dumps({"model": "m", "messages": user("chunked hello")}).encode()
    pieces = iter([body[:10], body[10:]])
    connection.request("POST", CHAT, body=pieces, encode_chunked=True)
    answer = json.loads(connection.getresponse().read())
    assert answer["choices"][0]["message"]["content"] == "chunked hello"
    connection.request("GET", "/health")
    assert connection.getresponse().status == 200
    connection.close()


def test_pipelined_requests_are_answered_in_order(server: MockServer) -> None:
    """Requests sent back to back on one connection are answered in the order sent."""
    bodies = [json.dumps({"model": "m", "messages": user(f"n{i}")}).encode() for i in range(3)]
    raw = b"".join(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%b"
        % (len(body), body)
        for body in bodies
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(raw + b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    assert [received.find(f'"n{i}"'.encode()) for i in range(3)] == sorted(
        received.find(f'"n{i}"'.encode()) for i in range(3)
    )
    assert received.count(b"HTTP/1.1 200 OK") == 4


def test_stop_does_not_wait_for_hanging_requests() -> None:
    """Leaving running() aborts requests still hanging instead of waiting for them."""
    server = MockServer(hang_seconds=30)
    errors: list[Exception] = []
    started = time.perf_counter()
    with server.running() as url:

        def call() -> None:
            try:
                httpx.post(url + CHAT, json={"messages": user("[[mock:timeout]]")}, timeout=10)
            except httpx.HTTPError as exc:
                errors.append(exc)

        caller = threading.Thread(target=call)
        caller.start()
        while server.stats()["in_flight"] == 0:
            time.sleep(0.01)
    caller.join()
    assert time.perf_counter() - started < 20, "the stop waited for the 30 s hang"
    assert len(errors) == 1


def test_max_seconds_stops_the_server() -> None:
    """The server stops by itself after max_seconds."""
    server = MockServer(max_seconds=0.2)
    with server.running() as url:
        time.sleep(0.4)
        with pytest.raises(httpx.ConnectError):
            httpx.get(url + "/health")


@pytest.mark.anyio
async def test_serve_runs_on_the_current_loop() -> None:
    """await server.serve() serves on the caller's loop; task_group.start returns the url."""
    server = MockServer()
    async with anyio.create_task_group() as tg, httpx.AsyncClient() as http_client:
        url = await tg.start(server.serve)
        response = await http_client.post(url + CHAT, json={"messages": user("on my loop")})
        assert response.json()["choices"][0]["message"]["content"] == "on my loop"
        server.stop()


def test_request_log_file_records_what_another_process_saw(tmp_path: Path) -> None:
    """serve_cli prints its url, and request_log_path gets one JSON line per model call."""
    log_path = tmp_path / "requests.jsonl"
    code = (
        "from grasp_core.mock_server import serve_cli; "
        f"serve_cli(port=0, max_seconds=20, request_log_path={str(log_path)!r})"
    )
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("grasp mock server listening on http://127.0.0.1:")
        url = line.split()[-1]
        httpx.post(url + CHAT, json={"model": "m", "messages": user("logged")})
        httpx.post(url + CHAT, json={"model": "m", "messages": user("x [[mock:503]]")})
        entries = [json.loads(line) for line in log_path.read_text().splitlines()]
    finally:
        process.terminate()
        process.wait(timeout=5)
    assert [(entry["status"], entry["fault"]) for entry in entries] == [(200, None), (503, "503")]
    assert entries[0]["messages"] == user("logged")
    assert len(entries[0]["key"]) == 64


def test_the_log_in_memory_keeps_the_newest_entries_and_every_count(tmp_path: Path) -> None:
    """keep_requests bounds what requests() holds (a long benchmark must not grow the mock);
    the counters and the log file still see every call, and 0 keeps none in memory."""
    log_path = tmp_path / "requests.jsonl"
    kept = MockServer(keep_requests=3, request_log_path=log_path)
    none_kept = MockServer(keep_requests=0)
    for server in (kept, none_kept):
        with server.running() as url, httpx.Client(base_url=url) as client:
            for i in range(5):
                chat(client, f"call {i}")
    assert [entry["messages"] for entry in kept.requests()] == [
        user(f"call {i}") for i in (2, 3, 4)
    ]
    assert kept.stats()["requests"] == 5
    assert len(log_path.read_text().splitlines()) == 5
    assert none_kept.requests() == []
    assert none_kept.stats()["by_status"] == {"200": 5}
    # the serving process's CPU time: a benchmark's gauge of the machine's speed
    assert 0 < kept.stats()["cpu_seconds"] <= none_kept.stats()["cpu_seconds"]


def test_keep_requests_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="keep_requests must be >= 0"):
        MockServer(keep_requests=-1)
