"""What a model's tokens cost: a price from the models file, else litellm's price table.

litellm ships its price table as a JSON file (the map ``LITELLM_LOCAL_MODEL_COST_MAP=True``
makes litellm use). Importing litellm costs about two seconds, so the entries a route needs
are read straight from that file, or from a per-user cache of them
(:mod:`grasp_core.models.price_table`), and only when a model has no ``cost:`` override.
Nothing is fetched from the network.

Media models are priced per image (by quality and size: litellm's ``high/1024-x-1024/gpt-image-1``
entries), per character spoken (``tts-1``) or per second of audio spoken or transcribed
(``gpt-4o-mini-tts``, ``whisper-1``); :meth:`Price.media_cost` adds those up for one call.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from grasp_core.models.catalog import ModelCatalog, ModelSpec
from grasp_core.models.price_table import entries_for

__all__ = ["Price", "format_dollars", "price_of", "prices_for"]


@dataclass(frozen=True, slots=True)
class Price:
    """Dollars per token, in and out, per image, character and audio second, and where the
    numbers came from."""

    input_per_token: float
    output_per_token: float
    source: Literal["models file", "litellm"]
    per_image: Mapping[str, float] = field(default_factory=dict)
    """Dollars per image by ``quality/size``, ``size``, ``quality`` or ``default`` key."""
    per_character: float = 0.0
    per_second: float = 0.0

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Dollars for this many tokens."""
        return prompt_tokens * self.input_per_token + completion_tokens * self.output_per_token

    def image_price(self, size: str | None, quality: str | None) -> float:
        """Dollars for one image of ``size`` and ``quality``: the most specific key that
        matches, else ``default``, else the highest price listed (so a budget cap never
        counts an unlisted size as free)."""
        keys = [f"{quality}/{size}", size, quality, "default"]
        for key in keys:
            if key is not None and key in self.per_image:
                return self.per_image[key]
        return max(self.per_image.values(), default=0.0)

    def media_cost(
        self,
        *,
        images: int = 0,
        size: str | None = None,
        quality: str | None = None,
        characters: int = 0,
        seconds: float = 0.0,
    ) -> float:
        """Dollars for one media call's images, characters spoken and audio seconds."""
        image = self.image_price(size, quality) * images if images else 0.0
        return math.fsum((image, characters * self.per_character, seconds * self.per_second))

    @property
    def prices_media(self) -> bool:
        """Whether any media price is known."""
        return bool(self.per_image) or self.per_character > 0 or self.per_second > 0


def format_dollars(amount: float) -> str:
    """``$1.2345``, or six decimals for amounts under a cent (cheap models' costs)."""
    return f"${amount:.4f}" if amount >= 0.01 or amount == 0 else f"${amount:.6f}"


def price_of(spec: ModelSpec) -> Price | None:
    """The price of ``spec``: its ``cost:`` override, else litellm's entry for its route
    (``openai/gpt-4o-mini`` is found as ``gpt-4o-mini`` when that entry's provider is
    ``openai``) with its per-image entries, else ``None`` (unknown). A batched entry
    (``batch:``) takes the entry's batch prices when it lists them."""
    route = spec.price_as or spec.model
    return _price(spec, {} if spec.cost is not None else entries_for([route])[route])


def _price(spec: ModelSpec, table: Mapping[str, Any]) -> Price | None:
    """:func:`price_of`, with litellm's entries for the route (``route_entries``)."""
    if spec.cost is not None:
        cost = spec.cost
        per_image = cost.per_image
        return Price(
            cost.input_per_million / 1e6,
            cost.output_per_million / 1e6,
            "models file",
            per_image=per_image if isinstance(per_image, dict) else _one_price(per_image),
            per_character=cost.per_character or 0.0,
            per_second=cost.per_second or 0.0,
        )
    route = spec.price_as or spec.model
    entry, bare = table.get(route), route.split("/", 1)[-1]
    if entry is None and "/" in route:
        candidate = table.get(bare)
        if candidate is not None and candidate.get("litellm_provider") == route.split("/")[0]:
            entry = candidate
    per_image = _image_prices(table, route)
    if not isinstance(entry, dict):  # dall-e-3 has only its per-size entries
        return Price(0.0, 0.0, "litellm", per_image=per_image) if per_image else None
    prompt, completion = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
    if entry.get("mode") in _MEDIA_MODES:
        media = Price(
            _number(prompt),
            _number(completion),
            "litellm",
            per_image=per_image,
            per_character=_number(entry.get("input_cost_per_character")),
            per_second=_number(
                entry.get("output_cost_per_second")
                if entry.get("mode") == "audio_speech"
                else entry.get("input_cost_per_second")
            ),
        )
        return media if media.prices_media else None
    if spec.batch is not None:  # batch prices where the table has them, else live (a cap)
        prompt = entry.get("input_cost_per_token_batches", prompt)
        completion = entry.get("output_cost_per_token_batches", completion)
    if not isinstance(prompt, int | float) or not isinstance(completion, int | float):
        return None
    return Price(float(prompt), float(completion), "litellm")


_MEDIA_MODES = frozenset({"image_generation", "audio_speech", "audio_transcription"})


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _one_price(price: float | None) -> dict[str, float]:
    return {} if price is None else {"default": price}


def _image_prices(table: Mapping[str, Any], route: str) -> dict[str, float]:
    """litellm's per-image prices of ``route`` (``low/1024-x-1024/gpt-image-1``,
    ``azure/hd/1024-x-1024/dall-e-3`` for ``azure/dall-e-3``), keyed ``low/1024x1024``."""
    provider, _, bare = route.rpartition("/")
    found: dict[str, float] = {}
    suffix = "/" + bare
    for key, entry in table.items():
        if not key.endswith(suffix) or not isinstance(entry, dict):
            continue
        head = key[: -len(suffix)]
        if provider and head.startswith(provider + "/"):
            head = head[len(provider) + 1 :]
        if _SIZED.fullmatch(head) is None:  # `aiml/dall-e-3` is another provider's entry
            continue
        price = entry.get("input_cost_per_image", entry.get("output_cost_per_image"))
        per_pixel = entry.get("input_cost_per_pixel")
        if not isinstance(price, int | float) and isinstance(per_pixel, int | float):
            width, height = head.rpartition("/")[2].split("-x-")
            price = per_pixel * int(width) * int(height)
        if isinstance(price, int | float):
            found[head.replace("-x-", "x")] = float(price)
    return found


_SIZED = re.compile(r"(?:[a-z]+/)?\d+-x-\d+")


def prices_for(catalog: ModelCatalog, names: Iterable[str]) -> dict[str, Price | None]:
    """The price of each named model (``None`` where neither source knows it)."""
    specs = {name: catalog.get(name) for name in names}
    routes = {name: spec.price_as or spec.model for name, spec in specs.items()}
    found = entries_for(routes[name] for name, spec in specs.items() if spec.cost is None)
    return {name: _price(spec, found.get(routes[name], {})) for name, spec in specs.items()}
