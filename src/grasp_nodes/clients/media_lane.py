"""The fast lane of media calls: image generation and editing, speech and transcription for
OpenAI-compatible routes, over one aiohttp session, beside litellm.

The same rule as for chat (:mod:`.fast_lane`): an ``openai/`` route (unless ``transport:
litellm``) posts here, and the request is the one litellm sends: JSON for
``images/generations`` and ``audio/speech``; multipart for ``images/edits`` (each image as
``image[]`` named ``image.png``, or one ``image`` for ``dall-e-2``; the mask as ``mask``
named ``mask.png``; the other parameters as fields) and ``audio/transcriptions`` (the audio
as ``file``; ``response_format: verbose_json`` unless given, for a whisper model, as litellm
asks for the duration). ``tests/nodes/media_out/test_media_lane.py`` records both
transports' requests and compares them. Errors map through :func:`error_for_status`, so
retries and refusals (a content-policy 400) behave as they do over litellm; a parameter
litellm would refuse for a model before sending is sent, and the server answers it.

``hosted_vllm/`` and ``azure/`` media calls stay on litellm, whose requests for them follow
other rules per provider; so does a request this lane would spell differently (a form
parameter that is a list or a mapping: :meth:`MediaLane.send` returns None).
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from grasp_core.errors import RetryableModelError
from grasp_core.plugin import ModelSpec
from grasp_nodes.clients.errors import error_for_status
from grasp_nodes.clients.fast_lane import (
    LaneSession,
    _endpoint,
    _error_message,
    encode_body,
    fast_lane_supports,
    post_request,
)

if TYPE_CHECKING:  # imported when the first media request is sent
    import aiohttp

__all__ = ["LANE_OPERATIONS", "MediaLane", "media_lane_supports"]

LANE_OPERATIONS: Final = {
    "image_generation": "images/generations",
    "image_edit": "images/edits",
    "speech": "audio/speech",
    "transcription": "audio/transcriptions",
}
"""litellm's operation → the OpenAI path this lane posts it to."""
_JSON_OPERATIONS: Final = frozenset({"image_generation", "speech"})
_FILE_NAMES: Final = {"image": "image.png", "mask": "mask.png"}
"""The names litellm gives uploaded images and masks, whatever their type."""


def media_lane_supports(spec: ModelSpec) -> bool:
    """True when ``spec``'s media calls may take the fast lane (an ``openai/`` route that
    the chat fast lane takes too)."""
    return spec.provider == "openai" and fast_lane_supports(spec)


class MediaLane:
    """Media requests of one models-file entry over aiohttp (asyncio only)."""

    def __init__(self, spec: ModelSpec, api_key: str | None, name: str) -> None:
        self.spec = spec
        self.name = name
        self._api_key = api_key
        self._model_id = spec.model.split("/", 1)[1]
        self._session = LaneSession(spec.max_concurrency)

    async def send(self, operation: str, request: Mapping[str, Any]) -> Any | None:
        """``operation``'s answer to ``request`` (litellm's keyword arguments, files as
        named file objects): image items, audio bytes or a transcription's fields. None
        when litellm should carry it (see the module's docstring)."""
        if operation not in LANE_OPERATIONS:
            return None
        url, headers = _endpoint(self.spec, self._api_key, LANE_OPERATIONS[operation])
        body: str | aiohttp.FormData
        if operation in _JSON_OPERATIONS:
            body = encode_body({"model": self._model_id, **request})
        else:
            if operation == "transcription" and "gpt-4o" not in self._model_id:
                request = {"response_format": "verbose_json", **request}
            form = _form(self._model_id, request)
            if form is None:
                return None
            del headers["Content-Type"]  # aiohttp writes it, with the boundary
            body = form
        session = self._session.get()
        status, answer_headers, raw = await post_request(
            session, url, body, headers, model=self.name, seconds=self.spec.timeout
        )
        if status >= 400:
            raise error_for_status(
                status, _error_message(raw), model=self.name, headers=answer_headers
            )
        if operation == "speech":
            return raw
        return self._read(operation, raw, answer_headers.get("Content-Type", ""))

    def _read(self, operation: str, raw: bytes, content_type: str) -> Any:
        """A JSON answer as a mapping (a transcription in plain text as ``{text}``)."""
        if operation == "transcription" and "json" not in content_type:
            return {"text": raw.decode("utf-8", "replace")}
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise RetryableModelError(f"model {self.name!r}: the response is not JSON") from exc

    async def aclose(self) -> None:
        """Release the connections."""
        await self._session.aclose()


def _form(model_id: str, request: Mapping[str, Any]) -> aiohttp.FormData | None:
    """The multipart body litellm sends: ``model``, the parameters, then the files."""
    import aiohttp

    form = aiohttp.FormData(quote_fields=False)
    form.add_field("model", model_id)
    files: list[tuple[str, Any]] = []
    for name, value in request.items():
        if name in ("image", "mask", "file"):
            items = value if isinstance(value, list) else [value]
            files.extend((name, item) for item in items)
        elif value is None:
            continue
        elif isinstance(value, list | tuple | dict):
            return None
        else:
            form.add_field(name, _field_text(value))
    images = (
        "image" if model_id.lower().replace("-", "").replace("_", "") == "dalle2" else "image[]"
    )
    for name, handle in files:
        filename = _FILE_NAMES.get(name, getattr(handle, "name", name))
        content_type = mimetypes.guess_type(getattr(handle, "name", ""))[0]
        form.add_field(
            images if name == "image" else name,
            handle.getvalue(),
            filename=filename,
            content_type=content_type or "application/octet-stream",
        )
    return form


def _field_text(value: Any) -> str:
    """A form field as the OpenAI SDK and httpx write it (``true``, ``1.5``...)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
