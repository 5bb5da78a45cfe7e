"""``output_config``: how a finished record's state becomes an output record."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from grasp_core.config._base import StrictModel
from grasp_core.config.formats import OasstMapperConfig
from grasp_core.config.quality import DataQualityConfig

__all__ = ["OutputConfig", "OutputField"]


class OutputField(StrictModel):
    """One output column: taken `from` a state key, or a constant `value`."""

    from_: str | None = Field(default=None, alias="from")
    """State key to copy (dots reach into nested dicts: `judge.score`)."""
    value: Any = None
    """A constant; strings starting with `$` are paths into this task file."""
    transform: str | None = None
    """Name of a method of the `generator` class applied to the value."""
    required: bool | None = None
    """Whether a record whose state lacks the `from` key fails (`true`) or gets null
    (`false`). Unset: `true`, except in a task file named `graph_config.yaml`, where it is
    `false` (SyGra's behaviour, for its tasks)."""

    @model_validator(mode="after")
    def _source(self) -> OutputField:
        if self.from_ is None and self.value is None and self.transform is None:
            raise ValueError("an output field needs `from`, `value` or `transform`")
        if self.from_ is not None and self.value is not None:
            raise ValueError("an output field takes `from` or `value`, not both")
        return self


class OutputConfig(StrictModel):
    """The output record's shape. Without it, every JSON-safe state key is written."""

    output_map: dict[str, OutputField] | None = None
    """Output field name → where its value comes from."""
    generator: str | None = None
    """Dotted path to a class with `generate(state) -> record | None` and transform methods."""
    allowed_failures: float | int | None = Field(default=None, ge=0, allow_inf_nan=False)
    """Failure budget: a count, or a fraction below 1. Within it the run exits 0."""
    oasst_mapper: OasstMapperConfig | None = None
    """Write OpenAssistant-style message rows (`type: sft | dpo`); see output-formats.md."""
    format: str | None = None
    """A registered row format for every record: `sft` (TRL messages), `dpo` (TRL
    prompt/chosen/rejected), `oasst_sft`, `oasst_dpo`, or a third-party one."""
    data_quality: DataQualityConfig | None = None
    """Quality tags added to every output record under `quality` (see quality-tagging.md)."""
