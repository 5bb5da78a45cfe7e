"""The task file: its four blocks, the budget and the post-process steps."""

from __future__ import annotations

from pydantic import Field

from grasp_core.config._base import StrictModel
from grasp_core.config.budget import BudgetConfig
from grasp_core.config.data import DataConfig
from grasp_core.config.graph import GraphConfig
from grasp_core.config.output import OutputConfig
from grasp_core.config.postprocess import StepBlock, SygraProcessor
from grasp_core.config.schema import SchemaConfig

__all__ = ["TaskConfig"]


class TaskConfig(StrictModel):
    """A GraSP task: data, graph, output shape and output schema."""

    data_config: DataConfig = Field(default_factory=DataConfig)
    """Source, sink and size of the run."""
    graph_config: GraphConfig
    """Nodes and edges."""
    output_config: OutputConfig | None = None
    """How state becomes an output record."""
    schema_config: SchemaConfig | None = None
    """Validation of every output record."""
    budget: BudgetConfig | None = None
    """Spending caps (`max_cost` in dollars, `max_tokens`); `--max-cost`/`--max-tokens`
    override them."""
    post_process: list[StepBlock] | None = None
    """Steps run in order over the finished output, writing `NAME.curated.*` and
    `NAME.removed.jsonl` beside it: `- dedup: {method: minhash, fields: [answer]}`, or a
    dotted path to a step or processor class with its settings (see how-to/curate.md)."""
    graph_post_process: list[str | type | SygraProcessor] | None = None
    """SyGra's spelling of `post_process`: processor classes, each a dotted path or
    `processor` with `params`."""
