"""``grasp convert sygra``, Python side: imports of SyGra's hook base classes, rewritten to
``grasp_nodes.sygra_compat``. The change is mechanical or not made: an import of anything
else from SyGra is kept as it is and reported, naming the file and line."""

from __future__ import annotations

import ast

__all__ = ["COMPAT_MODULE", "rewrite_imports"]

COMPAT_MODULE = "grasp_nodes.sygra_compat"

_PROVIDED: dict[str, frozenset[str]] = {
    "core.graph.functions.node_processor": frozenset(
        {"NodePreProcessor", "NodePostProcessor", "NodePostProcessorWithState"}
    ),
    "core.graph.functions.edge_condition": frozenset({"EdgeCondition"}),
    "core.graph.functions.lambda_function": frozenset({"LambdaFunction"}),
    "core.graph.sygra_state": frozenset({"SygraState"}),
    "core.graph.grasp_state": frozenset({"GraspState"}),
    "processors.output_record_generator": frozenset({"BaseOutputGenerator"}),
    "utils": frozenset({"constants"}),
}
"""SyGra module (after ``sygra.``, or ``grasp.`` in SyGra's older releases) → the names
``sygra_compat`` gives for it."""

_ROOTS = ("sygra", "grasp")


def rewrite_imports(source: str, *, name: str) -> tuple[str, list[str]]:
    """``source`` with SyGra's base-class imports pointing at the compatibility module, and
    one line per import left alone (``name``: the file, for those lines)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return source, [f"{name}:{exc.lineno}: not valid Python ({exc.msg}); copied as it is"]
    lines = source.splitlines(keepends=True)
    problems: list[str] = []
    for node in sorted(ast.walk(tree), key=lambda n: -getattr(n, "lineno", 0)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in _ROOTS:
                    problems.append(_unmapped(name, node.lineno, f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            root, _, rest = node.module.partition(".")
            if root not in _ROOTS:
                continue
            wanted = {alias.name for alias in node.names}
            if rest not in _PROVIDED or not wanted <= _PROVIDED[rest]:
                problems.append(_unmapped(name, node.lineno, f"from {node.module} import ..."))
                continue
            first = lines[node.lineno - 1]
            indent = first[: len(first) - len(first.lstrip())]
            names = ", ".join(
                a.name if a.asname is None else f"{a.name} as {a.asname}" for a in node.names
            )
            end = node.end_lineno or node.lineno
            lines[node.lineno - 1 : end] = [f"{indent}from {COMPAT_MODULE} import {names}\n"]
    return "".join(lines), sorted(problems)


def _unmapped(name: str, line: int, what: str) -> str:
    return (
        f"{name}:{line}: `{what}` imports SyGra code that GraSP has no counterpart for; the "
        f"import is left as it is: rewrite it by hand ({COMPAT_MODULE} covers only the hook "
        "base classes, the state type and `constants`)"
    )
