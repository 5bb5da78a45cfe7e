"""The picture of a task's graph for the flow view: a layered layout computed from the task
file's ``graph_config`` as written (so a graph that does not compile yet is drawn too).

Deterministic and simple: edges that close a loop are found by a depth-first walk from
START (following edges in file order) and drawn apart; every other node sits one layer
below the lowest of its predecessors; a layer keeps the file's node order, then each node
moves toward the mean position of its predecessors (one pass). A subgraph written inline, or
in a YAML file inside the workspace, is a group box holding its own layout."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Layout", "layout_graph"]

NODE_W, NODE_H = 160, 46
END_W, END_H = 72, 30
GAP_X, GAP_Y = 36, 56
PAD, HEADER = 14, 22
_MAX_DEPTH = 3


@dataclass
class Box:
    id: str
    label: str
    kind: str
    """The node type, ``terminal`` (START/END) or ``group`` (a subgraph drawn with its inside)."""
    w: float
    h: float
    x: float = 0.0
    y: float = 0.0
    inner: Layout | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "kind": self.kind,
            "x": round(self.x, 1),
            "y": round(self.y, 1),
            "w": self.w,
            "h": self.h,
            "note": self.note,
        }


@dataclass
class Layout:
    """Boxes and edges of one graph, positioned from (0, 0)."""

    boxes: list[Box] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0

    def flat(self, dx: float = 0.0, dy: float = 0.0) -> dict[str, Any]:
        """Every box and edge in one coordinate space (groups offset their insides)."""
        nodes: list[dict[str, Any]] = []
        groups: list[dict[str, Any]] = []
        edges: list[dict[str, Any]] = []
        for box in self.boxes:
            shifted = {**box.to_dict(), "x": round(box.x + dx, 1), "y": round(box.y + dy, 1)}
            if box.inner is not None:
                groups.append(shifted)
                inside = box.inner.flat(box.x + dx + PAD, box.y + dy + HEADER)
                nodes += inside["nodes"]
                groups += inside["groups"]
                edges += inside["edges"]
            else:
                nodes.append(shifted)
        for edge in self.edges:
            points = [[round(x + dx, 1), round(y + dy, 1)] for x, y in edge["points"]]
            edges.append({**edge, "points": points})
        return {"nodes": nodes, "groups": groups, "edges": edges}


ReadInner = Callable[[str], Mapping[str, Any] | None]
"""Reads the graph of a subgraph's ``graph: file.yaml`` (None: not drawable)."""


def layout_graph(
    graph: Mapping[str, Any], *, read_inner: ReadInner | None = None
) -> dict[str, Any]:
    """The drawn graph: ``nodes`` (boxes), ``groups`` (subgraph boxes), ``edges`` (with
    ``points``, ``label`` and ``loop``), ``width`` and ``height``."""
    layout = _layout(graph, prefix="", read_inner=read_inner, depth=0)
    drawn = layout.flat(PAD, PAD)
    return {**drawn, "width": layout.width + 2 * PAD, "height": layout.height + 2 * PAD}


def _arrows(graph: Mapping[str, Any]) -> list[tuple[str, str, str | None]]:
    """(from, to, label) of every edge as written, malformed ones left out."""
    arrows: list[tuple[str, str, str | None]] = []
    edges = graph.get("edges")
    for edge in edges if isinstance(edges, list) else []:
        if not isinstance(edge, Mapping):
            continue
        source = edge.get("from")
        if not isinstance(source, str):
            continue
        if isinstance(edge.get("to"), str):
            arrows.append((source, edge["to"], None))
        path_map = edge.get("path_map")
        if isinstance(path_map, Mapping):
            arrows += [(source, str(t), str(label)) for label, t in path_map.items()]
    return arrows


def _layout(
    graph: Mapping[str, Any], *, prefix: str, read_inner: ReadInner | None, depth: int
) -> Layout:
    raw_nodes = graph.get("nodes")
    nodes: Mapping[str, Any] = raw_nodes if isinstance(raw_nodes, Mapping) else {}
    names = ["START", *[str(n) for n in nodes], "END"]
    boxes = {name: _box(name, nodes.get(name), prefix, read_inner, depth) for name in names}
    arrows = [(s, t, label) for s, t, label in _arrows(graph) if s in boxes and t in boxes]
    loops = _back_edges(names, arrows)
    layers = _layers(names, [(s, t) for s, t, _ in arrows if (s, t) not in loops])
    rows = _order(names, layers, arrows, loops)
    width = _place(rows, boxes)
    edges = [_edge(boxes[s], boxes[t], label, (s, t) in loops) for s, t, label in arrows]
    height = max((b.y + b.h for b in boxes.values()), default=0.0)
    return Layout(list(boxes.values()), edges, width, height)


def _box(name: str, config: Any, prefix: str, read_inner: ReadInner | None, depth: int) -> Box:
    ident = prefix + name
    if name in ("START", "END"):
        return Box(ident, name, "terminal", END_W, END_H)
    kind = str(config.get("node_type", "?")) if isinstance(config, Mapping) else "?"
    inner = _inner_graph(config, read_inner) if kind == "subgraph" and depth < _MAX_DEPTH else None
    if inner is None:
        note = (
            str(config.get("graph")) if kind == "subgraph" and isinstance(config, Mapping) else None
        )
        return Box(ident, name, kind, NODE_W, NODE_H, note=note)
    drawn = _layout(inner, prefix=ident + ".", read_inner=read_inner, depth=depth + 1)
    w = max(NODE_W, drawn.width + 2 * PAD)
    return Box(ident, name, "group", w, drawn.height + HEADER + PAD, inner=drawn)


def _inner_graph(config: Any, read_inner: ReadInner | None) -> Mapping[str, Any] | None:
    if not isinstance(config, Mapping):
        return None
    inline = config.get("graph_config")
    if isinstance(inline, Mapping):
        return inline
    target = config.get("graph") or config.get("subgraph")
    if isinstance(target, str) and target.endswith((".yaml", ".yml")) and read_inner:
        data = read_inner(target)
        if isinstance(data, Mapping):
            inner = data.get("graph_config", data)
            return inner if isinstance(inner, Mapping) else None
    return None


def _back_edges(
    names: list[str], arrows: list[tuple[str, str, str | None]]
) -> set[tuple[str, str]]:
    """Edges to a node still on the depth-first path from START: they close a loop."""
    out: dict[str, list[str]] = {n: [] for n in names}
    for s, t, _ in arrows:
        out[s].append(t)
    state: dict[str, int] = {}  # 1: on the path, 2: done
    back: set[tuple[str, str]] = set()
    for root in names:  # START first; then nodes no edge reaches
        if root in state:
            continue
        stack: list[tuple[str, int]] = [(root, 0)]
        state[root] = 1
        while stack:
            node, index = stack[-1]
            if index < len(out[node]):
                stack[-1] = (node, index + 1)
                nxt = out[node][index]
                if state.get(nxt) == 1:
                    back.add((node, nxt))
                elif nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, 0))
            else:
                state[node] = 2
                stack.pop()
    return back


def _layers(names: list[str], forward: list[tuple[str, str]]) -> dict[str, int]:
    """Longest path from the top over the loop-free edges; END below everything."""
    layer = {n: 0 for n in names}
    preds: dict[str, list[str]] = {n: [] for n in names}
    for s, t in forward:
        preds[t].append(s)
    for _ in names:  # relax |V| times: enough for a DAG, bounded whatever the input
        changed = False
        for t in names:
            best = max((layer[s] + 1 for s in preds[t]), default=0 if t == "START" else 1)
            if best != layer[t]:
                layer[t], changed = best, True
        if not changed:
            break
    layer["START"] = 0
    layer["END"] = max([layer[n] for n in names if n != "END"] + [0]) + 1
    return layer


def _order(
    names: list[str],
    layers: dict[str, int],
    arrows: list[tuple[str, str, str | None]],
    loops: set[tuple[str, str]],
) -> list[list[str]]:
    rows: list[list[str]] = [[] for _ in range(max(layers.values()) + 1)]
    for name in names:
        rows[layers[name]].append(name)
    preds: dict[str, list[str]] = {n: [] for n in names}
    for s, t, _ in arrows:
        if (s, t) not in loops:
            preds[t].append(s)
    position: dict[str, float] = {}
    for row in rows:
        for index, name in enumerate(row):
            above = [position[s] for s in preds[name] if s in position]
            position[name] = sum(above) / len(above) if above else float(index)
        row.sort(key=lambda n: (position[n], names.index(n)))
        for index, name in enumerate(row):
            position[name] = float(index)
    return [row for row in rows if row]


def _place(rows: list[list[str]], boxes: dict[str, Box]) -> float:
    """Set each box's x and y; returns the width."""
    widths = [sum(boxes[n].w for n in row) + GAP_X * (len(row) - 1) for row in rows]
    width = max(widths, default=0.0)
    y = 0.0
    for row, row_width in zip(rows, widths, strict=True):
        x = (width - row_width) / 2
        height = max(boxes[n].h for n in row)
        for name in row:
            box = boxes[name]
            box.x, box.y = x, y + (height - box.h) / 2
            x += box.w + GAP_X
        y += height + GAP_Y
    return width


def _edge(source: Box, target: Box, label: str | None, loop: bool) -> dict[str, Any]:
    """From the bottom of ``source`` to the top of ``target``; a loop goes from the right of
    ``source`` back up to the right of ``target``."""
    if loop:
        start = (source.x + source.w, source.y + source.h / 2)
        end = (target.x + target.w, target.y + target.h / 2)
    else:
        start = (source.x + source.w / 2, source.y + source.h)
        end = (target.x + target.w / 2, target.y)
    return {
        "from": source.id,
        "to": target.id,
        "label": label,
        "loop": loop,
        "points": [list(start), list(end)],
    }
