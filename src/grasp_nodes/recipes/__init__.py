"""Reusable subgraphs. Use one from a task as ``graph: grasp_nodes.recipes.<name>``.

- ``evol_instruct``: evolve an ``instruction`` in depth or in breadth (Evol-Instruct); writes
  ``evolved_instruction``, ``evolution`` and ``depth_method``.
- ``llm_judge``: generate a ``response`` to ``prompt``, have a judge score it, regenerate
  with the judge's feedback until ``score >= judge_threshold`` (default 8) or
  ``judge_max_rounds`` (default 3) rounds; writes ``response``, ``score``, ``feedback``,
  ``judge_rounds``.
- ``critique_and_revise``: critique a ``response`` to ``prompt``, then write
  ``revised_response``.
- ``quality_judge``: rate a ``question`` (1-5), tag the ``conversation``'s category and
  subcategory, and score the ``response`` per criterion with the category's rubric; writes
  ``judge`` (the ``quality`` node runs it; see docs/how-to/quality-tagging.md).
- ``self_refinement``: SyGra's recipe of that name: generate a ``candidate`` for ``prompt``,
  judge it, refine it with the critique until accepted or ``max_iterations`` (the params of
  ``init_self_refine``, default 2); writes ``candidate``, ``self_refine_judge`` and
  ``reflection_trajectory``.

Each inner llm node calls the model ``recipe_model``; set the subgraph's ``model:`` (or
``node_config_map``) to choose real ones. The YAML lives beside this file.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grasp_core import Graph

__all__ = [
    "RECIPES",
    "critique_and_revise",
    "evol_instruct",
    "llm_judge",
    "quality_judge",
    "recipe",
    "self_refinement",
]

RECIPES = (
    "critique_and_revise",
    "evol_instruct",
    "llm_judge",
    "quality_judge",
    "self_refinement",
)
_HERE = Path(__file__).parent


@cache
def recipe(name: str) -> Graph:
    """The recipe ``name`` as a builder graph."""
    from grasp_core import Graph
    from grasp_core.errors import ConfigError

    if name not in RECIPES:
        raise ConfigError(f"unknown recipe {name!r}; recipes: {', '.join(RECIPES)}")
    return Graph.from_yaml(_HERE / f"{name}.yaml")


def __getattr__(name: str) -> Any:
    if name in RECIPES:
        return recipe(name)
    raise AttributeError(f"module 'grasp_nodes.recipes' has no attribute {name!r}")
