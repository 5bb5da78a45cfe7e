"""Push a finished dataset to the Hugging Face hub: the one boundary for hub errors.

The hub is reached through an object with ``HfApi``'s ``create_repo`` and
``upload_folder``; a sink takes a factory for it, so tests pass a recorder and never touch
the network.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from grasp_core.errors import SinkError
from grasp_io._hf_token import hide_token

__all__ = ["HubApi", "HubTarget", "default_api", "push_dataset", "split_files"]

_SHARD_BYTES = 500 * 1024 * 1024
"""Largest parquet file pushed, before compression (the hub's viewer prefers <= 500 MB)."""


class HubApi(Protocol):
    """The part of :class:`huggingface_hub.HfApi` a push uses."""

    def create_repo(
        self,
        repo_id: str,
        *,
        private: bool | None = ...,
        repo_type: str | None = ...,
        exist_ok: bool = ...,
    ) -> Any: ...

    def upload_folder(
        self,
        *,
        repo_id: str,
        folder_path: str | Path,
        commit_message: str | None = ...,
        repo_type: str | None = ...,
        delete_patterns: list[str] | str | None = ...,
    ) -> Any: ...


ApiFactory = Callable[[str | None], HubApi]
"""Builds the hub client from a token (``None``: ``HF_TOKEN`` or a cached login)."""


@dataclass(frozen=True)
class HubTarget:
    """Where and how to push; ``token`` never appears in a repr or an error."""

    repo_id: str
    split: str
    private: bool
    token: str | None
    commit_message: str

    def __repr__(self) -> str:
        return f"HubTarget({self.repo_id!r}, split={self.split!r}, private={self.private!r})"


def default_api(token: str | None) -> HubApi:
    """A real :class:`huggingface_hub.HfApi`."""
    from huggingface_hub import HfApi

    api: HubApi = HfApi(token=token)
    return api


def split_files(split: str) -> str:
    """The glob of a split's parquet shards in a pushed repository."""
    return f"data/{split}-*"


def push_dataset(
    dataset: Any,
    target: HubTarget,
    staging: Path,
    api: HubApi,
    *,
    files: Mapping[str, str] | None = None,
) -> list[str]:
    """Write ``dataset`` as parquet shards under ``staging`` and upload them as
    ``data/<split>-NNNNN-of-NNNNN.parquet``, replacing that split's earlier shards, with
    ``files`` (text by name: the dataset card ``README.md``, ``task.yaml``) at the top.

    Returns the paths uploaded (inside the repository). ``staging`` is removed after.
    """
    shards = max(1, math.ceil(dataset.data.nbytes / _SHARD_BYTES))
    folder = staging / "data"
    names: list[str] = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(shards):
            name = f"{target.split}-{index:05d}-of-{shards:05d}.parquet"
            dataset.shard(num_shards=shards, index=index, contiguous=True).to_parquet(
                str(folder / name)
            )
            names.append(f"data/{name}")
        for name, text in (files or {}).items():
            (staging / name).write_text(text, encoding="utf-8")
            names.append(name)
        api.create_repo(target.repo_id, private=target.private, repo_type="dataset", exist_ok=True)
        api.upload_folder(
            repo_id=target.repo_id,
            folder_path=staging,
            commit_message=target.commit_message,
            repo_type="dataset",
            delete_patterns=[split_files(target.split)],
        )
    except Exception as exc:  # the api may be any HfApi-like object: every failure is one kind
        message = hide_token(f"{type(exc).__name__}: {exc}", target.token)
        raise SinkError(
            f"cannot push the dataset to the hub repository {target.repo_id!r} ({message}); "
            "the local copy is complete. check repo_id, the token's write access "
            "(token_env) and the network, then run again with --resume to retry the push"
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return names
