"""The ``weighted_sampler`` node: draws one value per attribute per record into the state.

Draws are reproducible: each record's generator is seeded with ``ctx.rng_seed()`` (run seed,
record id, node, iteration), so the same seed gives the same values for the same record
whatever order the records run in, and after a resume. Sampling is a cheap pure step, so it
runs on the event loop without a thread hand-off.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from grasp_core import plugin
from grasp_core.errors import ConfigError, GraspError
from grasp_core.plugin import BuildEnv, NodeConfig, NodeContext, StrictModel, validate_block

__all__ = [
    "AttributeConfig",
    "ColumnValues",
    "WeightedAttribute",
    "WeightedSamplerNode",
    "WeightedSamplerNodeConfig",
]


class ColumnValues(StrictModel):
    """Values read from one column of a data source, once, when the task compiles."""

    column: str | list[str]
    """The field whose value is taken from every record of the source; a list of fields
    pools their values (each draw picks a record and one of the fields)."""
    source: dict[str, Any]
    """A source block, as in `data_config.source`: `{type: disk, file_path: personas.jsonl}`.
    Relative paths resolve against the task's folder."""

    @field_validator("column")
    @classmethod
    def _some_column(cls, column: str | list[str]) -> str | list[str]:
        if not column:
            raise ValueError("`column` names a field, or lists at least one")
        return column

    @field_validator("source")
    @classmethod
    def _typed(cls, source: dict[str, Any]) -> dict[str, Any]:
        if "type" not in source:
            raise ValueError(
                f"source {source!r} has no `type`; write a source block such as "
                "{type: disk, file_path: personas.jsonl}"
            )
        return source

    def origin(self) -> str:
        """The file (or source type) the values come from, for messages."""
        return str(self.source.get("file_path", self.source["type"]))


def _values_kind(value: Any) -> str:
    """Pick the `values` form by shape, so an error speaks of one form only."""
    return "dict" if isinstance(value, Mapping | ColumnValues) else "list"


class AttributeConfig(StrictModel):
    """One attribute: the values to draw from and, optionally, their weights."""

    values: Annotated[
        Annotated[list[Any], Tag("list")] | Annotated[ColumnValues, Tag("dict")],
        Discriminator(_values_kind),
    ]
    """The values (any YAML values), or `{column, source}` to read them from a data file."""
    weights: list[float] | None = Field(default=None)
    """Relative weights, one per value (non-negative, not all zero); default: uniform."""

    @field_validator("weights")
    @classmethod
    def _weights(cls, weights: list[float] | None) -> list[float] | None:
        if weights is None:
            return None
        for weight in weights:
            if not math.isfinite(weight) or weight < 0:
                raise ValueError(
                    f"weight {weight!r} is not a finite number >= 0; weights are relative "
                    "frequencies such as [3, 1]"
                )
        if weights and not any(weights):
            raise ValueError(f"weights {weights!r} are all zero; give at least one weight > 0")
        return weights


class WeightedSamplerNodeConfig(NodeConfig):
    """A `weighted_sampler` node. Its output keys are its attribute names."""

    node_type: Literal["weighted_sampler"] = "weighted_sampler"
    attributes: dict[str, AttributeConfig]
    """Attribute name → `{values: [...], weights: [...]}`; each name becomes a state key."""

    @model_validator(mode="after")
    def _attributes(self) -> WeightedSamplerNodeConfig:
        if not self.attributes:
            raise ValueError("`attributes` needs at least one `name: {values: [...]}` entry")
        for name, attribute in self.attributes.items():
            values = attribute.values
            if isinstance(values, list):
                _check_lengths(name, values, attribute.weights)
        keys = self.output_key_list()
        if keys and set(keys) != set(self.attributes):
            raise ValueError(
                f"output_keys {keys!r} differ from the attribute names "
                f"{list(self.attributes)!r}; a weighted_sampler writes its attributes, so "
                "drop output_keys"
            )
        return self


def _check_lengths(
    name: str, values: Sequence[Any], weights: Sequence[float] | None, origin: str = ""
) -> None:
    """``origin`` says where file-read values came from (`` in column 'c' of 'f.jsonl'``)."""
    if not values:
        raise ValueError(f"attribute {name!r}: no values{origin}; give at least one value")
    if weights is not None and len(weights) != len(values):
        raise ValueError(
            f"attribute {name!r}: {len(weights)} weights for {len(values)} values{origin}; "
            "give one weight per value, or drop weights for a uniform draw"
        )


class WeightedAttribute:
    """One attribute ready to draw from: values and cumulative weights."""

    def __init__(self, name: str, values: Sequence[Any], weights: Sequence[float] | None) -> None:
        self.name = name
        self.values = tuple(values)
        self.cum_weights = tuple(itertools.accumulate(weights)) if weights is not None else None

    def draw(self, rng: random.Random) -> Any:
        if self.cum_weights is None:
            return self.values[rng.randrange(len(self.values))]
        return rng.choices(self.values, cum_weights=self.cum_weights)[0]


class WeightedSamplerNode:
    """Draws each attribute's value with ``random.Random(ctx.rng_seed())``."""

    config_model: ClassVar[type[WeightedSamplerNodeConfig]] = WeightedSamplerNodeConfig

    def __init__(self, name: str, attributes: Sequence[WeightedAttribute]) -> None:
        self.name = name
        self.attributes = tuple(attributes)

    @classmethod
    def build(
        cls, name: str, config: WeightedSamplerNodeConfig, env: BuildEnv
    ) -> WeightedSamplerNode:
        attributes: list[WeightedAttribute] = []
        for attr, spec in config.attributes.items():
            if isinstance(spec.values, ColumnValues):
                values = read_column(name, attr, spec.values, env.task_dir)
                origin = f" in column {spec.values.column!r} of {spec.values.origin()!r}"
                try:
                    _check_lengths(attr, values, spec.weights, origin)
                except ValueError as exc:
                    raise ConfigError(f"weighted_sampler node {name!r}, {exc}") from None
            else:
                values = spec.values
            attributes.append(WeightedAttribute(attr, values, spec.weights))
        return cls(name, attributes)

    @property
    def output_keys(self) -> tuple[str, ...]:
        return tuple(attribute.name for attribute in self.attributes)

    async def run(self, state: Mapping[str, Any], ctx: NodeContext) -> Mapping[str, Any]:
        rng = random.Random(ctx.rng_seed())
        return {attribute.name: attribute.draw(rng) for attribute in self.attributes}


def read_column(node: str, attribute: str, spec: ColumnValues, task_dir: Path) -> list[Any]:
    """Every record's ``spec.column`` (each of them, for a list) from the source, read once
    when the task compiles."""
    path = ("graph_config", "nodes", node, "attributes", attribute, "values", "source")
    where = f"weighted_sampler node {node!r}, attribute {attribute!r}"
    source_type = plugin.sources.get(str(spec.source["type"]))
    config = validate_block(source_type.config_model, spec.source, path=path, document=None)
    origin = spec.origin()
    columns = [spec.column] if isinstance(spec.column, str) else spec.column
    values: list[Any] = []
    try:
        source = source_type.from_config(config, task_dir)
        for item in source.iter_records():
            if item.error is not None:
                raise ConfigError(f"{where}: cannot read a value: {item.error}; fix the file")
            for column in columns:
                if column not in item.data:
                    raise ConfigError(
                        f"{where}: record {item.record_id!r} of {origin!r} has no column "
                        f"{column!r} (columns: {', '.join(sorted(item.data)) or 'none'}); "
                        "fix `column` or the file"
                    )
                values.append(item.data[column])
    except ConfigError:
        raise
    except GraspError as exc:
        raise ConfigError(f"{where}: cannot read values from {origin!r}: {exc}") from exc
    return values
