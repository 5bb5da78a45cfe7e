"""The one place that imports Ray (an optional extra), with the install line when missing."""

from __future__ import annotations

from types import ModuleType

from grasp_core.errors import ConfigError

__all__ = ["import_ray"]

INSTALL_HINT = 'pip install "grasp-sdg[ray]"'


def import_ray() -> ModuleType:
    """Import ``ray``, or raise :class:`ConfigError` saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ConfigError(
            f"the ray executor needs Ray, which is not installed ({exc}); install it with "
            f"`{INSTALL_HINT}`, or run without --executor ray"
        ) from exc
    return ray
