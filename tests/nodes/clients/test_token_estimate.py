"""The token estimate a `tpm` budget charges before a reply: text by length, media by part."""

from __future__ import annotations

from grasp_nodes.clients.base import _estimate_tokens


def test_text_is_counted_by_characters() -> None:
    messages = [{"role": "user", "content": "x" * 400}]
    assert _estimate_tokens(messages, {"max_tokens": 100}) == 400 // 4 + 1 + 100


def test_an_image_costs_a_fixed_guess_not_its_base64_length() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * 1_000_000}}
    text = {"type": "text", "text": "y" * 40}
    messages = [{"role": "user", "content": [text, image, image]}]
    estimate = _estimate_tokens(messages, {"max_tokens": 10})
    assert estimate == 40 // 4 + 1 + 2 * 800 + 10
