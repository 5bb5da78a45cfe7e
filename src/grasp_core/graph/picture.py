"""Pictures of a compiled graph: Mermaid text (no dependency) or Graphviz (SVG, PNG, DOT).

Nodes are shaped by type, conditional edges carry their labels, edges that close a loop
are dashed, and a node holding an inner graph (a subgraph) is drawn as a nested box.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from grasp_core.errors import MissingDependencyError
from grasp_core.graph.compiled import END, START, CompiledGraph

__all__ = ["PictureFormat", "render_graph", "to_dot", "to_mermaid"]

PictureFormat = Literal["mermaid", "dot", "svg", "png"]

_MERMAID_SHAPES: dict[str, tuple[str, str]] = {
    "llm": ("(", ")"),
    "multi_llm": ("[[", "]]"),
    "agent": ("[/", "/]"),
    "lambda": ("[", "]"),
    "weighted_sampler": ("{{", "}}"),
}
_DOT_SHAPES: dict[str, dict[str, str]] = {
    "llm": {"shape": "box", "style": "rounded,filled", "fillcolor": "#e8f0fe"},
    "multi_llm": {"shape": "box3d", "style": "filled", "fillcolor": "#e8f0fe"},
    "agent": {"shape": "parallelogram", "style": "filled", "fillcolor": "#fef3e8"},
    "lambda": {"shape": "box", "style": "filled", "fillcolor": "#f1f3f4"},
    "weighted_sampler": {"shape": "hexagon", "style": "filled", "fillcolor": "#e6f4ea"},
}


@dataclass(frozen=True)
class _Arrow:
    source: str
    target: str
    label: str | None
    loop: bool


def to_mermaid(graph: CompiledGraph, title: str | None = None) -> str:
    """The graph as a Mermaid ``flowchart`` (renders on GitHub and in mkdocs-material)."""
    lines = [f"---\ntitle: {title}\n---"] if title else []
    lines.append("flowchart TD")
    lines.append(f"    {_mid(START)}((START))")
    lines.append(f"    {_mid(END)}((END))")
    lines.extend(_mermaid_body(graph, prefix="", depth=1))
    return "\n".join(lines) + "\n"


def _mermaid_body(graph: CompiledGraph, prefix: str, depth: int) -> Iterator[str]:
    pad = "    " * depth
    for name, compiled in graph.nodes.items():
        node_id = _mid(prefix + name)
        inner = _inner_graph(compiled.node)
        if inner is not None:
            yield f'{pad}subgraph {node_id}["{_text(name)} · subgraph"]'
            yield f"{pad}    direction TB"
            yield f"{pad}    {_mid(prefix + name + '.' + START)}((start))"
            yield f"{pad}    {_mid(prefix + name + '.' + END)}((end))"
            yield from _mermaid_body(inner, prefix=f"{prefix}{name}.", depth=depth + 1)
            yield f"{pad}end"
            continue
        opening, closing = _MERMAID_SHAPES.get(compiled.node_type, ("[", "]"))
        label = f"{_text(name)}<br/><small>{_text(compiled.node_type)}</small>"
        yield f'{pad}{node_id}{opening}"{label}"{closing}'
    for arrow in _arrows(graph, prefix):
        link = "-.->" if arrow.loop else "-->"
        label = f"|{_text(arrow.label)}|" if arrow.label else ""
        yield f"{pad}{_mid(arrow.source)} {link}{label} {_mid(arrow.target)}"


def to_dot(graph: CompiledGraph, title: str | None = None) -> str:
    """The graph in Graphviz's DOT language (needs the ``graphviz`` Python package)."""
    graphviz = _graphviz()
    dot = graphviz.Digraph(name=title or "grasp", graph_attr={"rankdir": "TB"})
    if title:
        dot.attr(label=title, labelloc="t")
    dot.attr("node", fontname="Helvetica", fontsize="11")
    dot.attr("edge", fontname="Helvetica", fontsize="10")
    ends = {"style": "filled", "fillcolor": "#202124", "fontcolor": "white"}
    dot.node(START, "START", shape="circle", **ends)
    dot.node(END, "END", shape="doublecircle", **ends)
    _dot_body(graphviz, dot, graph, prefix="")
    source: str = dot.source
    return source


def _dot_body(graphviz: Any, dot: Any, graph: CompiledGraph, prefix: str) -> None:
    for name, compiled in graph.nodes.items():
        inner = _inner_graph(compiled.node)
        if inner is not None:
            with dot.subgraph(name=f"cluster_{prefix}{name}") as box:
                box.attr(label=f"{name} (subgraph)", style="rounded,dashed")
                box.node(f"{prefix}{name}.{START}", "start", shape="circle", fontsize="9")
                box.node(f"{prefix}{name}.{END}", "end", shape="doublecircle", fontsize="9")
                _dot_body(graphviz, box, inner, prefix=f"{prefix}{name}.")
            continue
        style = _DOT_SHAPES.get(compiled.node_type, {"shape": "box"})
        dot.node(prefix + name, f"{name}\n{compiled.node_type}", **style)
    for arrow in _arrows(graph, prefix):
        attrs = {"style": "dashed"} if arrow.loop else {}
        dot.edge(arrow.source, arrow.target, label=arrow.label or "", **attrs)


def render_graph(graph: CompiledGraph, fmt: PictureFormat, title: str | None = None) -> bytes:
    """The picture in ``fmt``; SVG and PNG need Graphviz's ``dot`` program."""
    if fmt == "mermaid":
        return to_mermaid(graph, title).encode("utf-8")
    source = to_dot(graph, title)
    if fmt == "dot":
        return source.encode("utf-8")
    graphviz = _graphviz()
    try:
        rendered: bytes = graphviz.Source(source).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise MissingDependencyError(
            f"--format {fmt} needs Graphviz's `dot` program, which is not on PATH; install "
            "Graphviz (apt install graphviz, brew install graphviz, conda install graphviz) "
            "or use --format mermaid, which needs nothing"
        ) from None
    return rendered


def _arrows(graph: CompiledGraph, prefix: str) -> Iterator[_Arrow]:
    """Every edge once per target, with inner-graph ends mapped to the box's start/end."""
    for edge in graph.edges:
        targets: list[tuple[str, str | None]]
        if edge.path_map is not None:
            targets = [(node, label) for label, node in edge.path_map.items()]
        else:
            assert edge.to is not None
            targets = [(edge.to, None)]
        for target, label in targets:
            yield _Arrow(
                source=_endpoint(graph, prefix, edge.source, leaving=True),
                target=_endpoint(graph, prefix, target, leaving=False),
                label=label,
                loop=graph.is_back_edge((edge.index, target)),
            )


def _endpoint(graph: CompiledGraph, prefix: str, name: str, *, leaving: bool) -> str:
    """The drawn id of an edge end: a subgraph box is entered at its start, left at its end."""
    if name in (START, END):
        return f"{prefix}{name}" if prefix else name
    node = graph.nodes.get(name)
    if node is not None and _inner_graph(node.node) is not None:
        return f"{prefix}{name}.{END if leaving else START}"
    return prefix + name


def _inner_graph(node: Any) -> CompiledGraph | None:
    inner = getattr(node, "graph", None)
    return inner if isinstance(inner, CompiledGraph) else None


def _mid(name: str) -> str:
    """A Mermaid-safe node id (letters, digits, underscores)."""
    return "n_" + re.sub(r"[^0-9A-Za-z_]", lambda m: f"_{ord(m.group()):x}_", name)


def _text(text: str) -> str:
    """Label text with the characters Mermaid treats as syntax escaped."""
    return (
        text.replace("&", "&amp;")
        .replace('"', "&quot;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "&#124;")
    )


def _graphviz() -> Any:
    try:
        import graphviz
    except ImportError:
        raise MissingDependencyError(
            'this picture format needs the graphviz package: pip install "grasp-sdg[graph]" '
            "(and Graphviz's dot program for svg/png), or use --format mermaid"
        ) from None
    return graphviz
