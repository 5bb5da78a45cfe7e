"""Media endpoints: image generation and editing, text-to-speech and transcription.

Every answer is real, decodable media derived only from the request, so tests can check
bytes end to end:

- ``POST /v1/images/generations`` (JSON) and ``POST /v1/images/edits`` (multipart: one or
  several ``image`` / ``image[]`` files, an optional ``mask``) answer ``n`` PNGs of the
  asked ``size`` (``WxH``; ``auto`` and unknown sizes are 64x64, sides capped at 1024) as
  ``b64_json``. The PNG is an 8x8 grid of colours drawn from a hash of the model, prompt,
  size, image index and (for edits) the input images' bytes (see :mod:`._png`: about a
  millisecond to draw, padded to the weight of a real picture).
- ``POST /v1/audio/speech`` (JSON) answers a 16 kHz mono 16-bit WAV: one tone per
  character of ``input`` lasting ``0.04 / speed`` seconds, and the text itself in a
  ``gtxt`` RIFF chunk after the samples (readers skip unknown chunks). ``response_format``
  ``wav``, ``pcm`` (the bare samples) or ``mp3`` (OpenAI's default: silent MPEG frames of
  the same length with the text in an ID3 tag, :mod:`._mp3`); others answer 400.
- ``POST /v1/audio/transcriptions`` (multipart ``file``) reads the ``gtxt`` chunk back, so
  speech → transcription round-trips exactly; other audio is transcribed as a fixed
  sentence naming the upload's size and sha256 prefix. ``response_format`` ``json``
  (default), ``text`` or ``verbose_json``.

- A chat request whose ``modalities`` hold ``audio`` (gpt-4o-audio) is answered with the
  reply spoken (:func:`spoken_reply`): ``message.audio`` holds a :func:`speech_wav` of the
  reply in base64 with the reply as its ``transcript``, and ``content`` is null, as OpenAI
  answers; ``audio.format`` ``wav`` or ``mp3`` (others answer 400), not streamed.
- Azure's spellings of the four routes, ``/openai/deployments/{deployment}/images/generations``
  (and ``images/edits``, ``audio/speech``, ``audio/transcriptions``), answer the same, with
  the deployment as the model, as Azure does (see :func:`media_path`).

Markers in the prompt (or the speech input) inject faults and latency as in chat;
``[[mock:content_policy]]`` answers OpenAI's content-policy 400
(``code: content_policy_violation``). Markers are removed before the media is derived.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import math
import re
import struct
from dataclasses import dataclass
from typing import Any, Final, Literal, NamedTuple

from grasp_core.mock_server._dialects import error_response, json_response
from grasp_core.mock_server._http import Request, Response
from grasp_core.mock_server._mp3 import mp3_duration, mp3_text, speech_mp3
from grasp_core.mock_server._multipart import FormPart, parse_form
from grasp_core.mock_server._png import grid_png, png_bytes
from grasp_core.mock_server._replies import RequestError, strip_markers

__all__ = [
    "MEDIA_PATHS",
    "MediaPath",
    "MediaRequest",
    "MediaRoute",
    "decode_speech",
    "media_path",
    "media_response",
    "png_bytes",
    "read_media_request",
    "speech_wav",
    "spoken_reply",
]

MediaRoute = Literal["generate", "edit", "speech", "transcribe"]
MEDIA_PATHS: Final[dict[str, MediaRoute]] = {
    "/v1/images/generations": "generate",
    "/images/generations": "generate",
    "/v1/images/edits": "edit",
    "/images/edits": "edit",
    "/v1/audio/speech": "speech",
    "/audio/speech": "speech",
    "/v1/audio/transcriptions": "transcribe",
    "/audio/transcriptions": "transcribe",
}
_AZURE_MEDIA_PATH: Final = re.compile(r"/openai/deployments/([^/]+)(/(?:images|audio)/\w+)")
CONTENT_POLICY: Final = "[[mock:content_policy]]"
MAX_SIDE: Final = 1024
MAX_IMAGES: Final = 10
SAMPLE_RATE: Final = 16_000
_TEXT_CHUNK: Final = b"gtxt"
_SECONDS_PER_CHAR: Final = 0.04
_SIZE: Final = re.compile(r"(\d{1,5})x(\d{1,5})")


class MediaPath(NamedTuple):
    """Which media route a request path names, and Azure's deployment when it names one."""

    route: MediaRoute
    deployment: str | None = None


def media_path(path: str) -> MediaPath | None:
    """The media route of ``path`` (OpenAI's ``/v1/images/generations`` or Azure's
    ``/openai/deployments/NAME/images/generations``...), or None for another path."""
    azure = _AZURE_MEDIA_PATH.fullmatch(path)
    route = MEDIA_PATHS.get(azure.group(2) if azure is not None else path)
    if route is None:
        return None
    return MediaPath(route, azure.group(1) if azure is not None else None)


@dataclass(frozen=True, slots=True)
class MediaRequest:
    """The parts of a media request the mock server looks at."""

    route: MediaRoute
    model: str
    text: str
    """The prompt, or the speech input; empty for a transcription."""
    inputs: tuple[bytes, ...] = ()
    """Uploaded images, or the audio file."""
    mask: bytes | None = None
    n: int = 1
    size: tuple[int, int] = (64, 64)
    response_format: str = ""
    speed: float = 1.0

    @property
    def texts(self) -> list[str]:
        """What markers are read from (the content-policy marker left out)."""
        return [self.text.replace(CONTENT_POLICY, "")]

    def key_material(self) -> list[Any]:
        """What identifies "the same request" for count markers."""
        return [
            self.route,
            self.text,
            self.n,
            list(self.size),
            self.response_format,
            *_digests(self),
        ]


def read_media_request(where: MediaPath, request: Request) -> MediaRequest:
    """Parse a media request; :class:`RequestError` (a 400) says what is wrong. Azure's
    deployment, when the path names one, is the model."""
    route = where.route
    if route in ("generate", "speech"):
        fields = _json_fields(request.body)
        files: list[FormPart] = []
    else:
        parts = parse_form(request.headers.get("content-type", ""), request.body)
        fields = {part.name: part.text() for part in parts if part.filename is None}
        files = [part for part in parts if part.filename is not None]
    model = where.deployment or fields.get("model")
    if not isinstance(model, str) or not model:
        raise RequestError("'model' is required")
    if route == "transcribe":
        audio = [part.data for part in files if part.name == "file"]
        if len(audio) != 1 or not audio[0]:
            raise RequestError("send the audio as one non-empty multipart file named 'file'")
        return MediaRequest(route, model, "", (audio[0],), response_format=_format(fields, "json"))
    text = fields.get("input" if route == "speech" else "prompt")
    if not isinstance(text, str) or not text.strip():
        name = "input" if route == "speech" else "prompt"
        raise RequestError(f"'{name}' is required: a non-empty string")
    if route == "speech":
        speed = fields.get("speed", 1.0)
        if isinstance(speed, str):
            speed = _number(speed, "speed")
        if isinstance(speed, bool) or not isinstance(speed, int | float) or not 0.25 <= speed <= 4:
            raise RequestError(f"'speed' must be a number from 0.25 to 4, got {speed!r}")
        return MediaRequest(
            route, model, text, response_format=_format(fields, "mp3"), speed=float(speed)
        )
    inputs: tuple[bytes, ...] = ()
    masks: list[bytes] = []
    if route == "edit":
        images = [part.data for part in files if part.name in ("image", "image[]")]
        if not images:
            raise RequestError("send at least one image as a multipart file named 'image[]'")
        inputs = tuple(images)
        masks = [part.data for part in files if part.name == "mask"]
        if len(masks) > 1:
            raise RequestError("send at most one 'mask' file")
    n = fields.get("n", 1)
    n = _number(n, "n") if isinstance(n, str) else n
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_IMAGES:
        raise RequestError(f"'n' must be an integer from 1 to {MAX_IMAGES}, got {n!r}")
    mask = masks[0] if route == "edit" and masks else None
    return MediaRequest(route, model, text, inputs, mask, n, _size(fields.get("size")))


def media_response(request: MediaRequest, fault: str | None = None) -> Response:
    """The 200 answer (``malformed``: a cut body; ``empty``/``blank``: no media), or the
    content-policy 400 the request's prompt asks for."""
    if CONTENT_POLICY in request.text:
        message = "Your request was rejected as a result of our safety system. [mock]"
        return error_response("openai", 400, message, code="content_policy_violation")
    if fault == "malformed":
        return Response(200, b'{"created": 0, "data": [{"b64_json": "iVBOR')
    empty = fault in ("empty", "blank")
    if request.route == "speech":
        if request.response_format == "mp3":
            mp3 = _speech_mp3(strip_markers(request.text), request.speed)
            return Response(200, b"" if empty else mp3, "audio/mpeg")
        wav = speech_wav(strip_markers(request.text), request.speed)
        if request.response_format == "pcm":
            return Response(200, b"" if empty else _samples_of(wav), "audio/pcm")
        return Response(200, b"" if empty else wav, "audio/wav")
    if request.route == "transcribe":
        text = "" if empty else _transcribe(request.inputs[0])
        if request.response_format == "text":
            return Response(200, text.encode(), "text/plain; charset=utf-8")
        if request.response_format == "verbose_json":
            duration = _duration(request.inputs[0])
            verbose = {"task": "transcribe", "language": "english", "duration": duration}
            return json_response({**verbose, "text": text, "segments": []})
        return json_response({"text": text})
    images = [] if empty else [_image(request, index) for index in range(request.n)]
    data = [{"b64_json": base64.b64encode(png).decode("ascii")} for png in images]
    return json_response({"created": 0, "data": data})


def spoken_reply(body: bytes, response: Response) -> Response:
    """``response`` (a chat completion) with its replies spoken when the request ``body``
    asks for ``modalities`` with ``audio``; other requests and answers are kept."""
    try:
        payload = json.loads(body)
    except ValueError:
        return response
    modalities = payload.get("modalities") if isinstance(payload, dict) else None
    if not isinstance(modalities, list) or "audio" not in modalities:
        return response
    audio = payload.get("audio")
    wanted = audio.get("format", "wav") if isinstance(audio, dict) else "wav"
    if wanted not in ("wav", "mp3"):
        message = f"the mock server speaks wav or mp3, not audio.format {wanted!r}"
        return error_response("openai", 400, message, code="unsupported_value")
    if response.status != 200 or response.chunks is not None:
        return response
    answer = json.loads(response.body)
    for choice in answer.get("choices", []):
        reply = choice.get("message") or {}
        text = reply.get("content")
        if isinstance(text, str):
            spoken = _speech_mp3(text) if wanted == "mp3" else speech_wav(text)
            reply["audio"] = {
                "id": "audio_mock" + hashlib.sha256(spoken).hexdigest()[:16],
                "data": base64.b64encode(spoken).decode("ascii"),
                "expires_at": 0,
                "transcript": text,
            }
            reply["content"] = None
    return json_response(answer)


# --- images -------------------------------------------------------------------------------


def _image(request: MediaRequest, index: int) -> bytes:
    """The PNG for image ``index`` of ``request``: an 8x8 grid of colours from its hash."""
    material = [request.model, strip_markers(request.text), index, list(request.size)]
    material += _digests(request)
    seed = hashlib.sha256(json.dumps(material).encode()).digest()
    return grid_png(seed, *request.size)


def _digests(request: MediaRequest) -> list[str]:
    """The inputs' sha256 digests, the mask's marked as such."""
    digests = [hashlib.sha256(data).hexdigest() for data in request.inputs]
    if request.mask is not None:
        digests.append("mask:" + hashlib.sha256(request.mask).hexdigest())
    return digests


def _size(value: Any) -> tuple[int, int]:
    match = _SIZE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return (64, 64)
    return (min(max(int(match[1]), 1), MAX_SIDE), min(max(int(match[2]), 1), MAX_SIDE))


# --- audio --------------------------------------------------------------------------------


def speech_wav(text: str, speed: float = 1.0) -> bytes:
    """A WAV with one tone per character of ``text`` and ``text`` in a ``gtxt`` chunk."""
    per_char = max(1, round(SAMPLE_RATE * _SECONDS_PER_CHAR / speed))
    samples = b"".join(_tone(ord(char) % 64, per_char) for char in text)
    encoded = text.encode("utf-8")
    fmt = struct.pack("<HHIIHH", 1, 1, SAMPLE_RATE, SAMPLE_RATE * 2, 2, 16)
    chunks = (
        b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"data" + struct.pack("<I", len(samples)) + samples
        + _TEXT_CHUNK + struct.pack("<I", len(encoded)) + encoded + b"\x00" * (len(encoded) % 2)
    )  # fmt: skip
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def _speech_mp3(text: str, speed: float = 1.0) -> bytes:
    """:func:`speech_wav`'s text and length as MP3 (silent frames, the text in a tag)."""
    return speech_mp3(text, len(text) * _SECONDS_PER_CHAR / speed)


@functools.lru_cache(maxsize=256)
def _tone(note: int, samples: int) -> bytes:
    """``samples`` 16-bit samples of the sine wave of ``note`` (one of 64 pitches)."""
    step = 2 * math.pi * (220.0 + note * 25.0) / SAMPLE_RATE
    return struct.pack(f"<{samples}h", *(int(8000 * math.sin(step * i)) for i in range(samples)))


def decode_speech(data: bytes) -> str | None:
    """The text a :func:`speech_wav` (or the mock's MP3) file carries, or None for any
    other bytes."""
    chunks = _riff_chunks(data)
    text = chunks.get(_TEXT_CHUNK)
    return text.decode("utf-8", "replace") if text is not None else mp3_text(data)


def _riff_chunks(data: bytes) -> dict[bytes, bytes]:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return {}
    chunks: dict[bytes, bytes] = {}
    pos = 12
    while pos + 8 <= len(data):
        kind, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        chunks.setdefault(kind, data[pos + 8 : pos + 8 + size])
        pos += 8 + size + size % 2
    return chunks


def _samples_of(wav: bytes) -> bytes:
    return _riff_chunks(wav).get(b"data", b"")


def _duration(data: bytes) -> float:
    chunks = _riff_chunks(data)
    fmt = chunks.get(b"fmt ", b"")
    if len(fmt) < 16 or b"data" not in chunks:
        return mp3_duration(data)
    bytes_per_second = struct.unpack("<I", fmt[8:12])[0]
    return round(len(chunks[b"data"]) / bytes_per_second, 3) if bytes_per_second else 0.0


def _transcribe(data: bytes) -> str:
    text = decode_speech(data)
    if text is not None:
        return text
    digest = hashlib.sha256(data).hexdigest()[:12]
    return f"mock transcription of {len(data)} bytes of audio {digest}"


# --- fields -------------------------------------------------------------------------------


def _json_fields(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(f"request body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RequestError("request body must be a JSON object")
    return data


def _number(text: str, name: str) -> int | float:
    try:
        return int(text) if text.strip().lstrip("-").isdigit() else float(text)
    except ValueError:
        raise RequestError(f"'{name}' must be a number, got {text!r}") from None


def _format(fields: dict[str, Any], default: str) -> str:
    value = fields.get("response_format", default)
    allowed = {
        "json": ("json", "text", "verbose_json"),
        "mp3": ("mp3", "wav", "pcm"),
    }[default]
    if value not in allowed:
        hint = "; the mock makes mp3, wav and pcm only (no encoder for others)"
        hint = hint if default == "mp3" else ""
        raise RequestError(f"'response_format' must be one of {allowed}, got {value!r}{hint}")
    return str(value)
