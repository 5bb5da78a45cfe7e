"""A run prices its models from a per-user cache of the entries of litellm's table that each
route needs: the prices are exactly those of the whole table, a cached route is priced
without parsing the table, and a changed table, a damaged cache file or a cache folder that
cannot be written never yields a wrong price."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grasp_core.config.models_file import ModelSpec
from grasp_core.models import price_table, pricing
from grasp_core.models.price_table import entries_for, litellm_price_table
from grasp_core.models.pricing import Price, price_of

IMAGE_ROUTES = ["openai/gpt-image-1", "azure/dall-e-3", "openai/dall-e-3", "dall-e-2"]


@pytest.fixture(autouse=True)
def _fresh_table() -> Iterator[None]:
    litellm_price_table.cache_clear()
    yield
    litellm_price_table.cache_clear()


def _routes() -> list[str]:
    """A spread of the table's routes: every 7th key, each media entry, and the same names
    under their provider (``openai/gpt-4o-mini``) and under the wrong one."""
    table = litellm_price_table()
    keys = list(table)
    chosen = set(keys[::7]) | set(IMAGE_ROUTES)
    chosen |= {key for key, entry in table.items() if entry.get("mode") in pricing._MEDIA_MODES}
    for key in keys[::29]:
        provider = table[key].get("litellm_provider")
        if "/" not in key and isinstance(provider, str):
            chosen |= {f"{provider}/{key}", f"not-{provider}/{key}"}
    return sorted(chosen)


def _specs(routes: list[str]) -> list[ModelSpec]:
    """Each route as the price of a model (``price_as``: bare table keys are routes too),
    live and batched."""
    specs = []
    for route in routes:
        entry = {"model": "openai/m", "price_as": route}
        specs.append(ModelSpec.model_validate(entry))
        specs.append(ModelSpec.model_validate({**entry, "batch": True}))
    return specs


def test_cached_prices_are_those_of_the_whole_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """For a spread of routes (token, batch, image, speech and transcription prices), the
    price from the entries the cache picks, written on the first pass and read back on the
    second (without parsing the table), equals the price computed over the whole table."""
    routes = _routes()
    specs = _specs(routes)
    table = litellm_price_table()
    expected = [pricing._price(spec, table) for spec in specs]
    assert sum(price is not None for price in expected) > 200
    assert any(price is not None and price.per_image for price in expected)
    assert any(price is not None and price.per_second for price in expected)
    assert [price_of(spec) for spec in specs[:12]] == expected[:12]
    first = entries_for(routes)  # parses the table, fills the cache
    monkeypatch.setattr(price_table, "litellm_price_table", _no_parse)
    second = entries_for(routes)  # from the cache alone
    for entries in (first, second):
        found = [pricing._price(spec, entries[spec.price_as or ""]) for spec in specs]
        assert found == expected


def _no_parse() -> dict[str, Any]:
    raise AssertionError("the table was parsed")


def test_a_cached_route_is_priced_without_parsing_the_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Once a route is cached, pricing it again (a new run) never parses litellm's table;
    the cache file holds only the entries the routes need."""
    spec = ModelSpec(model="openai/gpt-4o-mini")
    priced = price_of(spec)
    assert priced is not None
    assert priced.source == "litellm"
    monkeypatch.setattr(price_table, "litellm_price_table", _no_parse)
    assert price_of(spec) == priced
    (cache_file,) = (Path(os.environ["XDG_CACHE_HOME"]) / "grasp" / "prices").iterdir()
    assert cache_file.stat().st_size < 20_000


def _small_table(folder: Path, price: float) -> Path:
    path = folder / "table.json"
    entry = {"input_cost_per_token": price, "output_cost_per_token": 2 * price}
    path.write_text(json.dumps({"gpt-x": {**entry, "litellm_provider": "openai"}}))
    return path


def test_a_changed_table_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A table file that changed (another size, another modification time: litellm was
    upgraded) is parsed again: the cached entries of the old one are not used."""
    path = _small_table(tmp_path, 1e-6)
    monkeypatch.setattr(price_table, "table_path", lambda: path)
    spec = ModelSpec(model="openai/gpt-x")
    assert price_of(spec) == Price(1e-6, 2e-6, "litellm")
    _small_table(tmp_path, 3.5e-6)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    litellm_price_table.cache_clear()
    assert price_of(spec) == Price(3.5e-6, 7e-6, "litellm")


def test_a_damaged_or_unwritable_cache_never_changes_a_price(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cache file that is not valid JSON is ignored (and replaced); a cache folder that
    cannot be created is skipped: prices are still those of the table."""
    spec = ModelSpec(model="openai/gpt-4o-mini")
    expected = pricing._price(spec, litellm_price_table())
    assert expected is not None
    assert price_of(spec) == expected
    (cache_file,) = (Path(os.environ["XDG_CACHE_HOME"]) / "grasp" / "prices").iterdir()
    cache_file.write_text('{"stamp": [1, ')
    assert price_of(spec) == expected
    assert json.loads(cache_file.read_text())["routes"]["openai/gpt-4o-mini"]
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    litellm_price_table.cache_clear()
    assert entries_for(["openai/gpt-4o-mini"])["openai/gpt-4o-mini"]
    assert price_of(spec) == expected
