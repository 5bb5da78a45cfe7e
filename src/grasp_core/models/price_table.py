"""litellm's price table, read from the JSON file litellm ships, and a per-user cache of the
few entries a run needs.

The table (`model_prices_and_context_window_backup.json`, the map
``LITELLM_LOCAL_MODEL_COST_MAP=True`` makes litellm use) is 3 MB: parsing it costs about
20 ms, every run. A route's price depends only on the entries :func:`entries_for` picks, so
those are kept in ``$XDG_CACHE_HOME/grasp/prices/`` (one file per table file, stamped with
its size, modification time and litellm's version; replaced whole, so a reader never sees
half a file). A route the cache does not hold, or a table that changed, is read from the
table itself. Nothing is fetched from the network.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from grasp_core._cache_files import replace_quietly
from grasp_core.models.cache import default_cache_dir

__all__ = ["entries_for", "litellm_price_table", "table_path"]

_TABLE_FILE = "model_prices_and_context_window_backup.json"
_MAX_ROUTES = 512
"""A cache file holding more routes starts again (it only grows by routes a user prices)."""

Entries = dict[str, Any]
"""Table key → its entry."""


def table_path() -> Path | None:
    """Where litellm's table is (``None`` when litellm is not installed)."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / _TABLE_FILE


@functools.cache
def litellm_price_table() -> Entries:
    """litellm's whole price table (``{}`` when litellm is not installed), parsed once per
    process."""
    path = table_path()
    if path is None:
        return {}
    try:
        table: Entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return table


def route_entries(table: Mapping[str, Any], route: str) -> Entries:
    """The entries of ``table`` that price ``route``: ``route`` itself, its name without the
    provider (``gpt-4o-mini`` for ``openai/gpt-4o-mini``) and every key ending in ``/`` and
    the last part of the name (the per-size image entries, ``hd/1024-x-1024/dall-e-3``)."""
    bare, last = route.split("/", 1)[-1], "/" + route.rpartition("/")[2]
    return {
        key: entry for key, entry in table.items() if key in (route, bare) or key.endswith(last)
    }


def entries_for(routes: Iterable[str]) -> dict[str, Entries]:
    """Each route → :func:`route_entries` of litellm's table, from the cache where it holds
    the route for this very table file, else from the table (and then cached)."""
    wanted = sorted(set(routes))
    path = table_path()
    if path is None or not wanted:
        return {route: {} for route in wanted}
    stamp = _stamp(path)
    cache_file = default_cache_dir().parent / "prices" / f"{_digest(str(path))}.json"
    cached = _read(cache_file, stamp) if stamp is not None else {}
    missing = [route for route in wanted if route not in cached]
    if missing:
        table = litellm_price_table()
        if len(cached) + len(missing) > _MAX_ROUTES:  # start again with this run's routes
            cached = {route: cached[route] for route in wanted if route in cached}
        cached.update({route: route_entries(table, route) for route in missing})
        if stamp is not None and table:
            replace_quietly(cache_file, json.dumps({"stamp": stamp, "routes": cached}))
    return {route: cached[route] for route in wanted}


def _stamp(path: Path) -> list[Any] | None:
    """What identifies the table file's content: its size, modification time and litellm's
    version (``None`` when it cannot be read)."""
    try:
        status = path.stat()
    except OSError:
        return None
    installed = _litellm_version()
    return None if installed is None else [status.st_size, status.st_mtime_ns, installed]


@functools.cache
def _litellm_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("litellm")
    except PackageNotFoundError:
        return None


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _read(cache_file: Path, stamp: list[Any]) -> dict[str, Entries]:
    """The cached routes, when the file was written for this ``stamp`` (else none)."""
    try:
        content = json.loads(cache_file.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(content, dict) or content.get("stamp") != stamp:
        return {}
    routes = content.get("routes")
    if not isinstance(routes, dict) or not all(isinstance(e, dict) for e in routes.values()):
        return {}
    return routes
