"""The ``subgraph`` node: another graph run as one node, with key mapping and overrides.

The inner graph comes from a task or graph YAML file (relative to the task), a dotted path to
a graph built in Python (a ``Graph`` from the builder, or a ``graph_config`` dict), or an
inline ``graph_config``. Its node runs are journaled under qualified names
(``evolve.strategy``), so a resumed record continues inside the subgraph too.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from grasp_core.errors import CompileError, ConfigError, NodeError
from grasp_core.plugin import (
    APPEND_KEYS,
    REPLY_FLAGS,
    BuildEnv,
    CompiledGraph,
    GraphConfig,
    NodeConfig,
    NodeContext,
    YamlPath,
    check_state_reads,
    compile_graph,
    folder_task_file,
    free_reads,
    load_yaml,
    resolve_dotted,
    validate_block,
)
from grasp_nodes._model_call import ModelRef
from grasp_nodes._sygra_keys import subgraph_keys

__all__ = ["SubgraphNode", "SubgraphNodeConfig"]


class SubgraphNodeConfig(NodeConfig):
    """A `subgraph` node."""

    node_type: Literal["subgraph"] = "subgraph"
    graph: Any = None
    """A YAML file (a task, or just nodes and edges) relative to this task, a folder holding
    one (`task.yaml`), or a dotted path to a graph built in Python (a builder `Graph` or a
    `graph_config` dict)."""
    graph_config: dict[str, Any] | None = None
    """The inner graph written inline (nodes, edges, options)."""
    input_map: dict[str, str] | None = None
    """Inner state key → outer state key. Without it the inner graph sees the whole state."""
    output_map: dict[str, str] | None = None
    """Outer state key → inner state key. Without it every key an inner node writes comes back."""
    model: ModelRef | None = None
    """A model for every inner node that calls one (per-node overrides still win)."""
    node_config_map: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Inner node → config keys to override; `prompt_placeholder_map: {old: new}` renames
    `{old}` to `{new}` in that node's prompt."""

    @model_validator(mode="before")
    @classmethod
    def _sygra_spelling(cls, data: Any) -> Any:
        """SyGra names the inner graph under `subgraph:` (its packaged recipes map to
        GraSP's: `_sygra_keys.subgraph_keys`)."""
        data = subgraph_keys(data)
        if isinstance(data, Mapping) and "subgraph" in data:
            if "graph" in data:
                raise ValueError("subgraph and graph are both set; keep `graph`")
            data = {("graph" if k == "subgraph" else k): v for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _one_source(self) -> SubgraphNodeConfig:
        if (self.graph is None) == (self.graph_config is None):
            raise ValueError("a subgraph takes exactly one of `graph` and `graph_config`")
        return self


class SubgraphNode:
    """Runs its inner graph for the record and maps keys in and out."""

    config_model: ClassVar[type[SubgraphNodeConfig]] = SubgraphNodeConfig

    def __init__(
        self, name: str, config: SubgraphNodeConfig, graph: CompiledGraph, inner_keys: list[str]
    ) -> None:
        self.name = name
        self.config = config
        self.graph = graph
        self.model_names = tuple(
            m for n in graph.nodes.values() for m in getattr(n.node, "model_names", ())
        )
        self._keys = tuple(config.output_map) if config.output_map else tuple(inner_keys)
        self.inner_env: BuildEnv | None = None
        """What the inner graph was built with: its file and YAML path, for error locations."""

    @classmethod
    def build(cls, name: str, config: SubgraphNodeConfig, env: BuildEnv) -> SubgraphNode:
        raw, identity, inner_env = _load(name, config, env)
        if identity in env.subgraph_chain:
            chain = " -> ".join([*env.subgraph_chain, identity])
            raise CompileError(f"subgraph {name!r} includes itself: {chain}")
        raw = _override(raw, config, name)
        inner_env = dataclasses.replace(inner_env, subgraph_chain=(*env.subgraph_chain, identity))
        graph_config = validate_block(
            GraphConfig, raw, path=inner_env.graph_root, document=inner_env.document
        )
        graph = compile_graph(graph_config, inner_env)
        inner_keys = sorted({k for n in graph.nodes.values() for k in n.node.output_keys})
        node = cls(name, config, graph, inner_keys)
        node.inner_env = inner_env
        if config.input_map:
            node.check_inputs(config.input_map, what=f"the input_map keys of subgraph {name!r}")
        return node

    def check_inputs(self, keys: Iterable[str], *, what: str) -> None:
        """Refuse an inner graph that reads a key neither ``keys`` (all it starts with, named
        ``what`` in messages) nor its own nodes provide, or whose ``output_map`` takes a
        key the inner graph never holds."""
        env = self.inner_env
        found = check_state_reads(
            self.graph,
            keys,
            document=env.document if env is not None else None,
            root=env.graph_root if env is not None else ("graph_config",),
            what=what,
        )
        held = found.at_end()
        for outer, inner in (self.config.output_map or {}).items():
            if held is not None and inner not in held:
                raise ConfigError(
                    f"output_map.{outer}: the inner graph never holds {inner!r} (it ends with "
                    f"{', '.join(sorted(held)) or 'no key'}); map a key it writes"
                )

    def input_keys(self) -> dict[str, YamlPath]:
        """The outer keys the subgraph reads: its ``input_map``'s, else the keys its inner
        nodes read that no inner node writes."""
        if self.config.input_map:
            return {outer: ("input_map", inner) for inner, outer in self.config.input_map.items()}
        at = "graph" if self.config.graph is not None else "graph_config"
        return dict.fromkeys(free_reads(self.graph), (at,))

    @property
    def output_keys(self) -> tuple[str, ...]:
        return self._keys

    async def run(self, state: Mapping[str, Any], ctx: NodeContext) -> Mapping[str, Any]:
        if ctx.run_graph is None:  # pragma: no cover - the walker always provides it
            raise NodeError(f"node {self.name!r}: no graph runner in this context")
        inner = self._inputs(state, ctx)
        history = len(inner.get("messages") or [])
        flagged = len(inner.get(REPLY_FLAGS) or [])
        prefix = self.name if ctx.iteration == 0 else f"{self.name}@{ctx.iteration}"
        final = await ctx.run_graph(self.graph, inner, prefix)
        # replies the inner nodes kept although cut off or empty stay flagged on the record
        new_flags = list(final.get(REPLY_FLAGS) or [])[flagged:]
        flags = {REPLY_FLAGS: new_flags} if new_flags else {}
        if self.config.output_map:
            missing = [k for k in self.config.output_map.values() if k not in final]
            if missing:
                raise NodeError(
                    f"record {ctx.record_id!r}, subgraph {self.name!r}: the inner graph wrote "
                    f"no {', '.join(map(repr, missing))}; check output_map",
                    node=self.name,
                )
            return {
                **flags,
                **{
                    outer: (
                        list(final[inner_key])[history:]
                        if outer in APPEND_KEYS and inner_key == "messages"
                        else final[inner_key]
                    )
                    for outer, inner_key in self.config.output_map.items()
                },
            }
        delta = {k: final[k] for k in self._keys if k in final and k not in APPEND_KEYS}
        if "messages" in self._keys and final.get("messages"):
            delta["messages"] = list(final["messages"])[history:]
        return {**delta, **flags}

    def _inputs(self, state: Mapping[str, Any], ctx: NodeContext) -> dict[str, Any]:
        if not self.config.input_map:
            return dict(state)
        missing = [outer for outer in self.config.input_map.values() if outer not in state]
        if missing:
            raise NodeError(
                f"record {ctx.record_id!r}, subgraph {self.name!r}: the state has no "
                f"{', '.join(map(repr, missing))} (needed by input_map)",
                node=self.name,
            )
        return {inner: state[outer] for inner, outer in self.config.input_map.items()}


def _load(
    name: str, config: SubgraphNodeConfig, env: BuildEnv
) -> tuple[dict[str, Any], str, BuildEnv]:
    """The inner graph's raw config, an identity for loop detection, and its build env."""
    node_path: YamlPath = (*env.graph_root, "nodes", name)
    if config.graph_config is not None:
        inner_env = dataclasses.replace(env, graph_root=(*node_path, "graph_config"))
        return dict(config.graph_config), f"{':'.join(map(str, node_path))}", inner_env
    spec = config.graph
    folder_file = None
    if isinstance(spec, str) and not spec.endswith((".yaml", ".yml")):
        folder_file = folder_task_file(spec, env.task_dir)
    if folder_file is not None or (isinstance(spec, str) and spec.endswith((".yaml", ".yml"))):
        path = folder_file or (Path(spec) if Path(spec).is_absolute() else env.task_dir / spec)
        if not path.is_file():
            raise ConfigError(
                f"subgraph {name!r}: graph file {str(path)!r} does not exist (paths are "
                "relative to the task's folder)"
            )
        document = load_yaml(path)
        data = document.data if isinstance(document.data, dict) else {}
        root: YamlPath = ("graph_config",) if "graph_config" in data else ()
        raw = data.get("graph_config", data)
        inner_env = dataclasses.replace(
            env, task_dir=path.resolve().parent, document=document, graph_root=root
        )
        return dict(raw), str(path.resolve()), inner_env
    target = resolve_dotted(spec, env.task_dir, what="subgraph") if isinstance(spec, str) else spec
    raw = _as_graph_dict(target, name)
    return raw, str(spec), dataclasses.replace(env, document=None, graph_root=("graph_config",))


def _as_graph_dict(target: Any, name: str) -> dict[str, Any]:
    if hasattr(target, "to_graph_config"):
        target = target.to_graph_config()
    if isinstance(target, GraphConfig):
        return target.model_dump(by_alias=True, exclude_unset=True)
    if isinstance(target, Mapping):
        return dict(target.get("graph_config", target))
    raise ConfigError(
        f"subgraph {name!r}: {type(target).__name__} is not a graph; point `graph` at a YAML "
        "file, a builder Graph or a graph_config dict"
    )


def _override(raw: dict[str, Any], config: SubgraphNodeConfig, name: str) -> dict[str, Any]:
    raw = copy.deepcopy(raw)
    nodes: dict[str, dict[str, Any]] = raw.get("nodes") or {}
    if config.model is not None:
        for node in nodes.values():
            if isinstance(node, dict) and "model" in node:
                node["model"] = config.model.model_dump()
    for inner, overrides in config.node_config_map.items():
        if inner not in nodes:
            raise ConfigError(
                f"subgraph {name!r}: node_config_map names {inner!r}, which is not an inner "
                f"node; inner nodes: {', '.join(sorted(nodes))}"
            )
        target = nodes[inner]
        for key, value in overrides.items():
            if key == "prompt_placeholder_map":
                target["prompt"] = _rename_placeholders(target.get("prompt", []), value)
            elif isinstance(value, dict) and isinstance(target.get(key), dict):
                target[key] = {**target[key], **value}
            else:
                target[key] = value
    return raw


def _rename_placeholders(prompt: Any, renames: Mapping[str, str]) -> Any:
    if isinstance(prompt, str):
        for old, new in renames.items():
            prompt = prompt.replace("{" + old + "}", "{" + new + "}")
        return prompt
    if isinstance(prompt, list):
        return [_rename_placeholders(p, renames) for p in prompt]
    if isinstance(prompt, dict):
        return {k: _rename_placeholders(v, renames) for k, v in prompt.items()}
    return prompt
