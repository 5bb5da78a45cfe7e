"""Small media files and a loopback HTTP server for the multimodal tests."""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy
import soundfile
from PIL import Image


def png_bytes(color: tuple[int, int, int] = (200, 30, 30), size: int = 8) -> bytes:
    """A tiny solid-colour PNG."""
    out = io.BytesIO()
    Image.new("RGB", (size, size), color).save(out, format="PNG")
    return out.getvalue()


def bomb_png(side: int = 40_000) -> bytes:
    """A 45-byte PNG whose header claims ``side`` x ``side`` pixels (no pixel data): what a
    decompression bomb looks like to Pillow before it decodes anything."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 40)).save(out, format="JPEG")
    return out.getvalue()


def tone(hz: float = 440.0, seconds: float = 0.1, rate: int = 8000) -> numpy.ndarray:
    """A sine tone as float32 samples."""
    t = numpy.arange(int(seconds * rate)) / rate
    return (0.3 * numpy.sin(2 * numpy.pi * hz * t)).astype(numpy.float32)


def audio_bytes(fmt: str = "WAV", hz: float = 440.0) -> bytes:
    """A short tone encoded as WAV or FLAC."""
    out = io.BytesIO()
    subtype = "PCM_16"
    soundfile.write(out, tone(hz), 8000, format=fmt, subtype=subtype)
    return out.getvalue()


class MediaHttpServer:
    """Serves ``routes`` (path → bytes) on loopback and counts requests per path.

    ``/slow/...`` waits ``slow_seconds`` before answering, or, while ``gate`` is an event,
    until it is set (at most 60 s), so a test decides when; ``/stream/N`` streams N bytes
    without a Content-Length; ``/redirect-ftp`` redirects to an ``ftp:`` URL.
    """

    def __init__(self, routes: dict[str, bytes], *, slow_seconds: float = 2.0) -> None:
        self.routes = routes
        self.slow_seconds = slow_seconds
        self.hits: Counter[str] = Counter()
        self.gate: threading.Event | None = None
        self.url = ""

    @contextmanager
    def running(self) -> Iterator[MediaHttpServer]:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                del format, args

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                owner.hits[path] += 1
                if path.startswith("/slow/"):
                    gate = owner.gate
                    if gate is not None:
                        gate.wait(60)
                    else:
                        time.sleep(owner.slow_seconds)
                    path = path.removeprefix("/slow")
                if path == "/redirect-ftp":
                    self.send_response(302)
                    self.send_header("Location", "ftp://127.0.0.1/secret.png")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if path.startswith("/stream/"):
                    self._stream(int(path.rsplit("/", 1)[1]))
                    return
                body = owner.routes.get(path)
                if body is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _stream(self, size: int) -> None:
                self.send_response(200)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"\0" * 4096
                sent = 0
                try:
                    while sent < size:
                        piece = chunk[: min(len(chunk), size - sent)]
                        self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                        sent += len(piece)
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
