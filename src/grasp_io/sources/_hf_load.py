"""Open a Hugging Face dataset: the one boundary for ``datasets`` load errors.

A ``repo_id`` naming a local folder written by ``save_to_disk`` is opened with
``load_from_disk``; any other local folder (a dataset repository checked out, with
``data/train-*.parquet`` files or a README declaring configs) and every hub id go through
``load_dataset``. Several splits are concatenated in the order given.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from grasp_core.errors import SourceError
from grasp_io._hf_token import hide_token

__all__ = ["DatasetRequest", "is_saved_dataset", "open_dataset", "read_guarded"]

_SAVED_DATASET_FILES = ("dataset_info.json", "state.json")
_SAVED_DICT_FILE = "dataset_dict.json"

_Row = TypeVar("_Row")


@dataclass(frozen=True)
class DatasetRequest:
    """What to load; ``local`` is the resolved folder when ``repo_id`` names one."""

    repo_id: str
    local: Path | None
    config_name: str | None
    splits: tuple[str, ...]
    streaming: bool
    token: str | None
    revision: str | None
    cache_dir: str | None

    def __repr__(self) -> str:  # the token stays out of every repr
        return f"DatasetRequest({self.repo_id!r}, splits={self.splits!r})"


def is_saved_dataset(folder: Path) -> bool:
    """True for a folder written by ``Dataset.save_to_disk`` or ``DatasetDict.save_to_disk``."""
    return (folder / _SAVED_DICT_FILE).is_file() or all(
        (folder / name).is_file() for name in _SAVED_DATASET_FILES
    )


def open_dataset(request: DatasetRequest) -> Any:
    """The requested splits as one ``Dataset`` (memory-mapped) or ``IterableDataset``."""
    import datasets

    if request.local is not None and is_saved_dataset(request.local):
        parts = _from_disk(request)
    else:
        parts = [_load(request, split) for split in request.splits]
    if len(parts) == 1:
        return parts[0]
    try:
        return datasets.concatenate_datasets(parts)
    except ValueError as exc:
        where = str(request.local) if request.local is not None else request.repo_id
        raise SourceError(
            f"data_config.source.split: the splits {list(request.splits)!r} of {where!r} "
            f"cannot be read as one ({hide_token(str(exc), request.token)}); their columns "
            "differ in names or types. read one split, or align the columns first"
        ) from None


def read_guarded(rows: Iterable[_Row], request: DatasetRequest) -> Iterator[_Row]:
    """``rows``, with the errors that reading them raises (a streaming dataset parses its
    files only now) as :class:`SourceError`. Only the reading is guarded, not the consumer."""
    iterator = iter(rows)
    while True:
        try:
            row = next(iterator)
        except StopIteration:
            return
        except Exception as exc:  # datasets and pyarrow raise many types, often in groups
            raise _read_error(request, exc) from None
        yield row


def _read_error(request: DatasetRequest, exc: Exception) -> SourceError:
    where = str(request.local) if request.local is not None else request.repo_id
    cause = exc
    while isinstance(cause, BaseExceptionGroup) and len(cause.exceptions) == 1:
        inner = cause.exceptions[0]
        if not isinstance(inner, Exception):
            break
        cause = inner
    message = hide_token(f"{type(cause).__name__}: {cause}", request.token)
    return SourceError(
        f"data_config.source: cannot read the rows of the dataset {where!r} "
        f"(splits {list(request.splits)!r}): {message}; check its data files"
    )


def _from_disk(request: DatasetRequest) -> list[Any]:
    import datasets

    assert request.local is not None
    try:
        loaded = datasets.load_from_disk(str(request.local))
    except (OSError, ValueError) as exc:
        raise SourceError(
            f"cannot open the saved dataset {str(request.local)!r}: {exc}; check "
            "data_config.source.repo_id (a folder written by save_to_disk)"
        ) from exc
    if isinstance(loaded, datasets.DatasetDict):
        missing = [split for split in request.splits if split not in loaded]
        if missing:
            raise _unknown_split(request, missing[0], list(loaded))
        parts = [loaded[split] for split in request.splits]
    else:
        parts = [loaded]  # a single saved Dataset has no splits: ``split`` is not consulted
    if request.config_name is not None:
        raise SourceError(
            f"data_config.source.config_name: {request.config_name!r} was given, but "
            f"{str(request.local)!r} is a dataset saved with save_to_disk, which has no "
            "configs; remove config_name"
        )
    return [part.to_iterable_dataset() for part in parts] if request.streaming else parts


def _load(request: DatasetRequest, split: str) -> Any:
    import datasets

    path = str(request.local) if request.local is not None else request.repo_id
    try:
        return datasets.load_dataset(
            path,
            request.config_name,
            split=split,
            streaming=request.streaming,
            token=request.token,
            revision=request.revision,
            cache_dir=request.cache_dir,
        )
    except Exception as exc:  # datasets raises many types (yaml errors from a README...)
        raise _translate(request, split, exc) from None


def _translate(request: DatasetRequest, split: str, exc: Exception) -> SourceError:
    """A load error as a :class:`SourceError` naming the option to fix (never the token)."""
    import datasets

    message = hide_token(str(exc), request.token)
    where = str(request.local) if request.local is not None else request.repo_id
    if isinstance(exc, datasets.exceptions.DatasetGenerationError) and exc.__cause__:
        cause = exc.__cause__  # the reason; the error itself says only that one occurred
        message += hide_token(f" ({type(cause).__name__}: {cause})", request.token)
    if isinstance(exc, ValueError) and message.startswith("Unknown split"):
        return _unknown_split(request, split, None, detail=message)
    if isinstance(exc, ValueError) and "BuilderConfig" in message:
        return SourceError(
            f"data_config.source.config_name: {where!r} has no config "
            f"{request.config_name!r} ({message}); set config_name to one of the available"
        )
    if isinstance(exc, ValueError) and "Config name is missing" in message:
        return SourceError(
            f"data_config.source.config_name: {where!r} has several configs and none was "
            f"chosen ({message}); set config_name"
        )
    if isinstance(exc, datasets.exceptions.DatasetNotFoundError | ConnectionError):
        hint = (
            "check the id, set token_env for a private or gated dataset, and check the "
            "network (offline mode reaches only the local cache)"
            if request.local is None
            else "check the folder"
        )
        return SourceError(
            f"data_config.source.repo_id: cannot find the dataset {where!r} ({message}); "
            f"{hint}; a relative folder resolves against the task folder"
        )
    return SourceError(
        f"data_config.source: cannot load the dataset {where!r} (split {split!r}): "
        f"{type(exc).__name__}: {message}; check repo_id, config_name and split"
    )


def _unknown_split(
    request: DatasetRequest, split: str, known: list[str] | None, *, detail: str | None = None
) -> SourceError:
    where = str(request.local) if request.local is not None else request.repo_id
    choices = f"the splits are {known!r}" if known is not None else detail
    return SourceError(
        f"data_config.source.split: {where!r} has no split {split!r} ({choices}); "
        "set split to one of them (or a list of them)"
    )
