"""Option parsing shared by the CLI's commands."""

from __future__ import annotations

from grasp_core.errors import ConfigError

__all__ = ["failure_budget"]


def failure_budget(value: float | None) -> float | int | None:
    """``--allowed-failures``: a count (1 and up, kept whole) or a fraction below 1."""
    if value is None:
        return None
    if not 0 <= value < float("inf"):
        raise ConfigError(
            f"--allowed-failures must be a count or a fraction below 1, got {value!r}"
        )
    return int(value) if value >= 1 else value
