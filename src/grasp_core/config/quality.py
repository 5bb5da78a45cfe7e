"""``output_config.data_quality``: which quality tags a run adds to each output record.

The same fields configure the ``quality`` node type (``grasp_nodes.quality``), which does the
tagging; the core only appends that node to a run's graph by its registered name.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from grasp_core.config._base import StrictModel
from grasp_core.config.parameters import ModelParameters

__all__ = ["QUALITY_TASKS", "DataQualityConfig", "QualityTask"]

QualityTask = Literal["heuristics", "judge"]
QUALITY_TASKS: tuple[QualityTask, ...] = ("heuristics", "judge")
_DEFAULT_TASKS: tuple[QualityTask, ...] = ("heuristics",)


class DataQualityConfig(StrictModel):
    """Quality tagging: heuristics computed in Python, and an LLM judge."""

    tasks: list[QualityTask] = Field(default_factory=lambda: list(_DEFAULT_TASKS))
    """What to compute: `heuristics` (counts, diversity, language, refusal... no model
    calls) and/or `judge` (an LLM rates the question and the response and tags a category)."""
    messages_field: str | None = None
    """Field holding the role/content list. Default: `conversation`, else `messages`."""
    prompt_fields: list[str] = Field(default_factory=list)
    """Instead of a role/content list: fields whose text is the user's side (dots reach
    into nested dicts)."""
    response_fields: list[str] = Field(default_factory=list)
    """Instead of a role/content list: fields whose text is the assistant's side."""
    output_key: str = "quality"
    """Record key that receives the tags."""
    judge_model: str = "judge"
    """Model name (from the models file) that the judge calls."""
    judge_parameters: ModelParameters = Field(default_factory=lambda: {"temperature": 0.0})
    """Request parameters of the judge's calls."""
    judge_graph: str | None = None
    """Another judge graph (a YAML file beside the task, or a dotted path); default
    `grasp_nodes.recipes.quality_judge`."""
    repetition_ngram: int = Field(default=3, ge=1, le=10)
    """`n` of the word n-grams whose duplicates make `repetition_ratio`."""
    repetition_threshold: float = Field(default=0.3, ge=0, le=1)
    """`repetition_ratio` above this adds the `repetitive` flag."""
    expects_json: bool | None = None
    """Whether responses must be JSON; default: when the prompt mentions JSON."""

    @field_validator("tasks")
    @classmethod
    def _tasks(cls, tasks: list[QualityTask]) -> list[QualityTask]:
        if not tasks:
            raise ValueError(f"name at least one quality task: {', '.join(QUALITY_TASKS)}")
        return list(dict.fromkeys(tasks))
