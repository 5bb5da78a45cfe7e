"""One capacity limiter per backend, shared by every node and record that uses it."""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio

from grasp_core.models_file import ModelCatalog

__all__ = ["BackendPool"]


@dataclass
class BackendPool:
    """Per-backend limits. Limiters are made on first use, inside the event loop."""

    catalog: ModelCatalog
    _limiters: dict[str, anyio.CapacityLimiter] = field(default_factory=dict)

    def limiter(self, model_name: str) -> anyio.CapacityLimiter:
        """The limiter of the backend serving ``model_name``."""
        backend = self.catalog.backend_of(model_name)
        limiter = self._limiters.get(backend)
        if limiter is None:
            limit = max(
                spec.max_concurrency
                for name, spec in self.catalog.specs.items()
                if (spec.backend or name) == backend
            )
            limiter = anyio.CapacityLimiter(limit)
            self._limiters[backend] = limiter
        return limiter

    def total_concurrency(self, model_names: list[str]) -> int:
        """Sum of the limits of the backends these models use (sizes the record window)."""
        seen: dict[str, int] = {}
        for name in model_names:
            spec = self.catalog.get(name)
            backend = spec.backend or name
            seen[backend] = max(seen.get(backend, 0), spec.max_concurrency)
        return sum(seen.values())
