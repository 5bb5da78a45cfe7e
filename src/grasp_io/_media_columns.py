"""Media values in records: images and audio as ``{"bytes": ..., "path": ...}`` dicts.

Hugging Face datasets store an ``Image`` or ``Audio`` column as that struct; the ``hf``
source hands records such dicts (undecoded), and the ``parquet`` and ``hf`` sinks write
them back under their feature types. This module tells which columns hold media, what
kind, and gives the Arrow type and the ``huggingface`` schema metadata that make
``datasets`` read the column as ``Image``/``Audio`` again. It never imports ``datasets``.
"""

from __future__ import annotations

import base64
import json
import mimetypes
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from grasp_core.errors import RecordError, SinkError

__all__ = [
    "HF_METADATA_KEY",
    "MediaKind",
    "detect_media",
    "embed_stored_media",
    "hf_metadata",
    "is_media_value",
    "json_default",
    "media_from_metadata",
    "media_kind",
    "merge_media",
]


MediaKind = Literal["image", "audio"]

HF_METADATA_KEY = b"huggingface"
"""The Arrow schema metadata key where ``datasets`` keeps a dataset's features."""

_FEATURE_TYPES: dict[MediaKind, str] = {"image": "Image", "audio": "Audio"}
_KINDS_OF_FEATURES = {name: kind for kind, name in _FEATURE_TYPES.items()}
_MEDIA_KEYS = frozenset({"bytes", "path"})


def is_media_value(value: Any) -> bool:
    """True for ``{"bytes": bytes | None, "path": str | None}`` with at least one set."""
    if not isinstance(value, Mapping) or set(value) != _MEDIA_KEYS:
        return False
    data, path = value["bytes"], value["path"]
    if data is None and path is None:
        return False
    return isinstance(data, bytes | type(None)) and isinstance(path, str | type(None))


def media_kind(value: Mapping[str, Any]) -> MediaKind | None:
    """The kind of a media value, read from its bytes, else guessed from its path."""
    data = value.get("bytes")
    if isinstance(data, bytes) and data:
        from grasp_io.media import sniff

        try:
            kind = sniff(data, what="a media value").kind
        except RecordError:
            return None
    else:
        path = value.get("path")
        mime = mimetypes.guess_type(path)[0] if isinstance(path, str) else None
        kind = mime.split("/", 1)[0] if mime else ""
    return "image" if kind == "image" else "audio" if kind == "audio" else None


def detect_media(records: Sequence[Mapping[str, Any]]) -> dict[str, MediaKind]:
    """Top-level columns whose values are media of one kind, from the first value of each.

    A column whose first non-null value is a media dict of a recognised kind counts; the
    other values are checked only for their shape, so detection costs one sniff a column.
    """
    found: dict[str, MediaKind] = {}
    undecided: set[str] = set()
    for record in records:
        for column, value in record.items():
            if value is None or column in undecided:
                continue
            if not is_media_value(value):
                found.pop(column, None)
                undecided.add(column)
            elif column not in found:
                kind = media_kind(value)
                if kind is None:
                    undecided.add(column)
                else:
                    found[column] = kind
    return found


def hf_metadata(media: Mapping[str, MediaKind]) -> dict[bytes, bytes]:
    """Schema metadata that makes ``datasets`` read ``media`` columns as Image/Audio."""
    features = {column: {"_type": _FEATURE_TYPES[kind]} for column, kind in media.items()}
    return {HF_METADATA_KEY: json.dumps({"info": {"features": features}}).encode()}


def media_from_metadata(metadata: Mapping[bytes, bytes] | None) -> dict[str, MediaKind]:
    """The Image/Audio columns named in a schema's ``huggingface`` metadata."""
    if not metadata or HF_METADATA_KEY not in metadata:
        return {}
    try:
        features = json.loads(metadata[HF_METADATA_KEY])["info"]["features"]
    except (ValueError, KeyError, TypeError):
        return {}
    if not isinstance(features, dict):
        return {}
    return {
        column: _KINDS_OF_FEATURES[spec["_type"]]
        for column, spec in features.items()
        if isinstance(spec, dict) and spec.get("_type") in _KINDS_OF_FEATURES
    }


def merge_media(kinds: Iterable[Mapping[str, MediaKind]]) -> dict[str, MediaKind]:
    """Columns that every mapping naming them gives the same kind (conflicts are dropped)."""
    merged: dict[str, MediaKind] = {}
    conflicting: set[str] = set()
    for mapping in kinds:
        for column, kind in mapping.items():
            if merged.setdefault(column, kind) != kind:
                conflicting.add(column)
    return {column: kind for column, kind in merged.items() if column not in conflicting}


def embed_stored_media(records: Sequence[dict[str, Any]], root: Path) -> list[dict[str, Any]]:
    """``records`` with each top-level entry of media a node stored (``{path, type, size}``,
    see ``grasp_io.media.store``) replaced by a ``{bytes, path}`` value holding the file's
    bytes, read from ``root`` (the sink's folder), so Arrow sinks write it as Image/Audio."""
    from grasp_io.media.store import is_stored

    out: list[dict[str, Any]] = []
    for record in records:
        if any(is_stored(value) for value in record.values()):
            record = {k: _embedded(v, root) if is_stored(v) else v for k, v in record.items()}
        out.append(record)
    return out


def _embedded(stored: Mapping[str, Any], root: Path) -> dict[str, Any]:
    path = root / stored["path"]
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SinkError(
            f"cannot embed the media file {str(path)!r} ({exc.strerror or exc}); stored media "
            "paths start at the first sink's folder: write parquet and hf sinks beside it"
        ) from None
    return {"bytes": data, "path": PurePosixPath(stored["path"]).name}


def json_default(value: Any) -> Any:
    """How text sinks write binary values: as a base64 string (standard alphabet)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
