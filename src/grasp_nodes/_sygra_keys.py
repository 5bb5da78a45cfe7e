"""SyGra's spellings of node keys (the mapping lives in ``grasp_core.config.sygra_keys``, where
``grasp convert sygra`` reuses it; node types import it from here)."""

from __future__ import annotations

from grasp_core.plugin import (
    in_sygra_file,
    lambda_keys,
    node_keys,
    subgraph_keys,
    web_agent_keys,
)

__all__ = ["in_sygra_file", "lambda_keys", "node_keys", "subgraph_keys", "web_agent_keys"]
