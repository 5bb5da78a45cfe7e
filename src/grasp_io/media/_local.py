"""Media held in the record or on local disk, encoded to bytes (blocking: run in a thread)."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import grasp_core
from grasp_core.errors import RecordError
from grasp_io.media._media import Media
from grasp_io.media._sniff import sniff

__all__ = [
    "check_size",
    "describe",
    "encode_audio_array",
    "encode_image",
    "read_path",
    "sniff_bytes",
]

_KEPT_IMAGE_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


def describe(value: Any) -> str:
    """A short description of a media value for error messages (never its bytes)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return f"bytes value ({len(value)} bytes)"
    if isinstance(value, Mapping):
        return f"dict with keys {sorted(map(str, value))!r}"
    if isinstance(value, str):
        return f"{value[:80]!r}" + ("..." if len(value) > 80 else "")
    return f"{type(value).__module__}.{type(value).__qualname__} value"


def check_size(size: int, max_bytes: int, what: str) -> None:
    if size > max_bytes:
        raise RecordError(
            f"{what} is {size} bytes, over the media limit of {max_bytes} bytes; "
            "raise the node's media.max_bytes or use a smaller file"
        )


def sniff_bytes(data: bytes, *, max_bytes: int, what: str) -> Media:
    check_size(len(data), max_bytes, what)
    return sniff(data, what=what)


def read_path(text: str, base_dir: Path, *, max_bytes: int) -> Media:
    """The regular file at ``text`` (relative paths from the task folder), type sniffed from
    its bytes. At most ``max_bytes + 1`` bytes are read, so a file that grows, or a device
    such as ``/dev/zero`` named by a record, cannot fill memory."""
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    what = f"media file {str(path)!r}"
    # with GRASP_DATA_ROOT set (GraSP Studio), the real file inside it is opened, or none
    path = grasp_core.confine_data_path(path, "media file", error=RecordError)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer (no effect on regular files).
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(descriptor, "rb") as handle:
            info = os.fstat(descriptor)
            if stat.S_ISDIR(info.st_mode):
                raise IsADirectoryError
            if not stat.S_ISREG(info.st_mode):
                raise RecordError(
                    f"{what} is not a regular file (a device, pipe or socket); name a file"
                )
            check_size(info.st_size, max_bytes, what)
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise RecordError(
            f"{what} does not exist (relative paths start at the task folder {str(base_dir)!r}); "
            "check the path in the record"
        ) from None
    except IsADirectoryError:
        raise RecordError(f"{what} is a directory; name a file") from None
    except OSError as exc:
        raise RecordError(f"{what} cannot be read ({exc.strerror or exc})") from None
    check_size(len(data), max_bytes, what)
    return sniff(data, what=what)


def encode_image(image: Any, *, max_bytes: int) -> Media:
    """A Pillow image as bytes: PNG, JPEG and WebP images keep their format, others are PNG."""
    from PIL import Image

    if not isinstance(image, Image.Image):
        raise RecordError(f"cannot send a {describe(image)} as an image")
    out = io.BytesIO()
    image_format = image.format if image.format in _KEPT_IMAGE_FORMATS else "PNG"
    try:
        try:
            image.save(out, format=image_format)
        except OSError:  # e.g. an RGBA image loaded from JPEG
            out, image_format = io.BytesIO(), "PNG"
            image.save(out, format=image_format)
    except (OSError, ValueError) as exc:
        raise RecordError(f"cannot encode a {image.mode} Pillow image ({exc})") from None
    data = out.getvalue()
    check_size(len(data), max_bytes, "the encoded image")
    return Media(data, _KEPT_IMAGE_FORMATS.get(image_format, "image/png"))


def encode_audio_array(value: Mapping[str, Any], *, max_bytes: int) -> Media:
    """Decoded audio (``{"array": samples, "sampling_rate": hz}``) as 16-bit PCM WAV."""
    import numpy
    import soundfile

    rate = value.get("sampling_rate")
    if isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0:
        raise RecordError(
            f"decoded audio needs a positive `sampling_rate`, got {rate!r}; "
            "give {array: [...], sampling_rate: 16000}"
        )
    try:
        samples = numpy.asarray(value["array"], dtype=numpy.float32)
        if samples.ndim not in (1, 2) or samples.size == 0:
            raise ValueError(f"expected a non-empty 1-D or 2-D array, got shape {samples.shape}")
        out = io.BytesIO()
        soundfile.write(out, samples, int(rate), format="WAV", subtype="PCM_16")
    except (soundfile.LibsndfileError, TypeError, ValueError, RuntimeError) as exc:
        raise RecordError(f"cannot encode decoded audio as WAV ({exc})") from None
    data = out.getvalue()
    check_size(len(data), max_bytes, "the encoded audio")
    return Media(data, "audio/wav")
