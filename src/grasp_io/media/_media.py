"""One piece of media: its bytes and MIME type, and the encodings prompts send."""

from __future__ import annotations

import base64
import binascii
import io
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote_to_bytes

from grasp_core.errors import RecordError

__all__ = ["AUDIO_FORMATS", "Media", "MediaKind", "normalize_mime"]

MediaKind = Literal["image", "audio"]

AUDIO_FORMATS: dict[str, str] = {"audio/wav": "wav", "audio/mpeg": "mp3"}
"""MIME type → the ``format`` of an OpenAI ``input_audio`` part (the only two it takes)."""

_DATA_URL = re.compile(r"data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(?:;[^,;]*)*),", re.ASCII)
_MIME_ALIASES = {
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/vnd.wave": "audio/wav",
    "audio/mp3": "audio/mpeg",
    "audio/x-flac": "audio/flac",
    "image/jpg": "image/jpeg",
}


def normalize_mime(mime: str) -> str:
    """``mime`` lowercased, with common aliases mapped to one name (``audio/x-wav`` → wav)."""
    mime = mime.strip().lower()
    return _MIME_ALIASES.get(mime, mime)


@dataclass(frozen=True, slots=True)
class Media:
    """Encoded media ready for a prompt: ``data`` in the format ``mime`` names."""

    data: bytes
    mime: str

    @property
    def kind(self) -> str:
        """The MIME type's top level: ``image``, ``audio``..."""
        return self.mime.split("/", 1)[0]

    def base64(self) -> str:
        """The bytes in standard base64 (what ``input_audio.data`` carries)."""
        return base64.b64encode(self.data).decode("ascii")

    def data_url(self) -> str:
        """A ``data:<mime>;base64,...`` URL (what ``image_url.url`` carries)."""
        return f"data:{self.mime};base64,{self.base64()}"

    def as_wav(self) -> Media:
        """This audio as WAV (decoded and re-encoded with soundfile); WAV is returned as is."""
        if self.mime == "audio/wav":
            return self
        import soundfile

        try:
            samples, rate = soundfile.read(io.BytesIO(self.data), always_2d=True)
            out = io.BytesIO()
            soundfile.write(out, samples, rate, format="WAV", subtype="PCM_16")
        except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
            raise RecordError(f"cannot convert {self.mime} audio to WAV ({exc})") from None
        return Media(out.getvalue(), "audio/wav")

    @classmethod
    def from_data_url(cls, url: str) -> Media:
        """Decode a ``data:`` URL (base64 or percent-encoded); raise ``RecordError`` if bad."""
        match = _DATA_URL.match(url)
        if match is None or not match.group("mime"):
            raise RecordError(
                f"malformed data URL {url[:40]!r}...; write data:<mime type>;base64,<data>"
            )
        payload = url[match.end() :]
        params = [p.strip().lower() for p in match.group("params").split(";") if p.strip()]
        try:
            if "base64" in params:
                data = base64.b64decode(payload, validate=True)
            else:
                data = unquote_to_bytes(payload)
        except (binascii.Error, ValueError) as exc:
            raise RecordError(f"data URL {url[:40]!r}... has bad base64 ({exc})") from None
        return cls(data, normalize_mime(match.group("mime")))
