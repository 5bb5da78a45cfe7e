"""Source and sink blocks for commands that read or write a dataset given on the command
line (``grasp tag``, ``grasp filter``): a file path, or a whole source block as JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from grasp_core import registry
from grasp_core.config import validate_block
from grasp_core.errors import ConfigError
from grasp_core.protocols import Sink, Source

__all__ = [
    "SINK_SUFFIXES",
    "open_sink",
    "open_source",
    "refuse_input_as_output",
    "sink_block",
    "source_block",
]

SINK_SUFFIXES = {".jsonl": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}


def source_block(input_path: str | Path | None, source_json: str | None) -> dict[str, Any]:
    """``{"type": "disk", "file_path": INPUT}``, or the block written as JSON with
    ``--source`` (any registered source type: ``{"type": "hf", "repo_id": ...}``)."""
    if source_json is not None:
        if input_path is not None:
            raise ConfigError("give either INPUT or --source, not both")
        try:
            block = json.loads(source_json)
        except ValueError as exc:
            raise ConfigError(
                f"--source {source_json!r} is not JSON ({exc}); write a source block such as "
                '\'{"type": "hf", "repo_id": "org/name", "split": "train"}\''
            ) from None
        if not isinstance(block, dict) or "type" not in block:
            raise ConfigError(
                f"--source {source_json!r} must be a JSON object with a `type` key, such as "
                '\'{"type": "disk", "file_path": "data.jsonl"}\''
            )
        return block
    if input_path is None:
        raise ConfigError("name the input: a JSONL/JSON/CSV/Parquet file, or --source JSON")
    path = Path(input_path)
    if not path.is_file():
        raise ConfigError(f"input {str(path)!r} is not a file; check the path")
    return {"type": "disk", "file_path": str(path.resolve())}


def sink_block(output: str | Path, output_format: str | None = None) -> dict[str, Any]:
    """A sink block for ``output``, its format taken from ``output_format`` or the suffix."""
    path = Path(output)
    fmt = output_format or SINK_SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise ConfigError(
            f"cannot tell the output format of {str(path)!r} from its suffix; name it "
            f"{', '.join('*' + s for s in SINK_SUFFIXES)} or pass --output-format"
        )
    return {"type": fmt, "file_path": str(path.resolve())}


def refuse_input_as_output(
    source: dict[str, Any], sink: dict[str, Any], base_dir: Path, *, output_arg: str | Path
) -> None:
    """Refuse a sink that writes over the source's file: opening the sink truncates it.

    The source's ``file_path`` may be relative (to ``base_dir``), a symlink or a hard link
    to the output, so the two are compared resolved and, when both exist, by inode."""
    file_path = source.get("file_path")
    if file_path is None:
        return
    input_path = (base_dir / Path(str(file_path)).expanduser()).resolve()
    output_path = (base_dir / Path(str(sink["file_path"])).expanduser()).resolve()
    same = input_path == output_path
    if not same and input_path.exists() and output_path.exists():
        same = os.path.samefile(input_path, output_path)
    if same:
        raise ConfigError(
            f"--output {str(output_arg)!r} is the input ({str(input_path)!r}); writing it "
            "would erase the input. Write somewhere else, then move the file"
        )


def open_source(block: dict[str, Any], base_dir: Path, *, what: str = "--source") -> Source:
    """The source a block describes, validated (nothing is read yet)."""
    kind = registry.sources.get(str(block["type"]))
    config = validate_block(kind.config_model, block, path=(what,), document=None)
    source: Source = kind.from_config(config, base_dir)
    return source


def open_sink(block: dict[str, Any], base_dir: Path, *, what: str = "--output") -> Sink:
    """The sink a block describes, validated and not yet opened (call ``restore([])``)."""
    kind = registry.sinks.get(str(block["type"]))
    config = validate_block(kind.config_model, block, path=(what,), document=None)
    sink: Sink = kind.from_config(config, base_dir)
    return sink
