"""Media models' prices: litellm's per-image entries by quality and size (or per pixel),
per character spoken, per audio second; a models-file `cost:` overrides them."""

from __future__ import annotations

import pytest

from grasp_core.config.models_file import ModelCost, ModelSpec
from grasp_core.errors import ConfigError
from grasp_core.models.pricing import price_of


def test_images_are_priced_by_quality_and_size_from_litellm() -> None:
    """gpt-image-1's `low/1024-x-1024` entry prices a low 1024x1024 image; a size litellm
    does not list costs the highest listed price, so a cap never counts it as free."""
    price = price_of(ModelSpec(model="openai/gpt-image-1"))
    assert price is not None
    assert price.source == "litellm"
    assert price.media_cost(images=2, size="1024x1024", quality="low") == pytest.approx(0.022)
    highest = max(price.per_image.values())
    assert price.media_cost(images=1, size="256x256", quality="low") == highest


def test_per_pixel_entries_become_per_image_prices() -> None:
    """azure's dall-e-3 entries are per pixel; an image costs its pixels' price."""
    price = price_of(ModelSpec(model="azure/dall-e-3"))
    assert price is not None
    assert price.image_price("1024x1024", "hd") == pytest.approx(0.088, rel=1e-3)


def test_speech_and_transcription_prices_from_litellm() -> None:
    """tts-1 is priced per character, gpt-4o-mini-tts per second of audio made,
    whisper-1 per second of audio transcribed."""
    tts = price_of(ModelSpec(model="openai/tts-1"))
    mini_tts = price_of(ModelSpec(model="openai/gpt-4o-mini-tts"))
    whisper = price_of(ModelSpec(model="openai/whisper-1"))
    assert tts is not None
    assert mini_tts is not None
    assert whisper is not None
    assert tts.media_cost(characters=1000) == pytest.approx(0.015)
    assert mini_tts.media_cost(seconds=60) == pytest.approx(0.015)
    assert whisper.media_cost(seconds=60) == pytest.approx(0.006)


def test_the_models_file_overrides_media_prices() -> None:
    """`cost: {per_image: ...}` wins over litellm: by `quality/size`, `size`, `quality`,
    then `default`; one number prices every image."""
    by_key = {"high/1024x1024": 0.2, "512x512": 0.05, "low": 0.01, "default": 0.1}
    spec = ModelSpec(model="openai/gpt-image-1", cost=ModelCost(per_image=by_key))
    price = price_of(spec)
    assert price is not None
    assert price.source == "models file"
    assert price.image_price("1024x1024", "high") == 0.2
    assert price.image_price("512x512", "high") == 0.05
    assert price.image_price("2048x2048", "low") == 0.01
    assert price.image_price(None, None) == 0.1
    flat = price_of(ModelSpec(model="openai/tts-1", cost=ModelCost(per_image=0.3)))
    assert flat is not None
    assert flat.media_cost(images=3) == pytest.approx(0.9)


def test_a_cost_block_needs_a_price() -> None:
    """`cost: {}` and negative image prices are refused with what to write."""
    with pytest.raises((ConfigError, ValueError), match="give a price"):
        ModelCost()
    with pytest.raises((ConfigError, ValueError), match="per_image"):
        ModelCost(per_image={"default": -1.0})
