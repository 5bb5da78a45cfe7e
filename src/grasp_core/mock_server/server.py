"""``MockServer``: a local OpenAI-, Azure- and Ollama-compatible endpoint for tests and benchmarks.

Like ``_http``, this module uses asyncio directly rather than anyio: the server is a raw
:class:`asyncio.Protocol` (for speed) and runs either on its own loop in a background thread
(:meth:`MockServer.running`, usable from any test: sync, asyncio or trio) or on the caller's
asyncio loop (:meth:`MockServer.serve`).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Final

import anyio
from anyio.abc import TaskStatus

from grasp_core.mock_server import _media_out as media
from grasp_core.mock_server._arguments import check_arguments
from grasp_core.mock_server._batches import BATCH_PREFIXES, BatchPlan, BatchService
from grasp_core.mock_server._dialects import (
    AZURE_PATH,
    CHAT_PATHS,
    DEFAULT_MODEL,
    Dialect,
    completion_response,
    error_response,
    json_response,
    malformed_response,
    read_chat_request,
)
from grasp_core.mock_server._embeddings import (
    AZURE_EMBEDDINGS_PATH,
    EMBEDDINGS_PATHS,
    embeddings_response,
    read_embeddings_request,
)
from grasp_core.mock_server._http import DROP, Drop, HttpServer, Request, Response, loopback_address
from grasp_core.mock_server._quirks import Quirks
from grasp_core.mock_server._replies import (
    Directive,
    FaultPlan,
    Latency,
    ReplyMode,
    RequestError,
    complete,
    message_texts,
    parse_markers,
    request_key,
)
from grasp_core.mock_server._request_log import KEEP_REQUESTS, RequestLog
from grasp_core.mock_server._structured import SchemaRequestError, structured_reply, wanted_json
from grasp_core.mock_server._tool_calls import forced_call

__all__ = ["NO_LATENCY", "MockServer"]

NO_LATENCY: Final = Latency.fixed(0.0)
_FAULT_STATUS: Final = {"429": 429, "500": 500, "503": 503}


class MockServer:
    """A deterministic, loopback-only model server with injectable latency and faults.

    Replies echo the last user message (or lorem words), ``[[mock:...]]`` markers in any
    message inject faults or latency, and every model call is logged. The package
    docstring lists the markers.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: Latency = NO_LATENCY,
        reply_mode: ReplyMode = "echo",
        fault_rate: float = 0.0,
        faults: Sequence[str] = ("429", "500"),
        seed: int = 0,
        hang_seconds: float = 30.0,
        retry_after: float = 0.05,
        max_seconds: float = 3600.0,
        keep_alive: float | None = None,
        request_log_path: str | Path | None = None,
        log_bodies: bool = False,
        keep_requests: int = KEEP_REQUESTS,
        like: str = "openai",
        reject_null_content: bool = False,
        reject_json_schema: bool = False,
        raw_newlines: bool = False,
        tools_need_choice: bool = False,
        batches: BatchPlan | None = None,
    ) -> None:
        """``log_bodies`` adds each request's target, headers and JSON body to its log entry
        (for transport-equivalence tests; off by default to keep the server fast);
        ``keep_requests``: the newest entries :meth:`requests` keeps (counters and log file
        count all); ``keep_alive`` closes connections idle that many seconds, as servers do.
        ``like="llamacpp"`` copies llama.cpp's server where it differs from OpenAI; the four
        flags after it switch those behaviours on one at a time (see ``_quirks``);
        ``batches`` sets how the Batch API's batches end (see ``_batches``)."""
        self._quirks = Quirks.like(
            like,
            reject_null_content=reject_null_content,
            reject_json_schema=reject_json_schema,
            raw_newlines=raw_newlines,
            tools_need_choice=tools_need_choice,
        )
        self._host = loopback_address(host)
        check_arguments(
            port=port,
            reply_mode=reply_mode,
            fault_rate=fault_rate,
            faults=faults,
            hang_seconds=hang_seconds,
            retry_after=retry_after,
            max_seconds=max_seconds,
            keep_requests=keep_requests,
        )
        self._requested_port = port
        self._port: int | None = None
        self._latency = latency
        self._reply_mode: ReplyMode = reply_mode
        self._seed, self._hang_seconds, self._keep_alive = seed, hang_seconds, keep_alive
        self._retry_after, self._max_seconds = retry_after, max_seconds
        self._log = RequestLog(
            Path(request_log_path) if request_log_path is not None else None,
            log_bodies=log_bodies,
            keep=keep_requests,
        )
        self._fault_plan = FaultPlan(rate=fault_rate, kinds=faults, seed=seed)
        self._batches = BatchService(batches, self._log)
        self._rng = random.Random(seed)
        # Guards the fault plan, the latency generator and the sequence: the loop thread
        # writes, any thread may reset.
        self._lock = threading.Lock()
        self._sequence = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None

    # --- public API ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (the free port picked when ``port=0``)."""
        if self._port is None:
            raise RuntimeError(
                "the mock server has not started; use `with server.running() as url:` "
                "or `await server.serve()`"
            )
        return self._port

    @property
    def url(self) -> str:
        """Base URL such as ``http://127.0.0.1:8123``; append ``/v1`` for OpenAI clients."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @contextlib.contextmanager
    def running(self) -> Iterator[str]:
        """Serve from a background thread with its own asyncio loop; yields the base URL."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            try:
                asyncio.run(self._serve(lambda _url: ready.set()))
            except BaseException as exc:  # re-raised in the caller's thread below
                failure.append(exc)
            finally:
                ready.set()

        thread = threading.Thread(target=main, name="grasp-mock-server", daemon=True)
        thread.start()
        ready.wait()
        if failure:
            thread.join()
            raise failure[0]
        try:
            yield self.url
        finally:
            self.stop()
            thread.join()
        if failure:
            raise failure[0]

    async def serve(self, *, task_status: TaskStatus[str] = anyio.TASK_STATUS_IGNORED) -> None:
        """Serve on the running asyncio loop until ``max_seconds`` pass or :meth:`stop`.

        Under anyio, ``url = await task_group.start(server.serve)`` returns once the port
        is bound. Trio cannot host an asyncio protocol; use :meth:`running` there.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "MockServer.serve needs a running asyncio loop; under trio use "
                "`with server.running() as url:` instead"
            ) from None
        await self._serve(task_status.started)

    def stop(self) -> None:
        """Ask the server to stop; safe from any thread, a no-op when it is not running."""
        loop, event = self._loop, self._stop_event
        if loop is None or event is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed: the server already stopped
            loop.call_soon_threadsafe(event.set)

    def requests(self) -> list[dict[str, Any]]:
        """A copy of the request log, oldest first: one dict per model call (and per batch
        created: see ``_batches``) with ``path``, ``model``, ``key`` (sha256 of model and
        messages), ``status`` (None when dropped), ``fault`` (kind or None), ``messages``
        and ``received`` (``time.monotonic()`` when read: the gaps between a client's
        tries). A request the server could not read has status 400 and None for the rest."""
        return self._log.entries()

    def stats(self) -> dict[str, Any]:
        """Counters since start or reset: ``requests``, ``by_status`` (``{"200": n, "dropped":
        n}``), ``in_flight``, ``max_in_flight``; the process's ``cpu_seconds`` (a gauge)."""
        return {**self._log.stats(), "cpu_seconds": time.process_time()}

    def reset(self) -> None:
        """Clear the log and counters, reseed, and forget seen requests (count markers re-arm)."""
        self._log.clear()
        with self._lock:
            self._fault_plan.reset()
            self._rng.seed(self._seed)

    # --- lifecycle -------------------------------------------------------------------------

    async def _serve(self, on_started: Callable[[str], object]) -> None:
        if self._loop is not None:
            raise RuntimeError("this mock server is already running; stop it first")
        # Set before binding so that a stop() racing with start-up is not lost.
        self._loop, self._stop_event = asyncio.get_running_loop(), asyncio.Event()
        stop = self._stop_event
        http_server = HttpServer(self._handle, self._keep_alive)
        try:
            self._port = await http_server.start(self._host, self._requested_port)
            self._log.open()
            on_started(self.url)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._max_seconds)
        finally:
            self._loop = self._stop_event = None
            self._log.close()
            await http_server.close()

    # --- requests --------------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response | Drop:
        path, method = request.path, request.method
        dialect = CHAT_PATHS.get(path)
        azure = AZURE_PATH.fullmatch(path)
        if dialect is not None or azure is not None:
            if method != "POST":
                return error_response("openai", 405, f"use POST for {path}", code="bad_method")
            deployment = azure.group(1) if azure is not None else None
            return await self._model_call(request, dialect or "openai", deployment)
        embeddings = AZURE_EMBEDDINGS_PATH.fullmatch(path)
        if path in EMBEDDINGS_PATHS or embeddings is not None:
            if method != "POST":
                return error_response("openai", 405, f"use POST for {path}", code="bad_method")
            deployment = embeddings.group(1) if embeddings is not None else None
            return await self._embeddings_call(request, deployment)
        if path.startswith(BATCH_PREFIXES):
            return await self._batches.handle(request, self._model_call)
        if (media_path := media.media_path(path)) is not None and method == "POST":
            return await self._media_call(request, media_path)
        if method == "GET" and path in ("/v1/models", "/models"):
            model = {"id": DEFAULT_MODEL, "object": "model", "created": 0, "owned_by": "grasp"}
            return json_response({"object": "list", "data": [model]})
        if method == "GET" and path == "/api/tags":
            return json_response({"models": [{"name": DEFAULT_MODEL, "model": DEFAULT_MODEL}]})
        if method == "GET" and path == "/health":
            return json_response({"status": "ok"})
        if method == "GET" and path == "/_mock/stats":
            return json_response(self.stats())
        if method == "POST" and path == "/_mock/reset":
            self.reset()
            return json_response({"status": "reset"})
        return error_response("openai", 404, f"unknown path {method} {path}", code="unknown_url")

    async def _model_call(
        self, request: Request, dialect: Dialect, deployment: str | None
    ) -> Response | Drop:
        try:
            chat = read_chat_request(request.body, dialect, deployment)
            texts = message_texts(chat.messages)
            directive = parse_markers(texts)
            wanted = wanted_json(chat.json, texts, chat.messages)
        except (RequestError, SchemaRequestError) as exc:
            self._log.record(request.path, None, None, 400, None, None)
            return error_response(dialect, 400, str(exc))
        key = request_key(chat.model, chat.messages)
        refused = self._quirks.refusal(chat)
        if refused is not None:
            self._log.record(
                request.path, chat.model, key, refused.status, None, chat.messages, request=request
            )
            return refused
        fault, sequence, ended = await self._fault(
            request, dialect, chat.model, key, directive, chat.messages
        )
        if ended is not None:
            return ended
        if fault == "malformed":
            return malformed_response(chat)
        raw = self._quirks.raw_newlines
        heeded = self._quirks.heeds_tools(chat)
        answer = complete(
            chat.messages,
            texts,
            model=chat.model,
            key=key,
            mode=self._reply_mode,
            max_tokens=chat.max_tokens,
            blank=fault == "blank",
            tools=heeded,
            json_reply=(
                structured_reply(chat.messages, texts, wanted, key, raw=raw)
                if wanted is not None
                else None
            ),
            forced=(
                forced_call(chat.messages, texts, chat.tools or (), chat.tool_choice, key, raw=raw)
                if heeded
                else None
            ),
        )
        answer = self._quirks.dress(answer)
        empty = fault == "empty"
        reply = completion_response(chat, answer, id_=f"chatcmpl-mock{sequence}", empty=empty)
        return media.spoken_reply(request.body, reply)  # gpt-4o-audio: `modalities` audio

    async def _embeddings_call(self, request: Request, deployment: str | None) -> Response | Drop:
        try:
            asked = read_embeddings_request(request.body, deployment)
            directive = parse_markers(asked.inputs)
        except RequestError as exc:
            self._log.record(request.path, None, None, 400, None, None)
            return error_response("openai", 400, str(exc))
        key = request_key(asked.model, asked.inputs)
        fault, _, ended = await self._fault(
            request, "openai", asked.model, key, directive, asked.inputs
        )
        return ended if ended is not None else embeddings_response(asked, fault)

    async def _media_call(self, request: Request, route: media.MediaPath) -> Response | Drop:
        try:
            asked = media.read_media_request(route, request)
            directive = parse_markers(asked.texts)
        except RequestError as exc:
            self._log.record(request.path, None, None, 400, None, None)
            return error_response("openai", 400, str(exc))
        key, model = request_key(asked.model, asked.key_material()), asked.model
        fault, _, ended = await self._fault(request, "openai", model, key, directive, asked.texts)
        return ended if ended is not None else media.media_response(asked, fault)

    async def _fault(
        self,
        request: Request,
        dialect: Dialect,
        model: str,
        key: str,
        directive: Directive,
        messages: list[Any],
    ) -> tuple[str | None, int, Response | Drop | None]:
        """Draw the call's fault and latency, log the call and wait; return the fault, the
        call's sequence number and, for an error status or a dropped connection, the end."""
        with self._lock:
            fault = self._fault_plan.decide(key, directive)
            delay = directive.latency
            if delay is None:
                delay = self._latency.sample(self._rng)
            self._sequence += 1
            sequence = self._sequence
        if fault == "timeout":
            delay += directive.hang if directive.hang is not None else self._hang_seconds
        status = None if fault == "drop" else _FAULT_STATUS.get(fault or "", 200)
        # Logged now rather than when answered, so a request its client gave up on still shows.
        self._log.record(request.path, model, key, status, fault, messages, request=request)
        delay -= request.waited()  # a latency counts from the request's arrival
        if delay > 0:
            await self._log.wait(delay)
        if fault == "drop":
            return fault, sequence, DROP
        if status is not None and status != 200:
            headers: tuple[tuple[str, str], ...] = ()
            if status == 429:
                retry = directive.retry_after
                retry = self._retry_after if retry is None else retry
                headers = (("Retry-After", f"{retry:g}"), ("retry-after-ms", f"{retry * 1000:.0f}"))
            error = error_response(dialect, status, f"mock fault [[mock:{fault}]]", headers=headers)
            return fault, sequence, error
        return fault, sequence, None
