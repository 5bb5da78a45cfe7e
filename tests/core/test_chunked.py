"""The chunked-body decoder the mock server and the fast lane's client share: a body whole
only once its last chunk and trailers are in, where the message ends, chunk extensions
ignored, and a malformed or oversized body refused."""

from __future__ import annotations

import pytest

from grasp_core._chunked import ChunkedBodyTooLargeError, MalformedChunkError, decode_chunked

MESSAGE = b"HEAD" + b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nX-Trailer: 1\r\n\r\nNEXT"


def test_a_whole_body_and_where_its_message_ends() -> None:
    assert decode_chunked(bytearray(MESSAGE), 4) == (b"Wikipedia", len(MESSAGE) - 4)


@pytest.mark.parametrize("cut", [5, 12, 20, 30, len(MESSAGE) - 6])
def test_a_body_cut_short_is_not_whole_yet(cut: int) -> None:
    assert decode_chunked(MESSAGE[:cut], 4) is None


def test_a_malformed_size_and_a_body_over_the_limit_are_refused() -> None:
    with pytest.raises(MalformedChunkError, match="malformed chunk size b'zz'"):
        decode_chunked(b"zz\r\nab\r\n0\r\n\r\n", 0)
    with pytest.raises(ChunkedBodyTooLargeError):
        decode_chunked(b"4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n", 0, limit=8)
    assert decode_chunked(b"4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n", 0, limit=9) is not None
