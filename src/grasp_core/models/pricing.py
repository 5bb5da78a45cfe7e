"""What a model's tokens cost: a price from the models file, else litellm's price table.

litellm ships its price table as a JSON file (`model_prices_and_context_window_backup.json`,
the map ``LITELLM_LOCAL_MODEL_COST_MAP=True`` makes litellm use). Importing litellm costs
about two seconds, so the table is read straight from that file (about 30 ms, once per
process), and only when a model has no ``cost:`` override. Nothing is fetched from the
network.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from grasp_core.models.catalog import ModelCatalog, ModelSpec

__all__ = ["Price", "format_dollars", "litellm_price_table", "price_of", "prices_for"]

_TABLE_FILE = "model_prices_and_context_window_backup.json"


@dataclass(frozen=True, slots=True)
class Price:
    """Dollars per token, in and out, and where the numbers came from."""

    input_per_token: float
    output_per_token: float
    source: Literal["models file", "litellm"]

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Dollars for this many tokens."""
        return prompt_tokens * self.input_per_token + completion_tokens * self.output_per_token


def format_dollars(amount: float) -> str:
    """``$1.2345``, or six decimals for amounts under a cent (cheap models' costs)."""
    return f"${amount:.4f}" if amount >= 0.01 or amount == 0 else f"${amount:.6f}"


@functools.cache
def litellm_price_table() -> dict[str, Any]:
    """litellm's bundled price table (``{}`` when litellm is not installed)."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(next(iter(spec.submodule_search_locations))) / _TABLE_FILE
    try:
        table: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return table


def price_of(spec: ModelSpec) -> Price | None:
    """The price of ``spec``: its ``cost:`` override, else litellm's entry for its route
    (``openai/gpt-4o-mini`` is found as ``gpt-4o-mini`` when that entry's provider is
    ``openai``), else ``None`` (unknown)."""
    if spec.cost is not None:
        return Price(
            spec.cost.input_per_million / 1e6, spec.cost.output_per_million / 1e6, "models file"
        )
    table = litellm_price_table()
    route = spec.price_as or spec.model
    entry = table.get(route)
    if entry is None and "/" in route:
        provider, bare = route.split("/", 1)
        candidate = table.get(bare)
        if candidate is not None and candidate.get("litellm_provider") == provider:
            entry = candidate
    if not isinstance(entry, dict):
        return None
    prompt, completion = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
    if not isinstance(prompt, int | float) or not isinstance(completion, int | float):
        return None
    return Price(float(prompt), float(completion), "litellm")


def prices_for(catalog: ModelCatalog, names: Iterable[str]) -> dict[str, Price | None]:
    """The price of each named model (``None`` where neither source knows it)."""
    return {name: price_of(catalog.get(name)) for name in names}
