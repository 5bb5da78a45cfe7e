"""``budget``: spending caps of a run (the task file's optional fifth block)."""

from __future__ import annotations

from pydantic import Field

from grasp_core.config._base import StrictModel

__all__ = ["BudgetConfig"]


class BudgetConfig(StrictModel):
    """Stop admitting records once the run has spent this much; `--resume` continues."""

    max_cost: float | None = Field(default=None, gt=0)
    """Dollars (input and output tokens at each model's price); every model the graph calls
    needs a price, from litellm's table or a `cost:` entry in the models file."""
    max_tokens: int | None = Field(default=None, gt=0)
    """Input plus output tokens over every model call."""
