"""The ``quality`` node: heuristic tags and an LLM judge's scores under one state key."""

from __future__ import annotations

from collections.abc import Mapping
from statistics import mean
from typing import Any, ClassVar, Literal

import anyio.to_thread

from grasp_core.errors import NodeError
from grasp_core.plugin import BuildEnv, DataQualityConfig, NodeConfig, NodeContext, YamlPath
from grasp_nodes.quality.heuristic_tags import flags_of, heuristic_score, heuristics
from grasp_nodes.quality.text import RecordText, record_text
from grasp_nodes.subgraph import SubgraphNode, SubgraphNodeConfig

__all__ = ["DEFAULT_JUDGE_GRAPH", "QualityNode", "QualityNodeConfig"]

DEFAULT_JUDGE_GRAPH = "grasp_nodes.recipes.quality_judge"


class QualityNodeConfig(NodeConfig, DataQualityConfig):
    """A `quality` node: the `data_quality` options, on the record state."""

    node_type: Literal["quality"] = "quality"


class QualityNode:
    """Tags the record: ``{heuristics, flags, judge, overall}`` under ``output_key``."""

    config_model: ClassVar[type[QualityNodeConfig]] = QualityNodeConfig

    def __init__(self, name: str, config: QualityNodeConfig, judge: SubgraphNode | None) -> None:
        self.name = name
        self.config = config
        self.judge = judge
        self.model_names = judge.model_names if judge is not None else ()
        keys = config.output_key_list()
        self._key = keys[0] if keys else config.output_key

    @classmethod
    def build(cls, name: str, config: QualityNodeConfig, env: BuildEnv) -> QualityNode:
        judge = None
        if "judge" in config.tasks:
            inner = SubgraphNodeConfig.model_validate(
                {
                    "node_type": "subgraph",
                    "graph": config.judge_graph or DEFAULT_JUDGE_GRAPH,
                    "model": {"name": config.judge_model, "parameters": config.judge_parameters},
                    "output_map": {"judge": "judge"},
                }
            )
            judge = SubgraphNode.build(name, inner, env)
            judge.check_inputs(
                _JUDGE_INPUTS, what=f"the judge's inputs ({', '.join(_JUDGE_INPUTS)})"
            )
        return cls(name, config, judge)

    def input_keys(self) -> dict[str, YamlPath]:
        """The fields it tags: ``prompt_fields`` and ``response_fields``, else a set
        ``messages_field`` (by default ``conversation`` or ``messages``, either one, which
        only the record can tell)."""
        cfg = self.config
        fields: dict[str, YamlPath] = {
            **{f: ("prompt_fields", i) for i, f in enumerate(cfg.prompt_fields)},
            **{f: ("response_fields", i) for i, f in enumerate(cfg.response_fields)},
        }
        if not fields and cfg.messages_field:
            fields[cfg.messages_field] = ("messages_field",)
        return fields

    @property
    def output_keys(self) -> tuple[str, ...]:
        return (self._key,)

    async def run(self, state: Mapping[str, Any], ctx: NodeContext) -> Mapping[str, Any]:
        cfg = self.config
        text = record_text(
            state,
            messages_field=cfg.messages_field,
            prompt_fields=cfg.prompt_fields,
            response_fields=cfg.response_fields,
            record_id=ctx.record_id,
        )
        tags: dict[str, Any] = {}
        if "heuristics" in cfg.tasks:
            found = await anyio.to_thread.run_sync(self._heuristics, text)
            tags["heuristics"] = found
            tags["flags"] = flags_of(found, repetition_threshold=cfg.repetition_threshold)
        if self.judge is not None:
            tags["judge"] = await self._judge(text, ctx)
        tags["overall"] = overall(tags)
        return {self._key: tags}

    def _heuristics(self, text: RecordText) -> dict[str, Any]:
        cfg = self.config
        return heuristics(text, ngram=cfg.repetition_ngram, expects_json=cfg.expects_json)

    async def _judge(self, text: RecordText, ctx: NodeContext) -> dict[str, Any]:
        assert self.judge is not None
        if not text.has_reply:
            raise NodeError(
                f"record {ctx.record_id!r}: the judge needs an assistant reply to rate, and "
                "the record has none; set response_fields, or tag without `judge`",
                node=self.name,
            )
        inputs = {
            "question": text.last_question,
            "response": text.last_response,
            "conversation": text.transcript(),
        }
        result = await self.judge.run(inputs, ctx)
        return self._verdict(result.get("judge"), ctx.record_id)

    def _verdict(self, judge: Any, record_id: str) -> dict[str, Any]:
        """The judge graph's ``judge`` block, checked for the scores ``overall`` reads."""
        graph = self.config.judge_graph or DEFAULT_JUDGE_GRAPH
        if not isinstance(judge, Mapping):
            raise NodeError(
                f"record {record_id!r}: judge graph {graph!r} must set a `judge` mapping, "
                f"got {type(judge).__name__}; see the judge recipe for its keys",
                node=self.name,
            )
        missing = [key for key in _JUDGE_SCORES if not _is_score(judge.get(key))]
        if missing:
            raise NodeError(
                f"record {record_id!r}: judge graph {graph!r} returned a `judge` block "
                f"without numeric {' and '.join(map(repr, missing))} (keys: "
                f"{', '.join(sorted(map(str, judge))) or 'none'}); a custom judge must set "
                "both 1-5 scores",
                node=self.name,
            )
        return dict(judge)


_JUDGE_SCORES = ("response_quality", "question_quality")
_JUDGE_INPUTS = ("question", "response", "conversation")
"""The keys a judge graph starts with."""
"""The judge block's scores that ``overall`` averages; a custom judge graph sets both."""


def _is_score(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def overall(tags: Mapping[str, Any]) -> float:
    """One 1-5 number: the judge's mean of question and response quality when the judge ran
    (1 when a heuristic flags the record `empty`), else the heuristic score."""
    flags = tags.get("flags", [])
    judge = tags.get("judge")
    if judge is not None:
        if "empty" in flags:
            return 1.0
        parts = [judge["response_quality"], judge["question_quality"]]
        return round(mean(float(p) for p in parts), 2)
    return float(heuristic_score(list(flags)))
