"""What SyGra's task modules import from SyGra, for hooks moved over by ``grasp convert sygra``.

The converter rewrites imports of SyGra's hook base classes (``sygra.core.graph.functions...``,
``sygra.core.graph.sygra_state``, ``sygra.processors.output_record_generator``,
``sygra.utils.constants``; also the older ``grasp.*`` spellings) to this module. It covers only
the names below: GraSP calls a hook by its signature (docs/how-to/coming-from-sygra.md, "Python
hooks"), so the base classes carry no behaviour; they exist so that the subclasses import.
Anything else a module imports from SyGra is listed in the conversion report, to rewrite by hand.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

__all__ = [
    "BaseOutputGenerator",
    "EdgeCondition",
    "GraspState",
    "LambdaFunction",
    "NodePostProcessor",
    "NodePostProcessorWithState",
    "NodePreProcessor",
    "SygraState",
    "constants",
]

SygraState = dict[str, Any]
"""A record's state: GraSP hands hooks a plain dict."""

GraspState = SygraState
"""SyGra's earlier name for the state."""


class NodePreProcessor:
    """``apply(self, state) -> state``: runs before a node's call."""


class NodePostProcessor:
    """``apply(self, response) -> dict``: the reply as ``response.message.content``."""


class NodePostProcessorWithState:
    """``apply(self, response, state) -> dict``."""


class EdgeCondition:
    """``apply(state) -> str`` (no ``self``: called on the class): the next node's label."""


class LambdaFunction:
    """``apply(lambda_node_dict, state) -> state`` (no ``self``): the node's keys, then the
    state."""


class BaseOutputGenerator:
    """Holds the methods ``output_config.output_map`` names as a field's ``transform``."""


constants = SimpleNamespace(SYGRA_END="__end__", GRASP_END="__end__", END="END", START="START")
"""The constants SyGra's conditions return: ``SYGRA_END`` is LangGraph's end label."""
