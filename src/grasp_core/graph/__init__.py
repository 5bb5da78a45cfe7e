"""Graph compilation and the per-record walker."""

from grasp_core.graph.compile import compile_graph
from grasp_core.graph.compiled import END, START, CompiledGraph, CompiledNode, Edge, EdgeKey
from grasp_core.graph.walker import MemoEntry, OnNodeDone, walk_record

__all__ = [
    "END",
    "START",
    "CompiledGraph",
    "CompiledNode",
    "Edge",
    "EdgeKey",
    "MemoEntry",
    "OnNodeDone",
    "compile_graph",
    "walk_record",
]
