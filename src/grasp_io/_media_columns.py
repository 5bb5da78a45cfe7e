"""Media values in records: images and audio as ``{"bytes": ..., "path": ...}`` dicts.

Hugging Face datasets store an ``Image`` or ``Audio`` column as that struct, and a column
of lists of them (``Sequence(Image())``: an ``image`` node with ``n`` above 1, TRL's
``images``) as a list of it; the ``hf`` source hands records such dicts (undecoded), and
the ``parquet`` and ``hf`` sinks write them back under their feature types. This module
tells which columns hold media, what kind (``image``, ``audio``, or ``image_list``,
``audio_list`` for lists), and gives the ``huggingface`` schema metadata that makes
``datasets`` read the column as ``Image``/``Audio`` (or a sequence of them) again. It
never imports ``datasets``.
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
    "ColumnMedia",
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
ColumnMedia = Literal["image", "audio", "image_list", "audio_list"]
"""What a column holds: one medium per row, or a list of them (``*_list``)."""

HF_METADATA_KEY = b"huggingface"
"""The Arrow schema metadata key where ``datasets`` keeps a dataset's features."""

_FEATURE_TYPES: dict[MediaKind, str] = {"image": "Image", "audio": "Audio"}
_KINDS_OF_FEATURES: dict[str, MediaKind] = {name: kind for kind, name in _FEATURE_TYPES.items()}
_LISTS: dict[MediaKind, ColumnMedia] = {"image": "image_list", "audio": "audio_list"}
_ITEMS: dict[ColumnMedia, MediaKind] = {
    "image": "image",
    "audio": "audio",
    "image_list": "image",
    "audio_list": "audio",
}
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


def detect_media(records: Sequence[Mapping[str, Any]]) -> dict[str, ColumnMedia]:
    """Top-level columns whose values are media of one kind, or lists of them, from the
    first value of each.

    A column whose first non-null value (non-empty, for lists) is a media dict of a
    recognised kind counts; the other values are checked only for their shape, so
    detection costs one sniff a column.
    """
    found: dict[str, ColumnMedia] = {}
    undecided: set[str] = set()
    for record in records:
        for column, value in record.items():
            if value is None or column in undecided or value == []:
                continue
            listed = isinstance(value, list)
            items = value if listed else [value]
            shape_kept = all(is_media_value(item) for item in items) and (
                column not in found or found[column].endswith("_list") == listed
            )
            if not shape_kept:
                found.pop(column, None)
                undecided.add(column)
            elif column not in found:
                kind = media_kind(items[0])
                if kind is None:
                    undecided.add(column)
                else:
                    found[column] = _LISTS[kind] if listed else kind
    return found


def is_list(kind: ColumnMedia) -> bool:
    """Whether a column of ``kind`` holds a list of media per row."""
    return kind.endswith("_list")


def hf_metadata(media: Mapping[str, ColumnMedia]) -> dict[bytes, bytes]:
    """Schema metadata that makes ``datasets`` read ``media`` columns as Image/Audio, and
    list columns as ``Sequence`` of them (which every ``datasets`` from 2.19 reads)."""
    features: dict[str, Any] = {}
    for column, kind in media.items():
        feature = {"_type": _FEATURE_TYPES[_ITEMS[kind]]}
        features[column] = {"feature": feature, "_type": "Sequence"} if is_list(kind) else feature
    return {HF_METADATA_KEY: json.dumps({"info": {"features": features}}).encode()}


def _feature_kind(spec: Any) -> ColumnMedia | None:
    """``image``/``audio`` for an Image/Audio feature, ``*_list`` for a sequence of one."""
    if not isinstance(spec, dict):
        return None
    if spec.get("_type") in ("Sequence", "List") and isinstance(spec.get("feature"), dict):
        inner = _KINDS_OF_FEATURES.get(spec["feature"].get("_type"))
        return _LISTS[inner] if inner is not None else None
    return _KINDS_OF_FEATURES.get(str(spec.get("_type")))


def media_from_metadata(metadata: Mapping[bytes, bytes] | None) -> dict[str, ColumnMedia]:
    """The Image/Audio columns (and sequences of them) named in a schema's ``huggingface``
    metadata."""
    if not metadata or HF_METADATA_KEY not in metadata:
        return {}
    try:
        features = json.loads(metadata[HF_METADATA_KEY])["info"]["features"]
    except (ValueError, KeyError, TypeError):
        return {}
    if not isinstance(features, dict):
        return {}
    found = {column: _feature_kind(spec) for column, spec in features.items()}
    return {column: kind for column, kind in found.items() if kind is not None}


def merge_media(kinds: Iterable[Mapping[str, ColumnMedia]]) -> dict[str, ColumnMedia]:
    """Columns that every mapping naming them gives the same kind (conflicts are dropped)."""
    merged: dict[str, ColumnMedia] = {}
    conflicting: set[str] = set()
    for mapping in kinds:
        for column, kind in mapping.items():
            if merged.setdefault(column, kind) != kind:
                conflicting.add(column)
    return {column: kind for column, kind in merged.items() if column not in conflicting}


def embed_stored_media(records: Sequence[dict[str, Any]], root: Path) -> list[dict[str, Any]]:
    """``records`` with each top-level entry of media a node stored (``{path, type, size}``,
    see ``grasp_io.media.store``), or list of such entries, replaced by ``{bytes, path}``
    values holding the files' bytes, read from ``root`` (the sink's folder), so Arrow sinks
    write them as Image/Audio (or sequences of them)."""
    out: list[dict[str, Any]] = []
    for record in records:
        if any(_stored_media(value) for value in record.values()):
            record = {k: _embed_value(v, root) for k, v in record.items()}
        out.append(record)
    return out


def _stored_media(value: Any) -> bool:
    """A stored entry, or a non-empty list of them."""
    from grasp_io.media.store import is_stored

    if isinstance(value, list):
        return bool(value) and all(is_stored(item) for item in value)
    return is_stored(value)


def _embed_value(value: Any, root: Path) -> Any:
    if not _stored_media(value):
        return value
    if isinstance(value, list):
        return [_embedded(item, root) for item in value]
    return _embedded(value, root)


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
