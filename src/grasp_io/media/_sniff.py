"""What a blob of bytes is: Pillow and soundfile read its header (and so prove it decodes)."""

from __future__ import annotations

import io

from grasp_core.errors import RecordError
from grasp_io.media._media import Media, normalize_mime

__all__ = ["sniff"]

_AUDIO_MIME = {
    "WAV": "audio/wav",
    "WAVEX": "audio/wav",
    "FLAC": "audio/flac",
    "OGG": "audio/ogg",
    "MP3": "audio/mpeg",
    "AIFF": "audio/aiff",
}


def sniff(data: bytes, *, what: str) -> Media:
    """``data`` with its MIME type, read from the bytes themselves.

    Images are identified by Pillow, audio by soundfile (libsndfile). Bytes that neither
    can open fail the record, as does an image over Pillow's decompression-bomb limit
    (``Image.MAX_IMAGE_PIXELS``): ``what`` describes where they came from.
    """
    if not data:
        raise RecordError(f"{what} is empty (0 bytes); check the data")
    mime = _image_mime(data, what) or _audio_mime(data)
    if mime is None:
        head = data[:8].hex(" ")
        raise RecordError(
            f"{what} ({len(data)} bytes, starting {head}) is neither an image Pillow can read "
            "nor audio soundfile can read; check the file, or convert it to PNG/JPEG or WAV"
        )
    return Media(data, normalize_mime(mime))


def _image_mime(data: bytes, what: str) -> str | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format
            image.verify()
    except Image.DecompressionBombError as exc:
        raise RecordError(
            f"{what} ({len(data)} bytes) is an image too large to decode safely ({exc}); "
            "a header claiming that many pixels is how a decompression bomb looks. "
            "check the file, or resize it"
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return None
    if image_format is None:
        return None
    return Image.MIME.get(image_format, f"image/{image_format.lower()}")


def _audio_mime(data: bytes) -> str | None:
    import soundfile

    try:
        info = soundfile.info(io.BytesIO(data))
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError):
        return None
    return _AUDIO_MIME.get(info.format, f"audio/{info.format.lower()}")
