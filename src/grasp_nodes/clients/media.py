"""Media calls of a models-file entry: image generation and editing, speech, transcription.

The transport is chosen as for chat: an ``openai/`` route (not with ``transport:
litellm``, nor under trio) posts over the fast lane (:mod:`.media_lane`, the request
litellm would send); every other route, and a chat reply spoken aloud, goes through
litellm (``aimage_generation``, ``aimage_edit``, ``aspeech``, ``atranscription``; their
sync forms in a worker thread under trio). Either way the call is made under the entry's
backend slot and retried as a chat call is (:func:`call_with_retries`; errors mapped to
the same statuses, so a content-policy refusal, a 400, fails at once). Each call is
counted in the run's metrics as one call of the model, priced by the entry's price
(``grasp_core.models.pricing``: per image by size and quality, per character spoken, per
second of audio), so budget caps count media.

Images come back as bytes (``b64_json`` decoded) or as the URL a provider answered with;
the node fetches URLs and bounds sizes. A response without media is retried.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeVar

import sniffio

from grasp_core.errors import ModelCallError, RetryableModelError
from grasp_core.plugin import Backend, BuildEnv, ModelSpec, RunMetrics
from grasp_nodes.clients.entry import EntryClient
from grasp_nodes.clients.litellm_client import call_litellm, litellm_arguments, load_litellm
from grasp_nodes.clients.media_lane import MediaLane, media_lane_supports
from grasp_nodes.clients.retry import call_with_retries

__all__ = ["CHAT_ONLY_PARAMETERS", "MediaClient", "UploadedMedia", "media_client"]

T = TypeVar("T")

CHAT_ONLY_PARAMETERS: Final = frozenset(
    {
        "temperature",
        "top_p",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "presence_penalty",
        "frequency_penalty",
        "logprobs",
        "top_logprobs",
        "seed",
        "stream",
        "tools",
        "tool_choice",
        "logit_bias",
    }
)
"""Entry parameters a media request leaves out, so one entry may serve chat and media."""
_EXTENSIONS: Final = {"image/jpeg": "jpg", "audio/mpeg": "mp3"}
_SHARED_KEY: Final = "grasp_nodes.clients.media"


class UploadedMedia:
    """Bytes to upload with their MIME type (``grasp_io.media.Media`` fits)."""

    def __init__(self, data: bytes, mime: str) -> None:
        self.data = data
        self.mime = mime

    def file(self, stem: str) -> io.BytesIO:
        """A named file object (the name's extension tells the server the type)."""
        subtype = self.mime.split("/", 1)[-1]
        handle = io.BytesIO(self.data)
        handle.name = f"{stem}.{_EXTENSIONS.get(self.mime, subtype)}"
        return handle


class _MediaClients(dict[str, "MediaClient"]):
    """The run's media clients by model name; closed with the run's shared objects."""

    async def aclose(self) -> None:
        for client in self.values():
            await client.aclose()


def media_client(env: BuildEnv, model_name: str) -> MediaClient:
    """The run's media client for ``model_name`` (checked against the models file now)."""
    clients: _MediaClients = env.shared.setdefault(_SHARED_KEY, _MediaClients())
    client = clients.get(model_name)
    if client is None:
        client = clients[model_name] = MediaClient(
            model_name,
            env.models.get(model_name),
            api_key=env.models.api_key(model_name, env.task_dir),
            backend=env.backends.backend(model_name),
            metrics=env.metrics,
        )
    return client


class MediaClient(EntryClient):
    """Image, speech and transcription requests of one model entry."""

    def __init__(
        self,
        name: str,
        spec: ModelSpec,
        *,
        api_key: str | None,
        backend: Backend,
        metrics: RunMetrics,
    ) -> None:
        super().__init__(name, spec, api_key=api_key, backend=backend, metrics=metrics)
        self._lane = MediaLane(spec, api_key, name) if media_lane_supports(spec) else None

    async def aclose(self) -> None:
        """Release the fast lane's connections."""
        if self._lane is not None:
            await self._lane.aclose()

    @functools.cached_property
    def defaults(self) -> dict[str, Any]:
        """The entry's parameters a media request sends (its chat-only ones left out)."""
        params = self.spec.parameters
        return {k: v for k, v in params.items() if k not in CHAT_ONLY_PARAMETERS}

    def __repr__(self) -> str:
        return f"MediaClient({self.name!r}, route={self.spec.model!r})"

    async def generate_images(self, prompt: str, params: Mapping[str, Any]) -> list[Any]:
        """The images (``{b64_json}`` or ``{url}`` items) made from ``prompt``."""
        response = await self._call(
            "image_generation",
            cost_of=self._image_cost(params),
            prompt=prompt,
            **params,
        )
        return _image_items(response, self.name)

    async def edit_images(
        self,
        prompt: str,
        images: Sequence[UploadedMedia],
        mask: UploadedMedia | None,
        params: Mapping[str, Any],
    ) -> list[Any]:
        """The images ``prompt`` makes of ``images`` (and ``mask``)."""

        def files() -> dict[str, Any]:  # fresh file objects for every try
            sent: dict[str, Any] = {"image": [m.file(f"image{i}") for i, m in enumerate(images)]}
            if mask is not None:
                sent["mask"] = mask.file("mask")
            return sent

        response = await self._call(
            "image_edit",
            files,
            cost_of=self._image_cost(params),
            prompt=prompt,
            **params,
        )
        return _image_items(response, self.name)

    async def speak(self, text: str, params: Mapping[str, Any]) -> bytes:
        """The audio of ``text``."""
        response = await self._call(
            "speech",
            cost_of=lambda made: self._media_cost(
                characters=len(text), seconds=_seconds(getattr(made, "content", made))
            ),
            input=text,
            **params,
        )
        content = getattr(response, "content", response)
        if not isinstance(content, bytes):
            raise RetryableModelError(f"model {self.name!r}: the speech response holds no audio")
        return content

    async def speak_reply(
        self, messages: list[dict[str, Any]], params: Mapping[str, Any]
    ) -> tuple[str, bytes]:
        """A chat model's reply to ``messages`` as text and audio (``modalities`` text and
        audio; WAV in the alloy voice unless ``params`` say otherwise)."""
        sent = {
            **self.spec.parameters,  # a chat call: the entry's chat parameters apply
            "modalities": ["text", "audio"],
            "audio": {"voice": "alloy", "format": "wav"},
            **params,
        }
        response = await self._call("completion", cost_of=lambda _: 0.0, messages=messages, **sent)
        return _spoken_reply(response, self.name)

    async def transcribe(self, audio: UploadedMedia, params: Mapping[str, Any]) -> str:
        """The text of ``audio``."""
        response = await self._call(
            "transcription",
            lambda: {"file": audio.file("audio")},
            cost_of=lambda _: self._media_cost(seconds=_seconds(audio.data)),
            **params,
        )
        text = _field(response, "text")
        if not isinstance(text, str):
            raise RetryableModelError(f"model {self.name!r}: the transcription holds no text")
        return text

    async def _call(
        self,
        operation: str,
        files: Callable[[], dict[str, Any]] | None = None,
        *,
        cost_of: Callable[[Any], float],
        **params: Any,
    ) -> Any:
        """One logical call of litellm's ``operation`` with its retries, counted in the
        metrics with what its answer cost (``cost_of``; a failed call costs nothing)."""
        if self._lane is None or sniffio.current_async_library() != "asyncio":
            await load_litellm()  # before the slot: the import's seconds are no request's
        started = time.perf_counter()
        wire: list[float] = []
        attempt = functools.partial(self._attempt, operation, files, params, wire)
        try:
            result, attempts = await call_with_retries(attempt, max_retries=self.spec.max_retries)
        except ModelCallError as exc:
            self._record_call(started, wire, retries=max(exc.attempts - 1, 0), error=exc.kind)
            raise
        prompt, completion = _usage(result) if operation == "completion" else (0, 0)
        self._record_call(
            started,
            wire,
            retries=attempts - 1,
            error=None,
            prompt_tokens=prompt,
            completion_tokens=completion,
            media_cost_usd=cost_of(result),
        )
        return result

    def _image_cost(self, params: Mapping[str, Any]) -> Callable[[Any], float]:
        """What an image response costs: each image at its size and quality."""
        sent = {**self.defaults, **params}
        return lambda made: self._media_cost(
            images=len(_field(made, "data") or []),
            size=sent.get("size"),
            quality=sent.get("quality"),
        )

    def _media_cost(self, **made: Any) -> float:
        """Dollars for what one call made, by the entry's price (0 when unpriced)."""
        price = self.metrics.prices.get(self.name)
        return price.media_cost(**made) if price is not None else 0.0

    async def _attempt(
        self,
        operation: str,
        files: Callable[[], dict[str, Any]] | None,
        params: dict[str, Any],
        wire: list[float],
    ) -> Any:
        async with self._reported_slot(wire):
            request = {**self.defaults, **params, **(files() if files is not None else {})}
            if self._lane is not None and sniffio.current_async_library() == "asyncio":
                answer = await self._lane.send(operation, request)
                if answer is not None:
                    return answer
            # the entry's route, endpoint and key over any parameter of the same name
            kwargs = {**request, **litellm_arguments(self.spec, self._api_key, {})}
            return await call_litellm(operation, kwargs, model=self.name, seconds=self.spec.timeout)


def _seconds(audio: object) -> float:
    """How long ``audio`` plays (0 when soundfile cannot read it: it is then not priced by
    the second)."""
    if not isinstance(audio, bytes):
        return 0.0
    import soundfile

    try:
        return float(soundfile.info(io.BytesIO(audio)).duration)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError):
        return 0.0


def _usage(response: Any) -> tuple[int, int]:
    """A chat response's prompt and completion tokens (0 where it does not say)."""
    usage = getattr(response, "usage", None)
    prompt = getattr(usage, "prompt_tokens", 0)
    completion = getattr(usage, "completion_tokens", 0)
    return (
        prompt if isinstance(prompt, int) else 0,
        completion if isinstance(completion, int) else 0,
    )


def _spoken_reply(response: Any, name: str) -> tuple[str, bytes]:
    """The text (``content``, else the audio's transcript) and audio of a chat reply."""
    choices = getattr(response, "choices", None) or []
    message = getattr(choices[0], "message", None) if choices else None
    audio = getattr(message, "audio", None)
    encoded = getattr(audio, "data", None)
    if not encoded:
        raise RetryableModelError(f"model {name!r}: the reply holds no audio")
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RetryableModelError(f"model {name!r}: the reply's audio is bad base64") from exc
    text = getattr(message, "content", None) or getattr(audio, "transcript", None) or ""
    return str(text), data


def _image_items(response: Any, name: str) -> list[Any]:
    """``bytes`` for each ``b64_json`` image, the URL string for each ``url`` one."""
    items = _field(response, "data") or []
    out: list[Any] = []
    for item in items:
        encoded = _field(item, "b64_json")
        url = _field(item, "url")
        if encoded:
            try:
                out.append(base64.b64decode(encoded, validate=True))
            except (binascii.Error, ValueError) as exc:
                raise RetryableModelError(f"model {name!r}: an image's b64_json is bad") from exc
        elif url:
            out.append(str(url))
    if not out:
        raise RetryableModelError(f"model {name!r}: the response holds no image")
    return out


def _field(answer: Any, name: str) -> Any:
    """``name`` of a response, whichever transport read it: litellm's objects carry it as
    an attribute, the fast lane's JSON as a key."""
    if isinstance(answer, Mapping):
        return answer.get(name)
    return getattr(answer, name, None)
