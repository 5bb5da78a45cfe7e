"""SyGra's spellings of node keys, read as GraSP's before a node config is validated.

The dialect is accepted, not advertised (docs/how-to/coming-from-sygra.md has the mapping).
Node types reach these through ``grasp_core.plugin``; ``grasp convert sygra`` applies the same
functions to rewrite a task file in GraSP's spelling, so the mapping is written once:
each function takes a node's raw config (``task_keys``: the whole task file) and returns it
in GraSP's spelling, or raises a
``ValueError`` whose message names GraSP's equivalent (pydantic turns it into one line with
the file, line and YAML path). A key close to one of GraSP's own names is never moved, so a
typo still meets the did-you-mean of the strict models. ``subgraph_keys`` maps SyGra's
packaged recipes to GraSP's.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationInfo

__all__ = [
    "SYGRA_RECIPES",
    "in_sygra_file",
    "lambda_keys",
    "model_keys",
    "node_keys",
    "subgraph_keys",
    "task_keys",
    "web_agent_keys",
    "yes_flag",
]

_MODEL_FIELDS = ("name", "parameters", "cache", "output_type", "input_type")


def in_sygra_file(info: ValidationInfo) -> bool:
    """Whether the config being validated comes from SyGra's task file (`graph_config.yaml`):
    only there do unknown keys take SyGra's meaning (rather than being refused)."""
    return bool(info.context and info.context.get("dialect") == "sygra")


def task_keys(data: Any) -> Any:
    """SyGra's task-level spellings in its own file: ``data_config.resumable`` is dropped
    (GraSP's journal makes every run resumable: ``grasp run --resume``, or ``--overwrite``
    to start afresh). ``data`` itself is left as it is."""
    if not isinstance(data, Mapping) or not isinstance(data.get("data_config"), Mapping):
        return data
    if "resumable" not in data["data_config"]:
        return data
    data_config = {k: v for k, v in data["data_config"].items() if k != "resumable"}
    return {**data, "data_config": data_config}


def model_keys(model: Any, *, sygra: bool) -> tuple[Any, Any]:
    """A ``model:`` block in GraSP's spelling, and the ``structured_output`` it held (SyGra
    writes it inside the model block; GraSP on the node). In SyGra's file, request
    parameters written directly under ``model:`` (``temperature: 0.2``) move into
    ``parameters``."""
    if not isinstance(model, Mapping):
        return model, None
    block = dict(model)
    if "provider" in block:
        raise ValueError(
            f"model.provider ({block['provider']!r}) is SyGra's spelling; in GraSP the "
            "provider is the route of the models-file entry (`model: openai/gpt-4o`, "
            "`hosted_vllm/...`): remove `provider` from the node"
        )
    structured = block.pop("structured_output", None)
    loose = {
        key: block.pop(key)
        for key in list(block)
        if sygra
        and key not in _MODEL_FIELDS
        and not difflib.get_close_matches(str(key), _MODEL_FIELDS, n=1, cutoff=0.75)
    }
    if loose:
        parameters = block.get("parameters") or {}
        if not isinstance(parameters, Mapping):
            return block, structured  # the strict model reports the bad `parameters`
        doubled = sorted(set(loose) & set(parameters))
        if doubled:
            raise ValueError(
                f"model: {', '.join(doubled)} set both directly under `model` and in "
                "`model.parameters`; keep one, under `parameters`"
            )
        block["parameters"] = {**parameters, **loose}
    return block, structured


def node_keys(data: Any, *, sygra: bool, models_key: str = "model", llm: bool = False) -> Any:
    """SyGra's node-level spellings for nodes that call models (llm, agent, multi_llm):
    ``structured_output`` inside the model block, loose model parameters, ``output_key``,
    ``input_key`` and ``chat_history``. With ``sygra`` and ``llm`` (the config is an llm
    node's), the node sends and stores ``messages`` as SyGra's does (``append_messages``,
    ``send_history``, ``store_messages``)."""
    if not isinstance(data, Mapping):
        return data
    node = dict(data)
    if models_key == "model" and "model" in node:
        node["model"], structured = model_keys(node["model"], sygra=sygra)
        _lift_structured(node, structured, "model.structured_output")
    elif models_key == "models" and isinstance(node.get("models"), Mapping):
        models: dict[str, Any] = {}
        per_model: dict[str, Any] = dict(node.get("structured_outputs") or {})
        for label, ref in node["models"].items():
            models[label], structured = model_keys(ref, sygra=sygra)
            if structured is not None:
                if label in per_model:
                    raise ValueError(
                        f"models.{label}.structured_output and structured_outputs.{label} "
                        "are both set; keep one"
                    )
                per_model[label] = structured
        node["models"] = models
        if per_model:
            node["structured_outputs"] = per_model
    if "output_key" in node:
        if "output_keys" in node:
            raise ValueError("output_key and output_keys are both set; keep `output_keys`")
        node["output_keys"] = node.pop("output_key")
    if "input_key" in node:
        _input_key(node, node.pop("input_key"))
    if sygra and llm:
        _llm_messages(node)
    if sygra and "inject_system_messages" in node:
        node["inject_by_iteration"] = _turn_messages(node.pop("inject_system_messages"))
    if "chat_history" in node and yes_flag(node.pop("chat_history")) is False:
        raise ValueError(
            "chat_history: false: GraSP sends the history to every model-calling node "
            "of a `chat_conversation: multiturn` graph and to none of a singleturn one; "
            "remove chat_history and choose with graph_config.chat_conversation"
        )
    return node


def _input_key(node: dict[str, Any], key: Any) -> None:
    """SyGra's ``input_key``: the state key whose messages follow the prompt. ``messages``
    is its default (in SyGra's file an llm node gets ``append_messages: messages`` anyway);
    another key on an llm node is GraSP's ``append_messages`` (sent after the prompt,
    nothing when the key is missing)."""
    if key in (None, "messages"):
        return
    if node.get("node_type", "llm") != "llm":
        raise ValueError(
            f"input_key {key!r}: only llm nodes send a key's messages after the prompt "
            "(`append_messages`); this node reads the chat history from the record's "
            "`messages`: copy that key into `messages` with a pre_process hook, or remove "
            "input_key"
        )
    if node.get("append_messages") not in (None, key):
        raise ValueError(
            f"input_key {key!r} and append_messages {node['append_messages']!r} are both "
            "set; keep `append_messages`"
        )
    node["append_messages"] = key


def _llm_messages(node: dict[str, Any]) -> None:
    """SyGra's llm node sends its prompt followed by ``state[input_key]`` (``messages`` by
    default) in every graph, never the history before the prompt; its default
    post-processor adds only the reply to ``messages``, or with ``output_keys`` nothing
    (the reply is under the key). A custom ``post_process`` decides what is stored from the
    result, and reads the reply as the result's last message (``response.message``): so
    with one, the reply stays in the result for it (``reply``), and what the hook returns is
    what is stored. Keys the node sets itself are kept."""
    node.setdefault("append_messages", "messages")
    node.setdefault("send_history", False)
    keyed = node.get("output_keys") and not node.get("post_process")
    node.setdefault("store_messages", "none" if keyed else "reply")


def _turn_messages(value: Any) -> Any:
    """SyGra's ``inject_system_messages`` (``{3: text}``, or a list of such one-key
    mappings) as one mapping. Its turns count the record's conversation, not the model calls
    of one agent run (GraSP's ``inject_system_messages``), so they go to
    ``inject_by_iteration``: the node's Nth run for the record, which is SyGra's turn N when
    two nodes take turns."""
    if not isinstance(value, list):
        return value
    merged: dict[Any, Any] = {}
    for item in value:
        if not isinstance(item, Mapping):
            raise ValueError(
                f"inject_system_messages: {item!r} is not a `turn: message` mapping; write "
                "`- 3: Please continue the discussion.`"
            )
        merged.update(item)
    return merged


def _lift_structured(node: dict[str, Any], structured: Any, where: str) -> None:
    if structured is None:
        return
    if node.get("structured_output") is not None:
        raise ValueError(
            f"{where} and the node's structured_output are both set; keep the node's "
            "`structured_output`"
        )
    node["structured_output"] = structured


def lambda_keys(data: Any, known: frozenset[str], *, sygra: bool) -> Any:
    """SyGra's ``function_type`` is dropped (GraSP tells ``async def`` apart itself); in
    SyGra's file, a lambda node's keys beyond GraSP's own go to ``params`` (SyGra passes the
    whole node dict to the function). A key close to a known one stays, for the
    did-you-mean."""
    if not isinstance(data, Mapping):
        return data
    node = dict(data)
    node.pop("function_type", None)
    if not sygra:
        return node
    extra = {
        key: node.pop(key)
        for key in list(node)
        if key not in known and not difflib.get_close_matches(str(key), known, n=1, cutoff=0.8)
    }
    if extra:
        params = node.get("params") or {}
        if isinstance(params, Mapping):
            node["params"] = {**extra, **params}
    return node


def yes_flag(value: Any) -> bool | None:
    """SyGra writes flags as booleans or as ``"yes"``/``"no"``."""
    if isinstance(value, str):
        return value.strip().lower() in ("yes", "true", "1")
    return None if value is None else bool(value)


SYGRA_RECIPES: dict[str, dict[str, Any]] = {
    "evol_instruct": {
        "graph": "grasp_nodes.recipes.evol_instruct",
        "input_map": {"instruction": "text"},
        "output_map": {"evolved_text": "evolved_instruction"},
        "model": {"name": "gpt-4o-mini", "parameters": {"temperature": 1.0}},
    },
    "self_refinement": {
        "graph": "grasp_nodes.recipes.self_refinement",
        "model": {"name": "gpt-4o-mini"},
    },
}
"""SyGra's packaged recipes (``sygra.recipes.<name>``, ``grasp.recipes.<name>`` in its older
releases) → the GraSP subgraph node that does the same: the recipe, the key mapping to
SyGra's names, and SyGra's default model (a node's ``model`` or ``node_config_map`` still
wins). SyGra's evol_instruct reads ``text`` and writes ``evolved_text``."""

_RECIPE_NODES = {"evol_instruct": {"evol_text_node": ("depth", "breadth")}}
"""Inner nodes of SyGra's recipe → GraSP's recipe nodes a ``node_config_map`` entry applies to
(recipes not listed keep SyGra's node names)."""


def web_agent_keys(data: Any, *, sygra: bool) -> Any:
    """SyGra's ``web_agent`` node: ``model`` is a bare model name and ``temperature`` sits
    beside it; GraSP writes ``model: {name: ..., parameters: {temperature: ...}}``."""
    if not sygra or not isinstance(data, Mapping):
        return data
    node = dict(data)
    model = node.get("model")
    if isinstance(model, str):
        model = {"name": model}
    if "temperature" in node and isinstance(model, Mapping):
        parameters = model.get("parameters") or {}
        if isinstance(parameters, Mapping) and "temperature" in parameters:
            raise ValueError(
                "temperature set both on the node and in `model.parameters`; keep one, "
                "under `model.parameters`"
            )
        if isinstance(parameters, Mapping):
            temperature = node.pop("temperature")
            model = {**model, "parameters": {**parameters, "temperature": temperature}}
    if model is not None:
        node["model"] = model
    return node


def subgraph_keys(data: Any) -> Any:
    """A subgraph node naming SyGra's packaged recipe (``subgraph: sygra.recipes.x``) as the
    GraSP recipe node that does the same (see :data:`SYGRA_RECIPES`); anything else as it
    is. Raises ``ValueError`` for a recipe GraSP has no counterpart for, or for overrides of
    a SyGra recipe node GraSP's recipe does not have."""
    if not isinstance(data, Mapping) or not isinstance(data.get("subgraph"), str):
        return data
    root, _, rest = str(data["subgraph"]).replace("/", ".").partition(".")
    kind, _, name = rest.partition(".")
    if root not in ("sygra", "grasp") or kind != "recipes":
        return data
    if name not in SYGRA_RECIPES:
        raise ValueError(
            f"subgraph {data['subgraph']!r}: GraSP has no counterpart for SyGra's recipe "
            f"{name!r} (mapped: {', '.join(sorted(SYGRA_RECIPES))}); copy the recipe's folder "
            "into your tasks and name it with `graph:`"
        )
    node = {k: v for k, v in data.items() if k != "subgraph"}
    node.update({k: copy.deepcopy(v) for k, v in SYGRA_RECIPES[name].items() if k not in node})
    renames = _RECIPE_NODES.get(name)
    overrides = node.get("node_config_map")
    if renames is not None and isinstance(overrides, Mapping):
        mapped: dict[str, Any] = {}
        for inner, settings in overrides.items():
            if inner not in renames:
                raise ValueError(
                    f"node_config_map.{inner}: SyGra's {name} recipe node {inner!r} has no "
                    f"counterpart in GraSP's recipe; override {', '.join(sorted(renames))} "
                    "(the model call) or remove it"
                )
            mapped.update({target: settings for target in renames[inner]})
        node["node_config_map"] = mapped
    return node
