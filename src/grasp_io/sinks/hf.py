"""The ``hf`` sink: a dataset folder written by ``save_to_disk``, optionally pushed to the hub.

During the run records go to parquet part files, exactly as in the ``parquet`` sink (whose
machinery this reuses), so resume is exactly-once. At the end the parts become one staging
parquet file, then a memory-mapped ``Dataset`` saved to the target folder, then (with
``push_to_hub``) parquet shards uploaded to a dataset repository.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from grasp_core.errors import SinkError
from grasp_core.plugin import CommitToken
from grasp_io._fs import coerce_config, resolve_path
from grasp_io._hf_token import read_token
from grasp_io._media_columns import MediaKind
from grasp_io.sinks._card import SAVED_DATA_FILES, TASK_FILE, HfCardConfig, render_card
from grasp_io.sinks._hub import ApiFactory, HubTarget, default_api, push_dataset, split_files
from grasp_io.sinks._unwritable import cannot_write
from grasp_io.sinks.parquet import ParquetSink

__all__ = ["HfSink", "HfSinkConfig"]

_SPLIT_NAME = re.compile(r"\w+(\.\w+)*")
"""A split name as ``datasets`` accepts it; it becomes part of a file name on the hub."""


class HfSinkConfig(BaseModel):
    """``data_config.sink`` for a Hugging Face dataset."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["hf"]
    """Selects the Hugging Face dataset sink."""

    file_path: str
    """The dataset folder (``load_from_disk`` reads it). A relative path resolves against
    the folder of the task file. It appears only when the run finishes, and not at all
    when the run wrote no records."""

    split: str = "train"
    """The split name the records are pushed under (``data/<split>-*.parquet``): letters,
    digits and underscores, optionally in dot-separated parts (``train``, ``test.v2``)."""

    push_to_hub: bool = False
    """Upload the dataset to the hub when the run finishes."""

    repo_id: str | None = None
    """The hub dataset repository (``owner/name``) to push to; created if missing."""

    private: bool = True
    """Create the repository private (an existing repository keeps its visibility)."""

    token_env: str | None = None
    """The environment variable holding a token with write access. By default ``HF_TOKEN``
    or a cached ``huggingface-cli login`` is used."""

    commit_message: str = "Upload dataset generated with GraSP"
    """The hub commit message of the push."""

    media: dict[str, MediaKind] | None = None
    """Columns to store as ``Image`` or ``Audio`` features (``{column: image|audio}``).
    Columns whose values are ``{"bytes", "path"}`` dicts of a recognisable image or audio
    format are found without it."""

    card: HfCardConfig = Field(default_factory=HfCardConfig)
    """The dataset card (``README.md``, with the task file as ``task.yaml``) written into
    the dataset folder and pushed with the data: its metadata and how the data was made."""

    alias: str | None = None
    """A name for this sink; required when ``data_config.sink`` is a list."""

    fsync: bool = False
    """Force every write to disk before it is committed: survives a power cut, costs speed."""

    ordered: bool = False
    """Write records in source order rather than as they finish (as `grasp run --ordered`):
    a finished record waits for those before it, within the run's window."""

    @field_validator("split")
    @classmethod
    def _split_name(cls, value: str) -> str:
        if not _SPLIT_NAME.fullmatch(value):
            raise ValueError(
                f"split {value!r} is not a split name; use letters, digits and underscores, "
                "optionally in dot-separated parts (for example `train` or `test.v2`)"
            )
        return value

    @model_validator(mode="after")
    def _push_needs_repo(self) -> HfSinkConfig:
        if self.push_to_hub and not self.repo_id:
            raise ValueError("push_to_hub needs repo_id (the hub repository, `owner/name`)")
        return self


class HfSink:
    """Writes ``.<name>.hf.parquet.parts/part-NNNNNN.parquet`` during the run, then the
    dataset folder ``<name>`` at :meth:`finalize` (and pushes it when asked).

    Tokens are those of :class:`~grasp_io.sinks.ParquetSink`. A resume after a finished
    run reopens it: the saved dataset is cut back into its committed parts.
    """

    config_model: ClassVar[type[BaseModel]] = HfSinkConfig

    def __init__(
        self,
        path: Path,
        *,
        fsync: bool = False,
        media: dict[str, MediaKind] | None = None,
        hub: HubTarget | None = None,
        api_factory: ApiFactory = default_api,
        split: str = "train",
        card: HfCardConfig | None = None,
    ) -> None:
        self.path = path
        self.hub = hub
        self.split = hub.split if hub is not None else split
        self.card = card if card is not None else HfCardConfig()
        self.provenance: Mapping[str, Any] | None = None
        """What the run says of how the data was made (:meth:`set_provenance`)."""
        self.api_factory = api_factory
        self.pushed: list[str] = []
        """Files uploaded by the last push (paths inside the hub repository)."""
        self._staging = ParquetSink(
            path.with_name(f".{path.name}.hf.parquet"), fsync=fsync, media=media
        )
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: BaseModel, base_dir: Path) -> HfSink:
        """Build the sink; a missing token variable is an error now, before any record runs."""
        cfg = coerce_config(config, HfSinkConfig)
        hub = None
        if cfg.push_to_hub:
            assert cfg.repo_id is not None
            hub = HubTarget(
                repo_id=cfg.repo_id,
                split=cfg.split,
                private=cfg.private,
                token=read_token(cfg.token_env, "data_config.sink.token_env"),
                commit_message=cfg.commit_message,
            )
        return cls(
            resolve_path(cfg.file_path, base_dir),
            fsync=cfg.fsync,
            media=cfg.media,
            hub=hub,
            split=cfg.split,
            card=cfg.card,
        )

    def __repr__(self) -> str:
        return f"HfSink({str(self.path)!r})"

    def restore(self, committed: list[CommitToken]) -> None:
        """Keep only committed parts; with none committed, also drop a previous dataset."""
        with self._lock:
            staging = self._staging
            if committed and not staging.path.exists() and self._parts_gone(committed):
                self._unsave()
            staging.restore(committed)
            if not committed:
                _remove_tree(self.path)

    def set_provenance(self, provenance: Mapping[str, Any]) -> None:
        """Take the run's provenance (secrets already masked) for the dataset card."""
        self.provenance = provenance

    def write(self, records: list[dict[str, Any]]) -> CommitToken:
        """Write ``records`` as the next part file and return its token."""
        return self._staging.write(records)

    def cannot_write(self, record: dict[str, Any]) -> str | None:
        """Why ``record`` cannot be a dataset row: as for :class:`~grasp_io.sinks.ParquetSink`."""
        return cannot_write(record, sink="hf", int64=True)

    def sync(self) -> None:
        """Force the part files written since the last sync to disk."""
        self._staging.sync()

    def finalize(self) -> list[Path]:
        """Save the dataset folder (and push it); ``[]`` when no record was written."""
        with self._lock:
            merged = self._staging.finalize()
            if not merged:
                return []
            with _quiet_datasets():
                self._save(merged[0])
            return [self.path]

    def close(self) -> None:
        """Nothing stays open between writes; parts are kept for a later :meth:`restore`."""
        self._staging.close()

    def _save(self, merged: Path) -> None:
        import datasets

        cache = self.path.with_name(f".{self.path.name}.hf-cache")
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        try:
            dataset = datasets.Dataset.from_parquet(str(merged), cache_dir=str(cache))
            _remove_tree(temporary)
            dataset.save_to_disk(str(temporary))
            described = self._card_files(dataset, SAVED_DATA_FILES)
            for name, text in described.items():
                (temporary / name).write_text(text, encoding="utf-8")
            _remove_tree(self.path)
            temporary.rename(self.path)
            # Only now does the dataset hold every committed record: until here, the merged
            # file is what a resume cuts back into the parts.
            merged.unlink(missing_ok=True)
            if self.hub is not None:
                api = self.api_factory(self.hub.token)
                staging = self.path.with_name(f".{self.path.name}.hub")
                pushed_card = self._card_files(dataset, split_files(self.split))
                self.pushed = push_dataset(dataset, self.hub, staging, api, files=pushed_card)
        except SinkError:
            raise
        except (OSError, ValueError) as exc:
            raise SinkError(
                f"cannot save the dataset to {self.path}: {exc}; every record is kept in "
                f"{merged}, so fix the cause and run again with --resume"
            ) from exc
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    def _card_files(self, dataset: Any, data_files: str) -> dict[str, str]:
        """``README.md`` and ``task.yaml`` by name (nothing with ``card.enabled: false``);
        the card's ``configs`` name ``data_files``, the glob of the data where it goes."""
        if not self.card.enabled:
            return {}
        columns = {
            name: str(getattr(feature, "dtype", type(feature).__name__))
            for name, feature in dataset.features.items()
        }
        card = render_card(
            self.card,
            title=self.hub.repo_id if self.hub is not None else self.path.name,
            split=self.split,
            rows=dataset.num_rows,
            columns=columns,
            provenance=self.provenance,
            data_files=data_files,
        )
        files = {"README.md": card}
        task_yaml = (self.provenance or {}).get("task", {}).get("yaml")
        if task_yaml:
            files[TASK_FILE] = str(task_yaml)
        return files

    def _parts_gone(self, committed: list[CommitToken]) -> bool:
        parts = self._staging.parts_dir
        names = [t.get("part") for t in committed if isinstance(t.get("part"), str)]
        return bool(names) and any(not (parts / str(name)).is_file() for name in names)

    def _unsave(self) -> None:
        """Turn the saved dataset back into the staging parquet file, for a resume that
        adds records (the parquet sink then cuts it into its committed parts)."""
        import datasets

        if not self.path.is_dir():
            return  # the parquet sink reports the missing parts
        try:
            with _quiet_datasets():
                datasets.load_from_disk(str(self.path)).to_parquet(str(self._staging.path))
        except (OSError, ValueError) as exc:
            raise SinkError(
                f"cannot reopen the finished dataset {self.path} to resume ({exc}); "
                "restore it from a copy, or start afresh"
            ) from exc


def _remove_tree(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except OSError as exc:
        raise SinkError(f"cannot remove {path}: {exc.strerror or exc}; delete it by hand") from exc


@contextlib.contextmanager
def _quiet_datasets() -> Iterator[None]:
    """No progress bars from ``datasets`` while a sink works (restored afterwards)."""
    import datasets

    was_enabled = not datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was_enabled:
            datasets.enable_progress_bars()
