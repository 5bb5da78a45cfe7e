"""Quality tagging: heuristic tags over a record's text, an LLM-judge subgraph, and the
``quality`` node type that puts both under the record's ``quality`` key.

See docs/how-to/quality-tagging.md for every tag.
"""

from grasp_core.plugin import count_tokens
from grasp_nodes.quality.checks import (
    asks_for_json,
    is_blank,
    is_broken_json,
    is_refusal,
    is_truncated,
    unclosed_code_fence,
)
from grasp_nodes.quality.heuristic_tags import FLAG_NAMES, flags_of, heuristic_score, heuristics
from grasp_nodes.quality.judge_steps import CATEGORIES, CRITERIA
from grasp_nodes.quality.language import detect_language
from grasp_nodes.quality.lexical import mtld, repetition_ratio, type_token_ratio, words
from grasp_nodes.quality.node import QualityNode, QualityNodeConfig, overall
from grasp_nodes.quality.text import RecordText, Turn, record_text

__all__ = [
    "CATEGORIES",
    "CRITERIA",
    "FLAG_NAMES",
    "QualityNode",
    "QualityNodeConfig",
    "RecordText",
    "Turn",
    "asks_for_json",
    "count_tokens",
    "detect_language",
    "flags_of",
    "heuristic_score",
    "heuristics",
    "is_blank",
    "is_broken_json",
    "is_refusal",
    "is_truncated",
    "mtld",
    "overall",
    "record_text",
    "repetition_ratio",
    "type_token_ratio",
    "unclosed_code_fence",
    "words",
]
