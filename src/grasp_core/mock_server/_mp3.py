"""MP3 audio from the mock server: silent MPEG-1 Layer III frames that carry their text.

The mock needs no MP3 encoder. A Layer III frame whose side information is all zeros holds
no Huffman data, so a decoder (libsndfile's mpg123, ffmpeg, a browser) plays it as silence
of the frame's length. Each frame here is 96 bytes: MPEG-1 Layer III, 32 kbit/s, 48 kHz,
mono, no CRC, no padding; 1,152 samples, 24 ms. The text the audio speaks rides in front in
an ID3v2.4 tag (a ``TXXX`` frame described ``grasp-transcript``, which players ignore) so a
transcription of the file reads it back, as it does from the mock's WAV.
"""

from __future__ import annotations

import math
from typing import Final

__all__ = ["FRAME_SECONDS", "mp3_duration", "mp3_text", "speech_mp3"]

_HEADER: Final = bytes((0xFF, 0xFB, 0x14, 0xC0))
"""Sync, MPEG-1, Layer III, no CRC; 32 kbit/s, 48 kHz, no padding; mono."""
_FRAME: Final = _HEADER + bytes(96 - len(_HEADER))
FRAME_SECONDS: Final = 1152 / 48_000
_DESCRIPTION: Final = b"grasp-transcript"


def speech_mp3(text: str, seconds: float) -> bytes:
    """An MP3 of at least ``seconds`` of silence (one frame at least), carrying ``text``."""
    frames = max(1, math.ceil(seconds / FRAME_SECONDS))
    payload = b"\x03" + _DESCRIPTION + b"\x00" + text.encode("utf-8")  # 3: UTF-8
    frame = b"TXXX" + _syncsafe(len(payload)) + b"\x00\x00" + payload
    return b"ID3\x04\x00\x00" + _syncsafe(len(frame)) + frame + _FRAME * frames


def mp3_text(data: bytes) -> str | None:
    """The text a :func:`speech_mp3` file carries, or None for any other bytes."""
    tag = _tag(data)
    if tag is None:
        return None
    pos = 0
    while pos + 10 <= len(tag):
        kind, size = tag[pos : pos + 4], _unsyncsafe(tag[pos + 4 : pos + 8])
        body = tag[pos + 10 : pos + 10 + size]
        if kind == b"TXXX" and body[:1] == b"\x03":
            description, _, value = body[1:].partition(b"\x00")
            if description == _DESCRIPTION:
                return value.decode("utf-8", "replace")
        if size == 0:
            return None
        pos += 10 + size
    return None


def mp3_duration(data: bytes) -> float:
    """Seconds of audio in a :func:`speech_mp3` file (0.0 for other bytes)."""
    tag = _tag(data)
    if tag is None:
        return 0.0
    frames = data[10 + len(tag) :]
    return round(len(frames) // len(_FRAME) * FRAME_SECONDS, 3)


def _tag(data: bytes) -> bytes | None:
    if len(data) < 10 or data[:3] != b"ID3":
        return None
    return data[10 : 10 + _unsyncsafe(data[6:10])]


def _syncsafe(value: int) -> bytes:
    return bytes((value >> shift) & 0x7F for shift in (21, 14, 7, 0))


def _unsyncsafe(data: bytes) -> int:
    return sum((byte & 0x7F) << shift for byte, shift in zip(data, (21, 14, 7, 0), strict=False))
