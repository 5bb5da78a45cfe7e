"""HTTP/1.1 chunked bodies, decoded from a connection's buffer as bytes arrive: one decoder
for the mock server's requests and the fast lane's own client's responses."""

from __future__ import annotations

__all__ = ["ChunkedBodyTooLargeError", "MalformedChunkError", "decode_chunked"]


class MalformedChunkError(ValueError):
    """A chunk size line that is not a hexadecimal number."""


class ChunkedBodyTooLargeError(ValueError):
    """The chunks add up to more than the reader accepts."""


def decode_chunked(
    buffer: bytes | bytearray, start: int, *, limit: int | None = None
) -> tuple[bytes, int] | None:
    """The chunked body that starts at ``start`` and where its message ends (after the
    trailers' blank line); None until its last chunk and trailers are in. Raises
    :class:`MalformedChunkError`, or :class:`ChunkedBodyTooLargeError` past ``limit`` bytes."""
    body = bytearray()
    pos = start
    while True:
        line_end = buffer.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size_text = bytes(buffer[pos:line_end]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise MalformedChunkError(f"malformed chunk size {size_text[:40]!r}") from None
        pos = line_end + 2
        if size == 0:
            break
        if limit is not None and len(body) + size > limit:
            raise ChunkedBodyTooLargeError(f"a chunked body of more than {limit} bytes")
        if len(buffer) < pos + size + 2:
            return None
        body += buffer[pos : pos + size]
        pos += size + 2
    while True:  # trailer lines, up to the blank line that ends the message
        line_end = buffer.find(b"\r\n", pos)
        if line_end < 0:
            return None
        if line_end == pos:
            return bytes(body), pos + 2
        pos = line_end + 2
