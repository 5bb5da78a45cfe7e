"""Token counts with tiktoken's ``cl100k_base``, offline: the one counter the quality node's
heuristic tags and the profile step share.

tiktoken downloads its BPE files on first use unless ``TIKTOKEN_CACHE_DIR`` holds them.
litellm ships ``cl100k_base`` in its package (and points ``TIKTOKEN_CACHE_DIR`` there when it
is imported); this module does the same without importing litellm, so counting never needs
the network. An explicit ``TIKTOKEN_CACHE_DIR`` is left alone.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import Any

from grasp_core.errors import ConfigError

__all__ = ["TOKEN_ENCODING", "count_tokens"]

TOKEN_ENCODING = "cl100k_base"
_lock = threading.Lock()
_encoding: Any = None


def _bundled_tokenizers() -> Path | None:
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "litellm_core_utils/tokenizers"
    return folder if folder.is_dir() else None


def _load() -> Any:
    global _encoding
    with _lock:
        if _encoding is None:
            import tiktoken

            bundled = _bundled_tokenizers()
            if bundled is not None:
                os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(bundled))
            try:
                _encoding = tiktoken.get_encoding(TOKEN_ENCODING)
            except Exception as exc:  # a download refused offline, a broken cache...
                raise ConfigError(
                    f"cannot load the {TOKEN_ENCODING} tokenizer ({type(exc).__name__}: {exc}); "
                    "set TIKTOKEN_CACHE_DIR to a folder holding it (litellm ships one in "
                    "litellm/litellm_core_utils/tokenizers)"
                ) from exc
        return _encoding


def count_tokens(text: str) -> int:
    """Tokens in ``text`` under ``cl100k_base`` (special-token strings count as text)."""
    if not text:
        return 0
    return len(_load().encode(text, disallowed_special=()))
