"""Hypothesis strategies that mutate the base task or damage its YAML text."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from grasp_core import registry
from grasp_core.config.yaml_source import YamlPath
from tests.core.config.bad_tasks import BASE, STEPS_MODULE, Emitter, get, paths_in

_one_line = st.characters(
    exclude_categories=["Cs"], exclude_characters="\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
)
"""Keys are written raw into YAML paths in messages, so they may not break a line (see
test_a_key_with_a_line_break_keeps_the_message_on_one_line)."""
keys = st.text(_one_line, min_size=1, max_size=16)
node_names = st.text(_one_line, min_size=1, max_size=12).filter(
    lambda s: s not in {"START", "END"} and "." not in s and "@" not in s
)
_text = st.text(max_size=24)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats()
    | _text
)
junk = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(_one_line, max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
huge_strings = st.builds(
    lambda piece, count: piece * count,
    st.sampled_from(["x", "é", "\u4e2d", "😀", "{", "\\", "{x}", " "]),
    st.integers(min_value=20_000, max_value=60_000),
)
values = st.one_of(junk, junk, junk, huge_strings)


def mutate(data: st.DataObject, doc: Any) -> Any:
    """Apply one random mutation to ``doc`` (in place where it can); return the result."""
    kind = data.draw(
        st.sampled_from(
            [
                "add-key",
                "replace",
                "delete",
                "node-type",
                "edge-to-unknown",
                "loop",
                "unreachable",
                "other-node-type",
                "top-level",
            ]
        ),
        label="mutation",
    )
    nodes = _dig(doc, ("graph_config", "nodes"))
    edges = _dig(doc, ("graph_config", "edges"))
    names = sorted(map(str, nodes)) if isinstance(nodes, dict) else []
    if kind == "add-key":
        containers = [p for p in [(), *paths_in(doc)] if isinstance(get(doc, p), dict | list)]
        if not containers:
            return doc
        target = get(doc, data.draw(st.sampled_from(containers), label="at"))
        if isinstance(target, dict):
            target[data.draw(keys, label="key")] = data.draw(values, label="value")
        else:
            target.append(data.draw(values, label="item"))
    elif kind in ("replace", "delete") and paths_in(doc):
        path = data.draw(st.sampled_from(paths_in(doc)), label="path")
        parent = get(doc, path[:-1])
        if kind == "delete":
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(values, label="value")
    elif kind == "node-type" and names:
        node = nodes[data.draw(st.sampled_from(names), label="node")]
        if isinstance(node, dict):
            node["node_type"] = data.draw(_text, label="node_type")
    elif kind == "edge-to-unknown" and isinstance(edges, list):
        source = data.draw(st.sampled_from(["START", *names]), label="from")
        edges.append({"from": source, "to": data.draw(node_names, label="to")})
    elif kind == "loop" and isinstance(edges, list) and names:
        source, target = data.draw(st.sampled_from(names)), data.draw(st.sampled_from(names))
        edges.append({"from": source, "to": target})
    elif kind == "unreachable" and isinstance(nodes, dict):
        nodes[data.draw(node_names, label="orphan")] = {
            "node_type": "lambda",
            "lambda": f"{STEPS_MODULE}.double",
            "output_keys": "orphan_out",
        }
    elif kind == "other-node-type" and isinstance(nodes, dict) and isinstance(edges, list):
        node_type = data.draw(st.sampled_from(registry.nodes.names()), label="type")
        fields = st.sampled_from(
            [
                "prompt",
                "model",
                "models",
                "tools",
                "graph",
                "graph_config",
                "attributes",
                "lambda",
                "output_keys",
                "max_steps",
                "input_map",
                "output_map",
                "timeout",
            ]
        )
        config = data.draw(st.dictionaries(fields, values, max_size=4), label="config")
        nodes["extra"] = {"node_type": node_type, **config}
        edges.extend([{"from": "START", "to": "extra"}, {"from": "extra", "to": "END"}])
    elif kind == "top-level":
        return data.draw(st.one_of(junk.filter(lambda v: not isinstance(v, dict)), huge_strings))
    return doc


def _dig(doc: Any, path: YamlPath) -> Any:
    for part in path:
        if not isinstance(doc, dict) or part not in doc:
            return None
        doc = doc[part]
    return doc


def damage(data: st.DataObject, text: str) -> str:
    """Optionally damage the YAML text itself: insert, cut, indent with a tab, nest deeply."""
    kind = data.draw(
        st.sampled_from(["none", "none", "insert", "cut", "tab", "nest", "flow-junk"]),
        label="damage",
    )
    at = data.draw(st.integers(min_value=0, max_value=len(text)), label="offset")
    if kind == "insert":
        piece = data.draw(
            st.text(max_size=8) | st.sampled_from([":", "- ", "{", "[", "&a", "*a", "!!", "'"]),
            label="piece",
        )
        return text[:at] + piece + text[at:]
    if kind == "cut":
        return text[:at]
    if kind == "tab":
        start = text.rfind("\n", 0, at) + 1
        return text[:start] + "\t" + text[start:]
    if kind == "nest":
        depth = data.draw(st.integers(min_value=1, max_value=60), label="depth")
        opener = data.draw(st.sampled_from(["[", "{a: "]), label="opener")
        closer = "]" if opener == "[" else "}"
        return text + f"deep: {opener * depth}1{closer * depth}\n"
    if kind == "flow-junk":
        return text + data.draw(st.text(max_size=30), label="tail")
    return text


def serialise(data: st.DataObject, doc: Any) -> str:
    if data.draw(st.booleans(), label="json"):
        ascii_only = data.draw(st.booleans(), label="ascii")
        return json.dumps(
            doc, ensure_ascii=ascii_only, indent=data.draw(st.sampled_from([None, 2]))
        )
    return Emitter().document(doc)


SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def mutated(data: st.DataObject, *, most: int = 3) -> Any:
    """BASE after one to ``most`` mutations."""
    doc: Any = copy.deepcopy(BASE)
    for _ in range(data.draw(st.integers(min_value=1, max_value=most), label="mutations")):
        doc = mutate(data, doc)
    return doc
