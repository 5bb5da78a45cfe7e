"""Where SyGra's chat history differs from GraSP's, found in a SyGra task file for
``grasp convert sygra``'s report.

SyGra's model nodes send their prompt followed by the record's ``messages`` (LangChain's
``MessagesPlaceholder``), in every graph; an llm node without ``output_keys`` or
``post_process`` adds its reply there (only its reply). GraSP's llm nodes do the same in a
SyGra file and in the task a conversion writes (``append_messages: messages``,
``send_history: false``, ``store_messages``: see :func:`~grasp_core.config.sygra_keys.node_keys`);
its agent and ``multi_llm`` nodes are sent ``messages`` only in a ``chat_conversation:
multiturn`` graph. So in a singleturn graph an agent or ``multi_llm`` node that runs after
such an llm node is sent less than in SyGra: the report says which
(docs/how-to/coming-from-sygra.md, "Chat history"). ``chat_history: true`` in a singleturn
graph is refused: SyGra then replaces the node's prompt by a transcript of
``__chat_history__`` (which its nodes fill), and GraSP has neither.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from grasp_core.config.sygra_keys import yes_flag

__all__ = ["history_findings"]

_MODEL_NODES = ("llm", "agent", "multi_llm")


def history_findings(tree: Any, name: str) -> tuple[list[str], list[str]]:
    """Notes (an agent or ``multi_llm`` node sent less than in SyGra) and problems
    (``chat_history: true`` in a singleturn graph, each naming its YAML path) for the SyGra
    task file ``tree`` named ``name``."""
    graph = tree.get("graph_config") if isinstance(tree, Mapping) else None
    if not isinstance(graph, Mapping) or not isinstance(graph.get("nodes"), Mapping):
        return [], []
    nodes: Mapping[str, Any] = graph["nodes"]
    props = graph.get("graph_properties")
    if isinstance(props, Mapping) and props.get("chat_conversation") == "multiturn":
        return [], []
    model_nodes = {
        str(n)
        for n, c in nodes.items()
        if isinstance(c, Mapping) and c.get("node_type") in _MODEL_NODES
    }
    # SyGra sends the transcript once `__chat_history__` holds something: to a node with
    # chat_history that runs after one (itself again, in a loop)
    keeping = sorted(n for n in model_nodes if yes_flag(nodes[n].get("chat_history")))
    problems = [
        f"graph_config.nodes.{n}.chat_history: in a singleturn graph SyGra sends this "
        "node a transcript of `__chat_history__` (filled by the nodes with chat_history) in "
        "place of its prompt; GraSP has neither: set `graph_properties.chat_conversation: "
        "multiturn` (GraSP sends the record's messages before each prompt) or remove it"
        for n in sorted(set(keeping) & _reached(graph.get("edges"), keeping))
    ]
    storing = sorted(
        n
        for n in model_nodes
        if nodes[n].get("node_type") == "llm"
        and not any(nodes[n].get(key) for key in ("output_keys", "output_key", "post_process"))
    )
    history_less = {n for n in model_nodes if nodes[n].get("node_type") != "llm"}
    after = sorted(_reached(graph.get("edges"), storing) & history_less)
    if not storing or not after:
        return [], problems
    note = (
        f"{name}: SyGra sends a model node the record's `messages` after its prompt, and "
        f"{', '.join(storing)} (no output_keys, no post_process) "
        f"{'add their replies' if len(storing) > 1 else 'adds its reply'} there; GraSP sends "
        "them to agent and multi_llm nodes only in a `chat_conversation: multiturn` graph "
        f"(before the prompt), so {', '.join(after)} "
        f"{'are' if len(after) > 1 else 'is'} sent less than in SyGra: check "
        f"{'their prompts' if len(after) > 1 else 'its prompt'}, or make the graph multiturn"
    )
    return [note], problems


def _reached(edges: Any, starts: list[str]) -> set[str]:
    """The nodes a walk reaches after leaving any of ``starts`` (itself too, in a loop)."""
    forward: dict[str, set[str]] = {}
    for edge in edges if isinstance(edges, list) else []:
        if not isinstance(edge, Mapping):
            continue
        targets = [edge.get("to")]
        if isinstance(edge.get("path_map"), Mapping):
            targets += list(edge["path_map"].values())
        forward.setdefault(str(edge.get("from")), set()).update(str(t) for t in targets if t)
    seen: set[str] = set()
    todo = [t for s in starts for t in forward.get(s, ())]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo += forward.get(node, ())
    return seen
