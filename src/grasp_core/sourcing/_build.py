"""From ``data_config.source`` to one :class:`~grasp_core.protocols.Source`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel

from grasp_core import registry
from grasp_core.config import DataConfig, validate_block
from grasp_core.config.dotted import resolve_dotted
from grasp_core.config.locate import located
from grasp_core.config.source_options import SourceOptions, TransformSpec
from grasp_core.config.yaml_source import YamlDocument, YamlPath
from grasp_core.errors import ConfigError, PluginError
from grasp_core.protocols import Source, SourceItem, Transform, TransformEnv, TransformType
from grasp_core.sourcing._join import JoinedSource, Secondary, SecondaryJoin, StackedSource
from grasp_core.sourcing._pipeline import TransformedSource
from grasp_core.sourcing._sygra_transform import sygra_transform_type

__all__ = ["build_source", "record_items", "transform_type"]

_SOURCE_PATH: YamlPath = ("data_config", "source")
_SYGRA_MODULES = ("sygra.processors.data_transform.", "grasp.processors.data_transform.")
"""SyGra's module of built-in transforms (``grasp.`` in its older releases)."""


def build_source(
    data: DataConfig,
    *,
    task_dir: Path,
    document: YamlDocument | None = None,
    seed: int = 0,
) -> Source:
    """The source that ``data.source`` describes: one block, or a list joined or stacked,
    each with its transforms. Configs are validated and files checked; nothing is read
    until the result is iterated. Errors name the task file, line and YAML path."""
    if data.source is None:
        raise ConfigError("data_config has no source; add one, or run data-less")
    env = TransformEnv(base_dir=task_dir, seed=seed)
    if isinstance(data.source, dict):
        return _block(data.source, _SOURCE_PATH, data.id_column, env, document)[1]
    built = [
        _block(block, (*_SOURCE_PATH, index), data.id_column, env, document)
        for index, block in enumerate(data.source)
    ]
    if all(options.join_type == "vstack" for options, _ in built):
        return StackedSource(
            [(str(options.alias), source) for options, source in built], id_column=data.id_column
        )
    primary = next(source for options, source in built if options.join_type == "primary")
    secondaries = [
        Secondary(
            alias=str(options.alias),
            join_type=cast(SecondaryJoin, options.join_type),
            source=source,
            primary_key=options.primary_key,
            join_key=options.join_key,
        )
        for options, source in built
        if options.join_type != "primary"
    ]
    return JoinedSource(primary, secondaries, seed=seed, id_column=data.id_column)


def record_items(source: Source | None, *, start: int, limit: int | None) -> Iterator[SourceItem]:
    """The records a run processes: ``source``'s from ``start`` (at most ``limit``), or,
    without a source, ``limit`` empty records with ids ``start``, ``start + 1``..."""
    if source is None:
        if limit is None:
            raise ConfigError(
                "a data-less task needs a record count: set data_config.num_records or "
                "pass --num-records N"
            )
        return (SourceItem(str(i), {}) for i in range(start, start + limit))
    return iter(source.iter_records(start=start, limit=limit))


def transform_type(name: str, base_dir: Path | None) -> TransformType:
    """The transform class for ``name``: a registered name (entry point group
    ``grasp.transforms``), SyGra's dotted class path, or a dotted path to a class."""
    for prefix in _SYGRA_MODULES:
        name = name.removeprefix(prefix)
    if "." not in name:
        found: TransformType = registry.transforms.get(name)
        return found
    target = resolve_dotted(name, base_dir, what="transform")
    model = getattr(target, "config_model", None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)) or not callable(
        getattr(target, "from_config", None)
    ):
        sygra = sygra_transform_type(target)
        if sygra is not None:
            return sygra
        raise PluginError(
            f"{name!r} is not a transform class: it needs a `config_model` (a pydantic model of "
            "its params) and a `from_config(config, env)` classmethod returning an object with "
            "`apply(items)` (or, as in SyGra, a `transform(self, data, params)` method)"
        )
    return cast(TransformType, target)


def _block(
    block: dict[str, Any],
    path: YamlPath,
    id_column: str,
    env: TransformEnv,
    document: YamlDocument | None,
) -> tuple[SourceOptions, Source]:
    """One source block: its type's config (minus the keys every source shares, unless
    the type reads them itself), the source, and its transforms."""
    shared = SourceOptions.keys()
    options = validate_block(
        SourceOptions,
        {key: value for key, value in block.items() if key in shared},
        path=path,
        document=document,
    )
    with located(document, (*path, "type")):
        source_type = registry.sources.get(str(block["type"]))
    fields = source_type.config_model.model_fields
    own = {key: value for key, value in block.items() if key not in shared or key in fields}
    if "id_column" in fields:
        own.setdefault("id_column", id_column)
    config = validate_block(source_type.config_model, own, path=path, document=document)
    with located(document, path):
        source: Source = source_type.from_config(config, env.base_dir)
    transforms = [
        _transform(spec, (*path, "transformations", index), env, document)
        for index, spec in enumerate(options.transformations)
    ]
    return options, TransformedSource(source, transforms) if transforms else source


def _transform(
    spec: TransformSpec, path: YamlPath, env: TransformEnv, document: YamlDocument | None
) -> Transform:
    with located(document, (*path, "transform")):
        kind = transform_type(spec.transform, env.base_dir)
    config = validate_block(
        kind.config_model, spec.params, path=(*path, "params"), document=document
    )
    with located(document, path):
        return kind.from_config(config, env)
