"""Hugging Face tokens from environment variables, named in the task (never the token)."""

from __future__ import annotations

import os

from grasp_core.errors import ConfigError
from grasp_core.plugin import register_secret

__all__ = ["hide_token", "read_token"]


def read_token(variable: str | None, where: str) -> str | None:
    """The token in environment variable ``variable``; ``None`` when no variable is named
    (``huggingface_hub`` then uses ``HF_TOKEN`` or a cached login). ``where`` is the YAML
    path of the option, for the error when the variable is not set."""
    if variable is None:
        return None
    value = os.environ.get(variable)
    if not value:
        raise ConfigError(
            f"{where}: environment variable {variable!r} is not set; export it with your "
            "Hugging Face token before running (the task names the variable, never the token)"
        )
    register_secret(value)
    return value


def hide_token(message: str, token: str | None) -> str:
    """``message`` with every copy of ``token`` masked, for errors built from foreign text."""
    return message.replace(token, "<token>") if token else message
