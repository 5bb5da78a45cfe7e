"""The mock server's arguments checked before it starts: one clear error for a bad one."""

from __future__ import annotations

from collections.abc import Sequence

from grasp_core.errors import ConfigError
from grasp_core.mock_server._replies import FAULT_KINDS

__all__ = ["check_arguments"]


def check_arguments(
    *,
    port: int,
    reply_mode: str,
    fault_rate: float,
    faults: Sequence[str],
    hang_seconds: float,
    retry_after: float,
    max_seconds: float,
    keep_requests: int,
) -> None:
    """Raise :class:`ConfigError` naming the first argument out of its range."""
    if not 0 <= port <= 65535:
        raise ConfigError(f"port must be 0..65535 (0 picks a free port), got {port!r}")
    if reply_mode not in ("echo", "lorem"):
        raise ConfigError(f"reply_mode must be 'echo' or 'lorem', got {reply_mode!r}")
    if not 0.0 <= fault_rate <= 1.0:
        raise ConfigError(f"fault_rate must be between 0 and 1, got {fault_rate!r}")
    if any(kind not in FAULT_KINDS for kind in faults) or (fault_rate > 0 and not faults):
        raise ConfigError(f"faults must be a non-empty subset of {FAULT_KINDS}, got {faults!r}")
    for name, value in [("hang_seconds", hang_seconds), ("retry_after", retry_after)]:
        if value < 0:
            raise ConfigError(f"{name} must be >= 0, got {value!r}")
    if max_seconds <= 0:
        raise ConfigError(f"max_seconds must be > 0, got {max_seconds!r}")
    if keep_requests < 0:
        raise ConfigError(f"keep_requests must be >= 0, got {keep_requests!r}")
