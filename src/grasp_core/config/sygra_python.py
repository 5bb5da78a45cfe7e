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
    "core.graph.sygra_message": frozenset({"SygraMessage"}),
    "core.graph.grasp_message": frozenset({"GraspMessage"}),
    "processors.output_record_generator": frozenset({"BaseOutputGenerator"}),
    "core.base_task_executor": frozenset({"BaseTaskExecutor"}),
    "processors.data_transform": frozenset({"DataTransform"}),
    "utils": frozenset({"constants", "utils"}),
    "logger.logger_config": frozenset({"logger"}),
}
"""SyGra module (after ``sygra.``, or ``grasp.`` in SyGra's older releases, or as it is in
the oldest, which ran from the repository root: ``core.graph...``) → the names
``sygra_compat`` gives for it."""

_FOREIGN: dict[str, frozenset[str]] = {
    "langchain_core.messages": frozenset(
        {"AIMessage", "BaseMessage", "HumanMessage", "SystemMessage", "ToolMessage"}
    ),
    "langchain_core.tools": frozenset({"tool"}),
    "langgraph.graph": frozenset({"END"}),
}
"""LangChain and LangGraph names SyGra's hooks use, which ``sygra_compat`` also gives (GraSP
does not need LangChain); other imports from these packages are left as they are."""

_ROOTS = ("sygra", "grasp")
_BARE_ROOTS = ("core", "processors", "logger")
"""First parts of the module paths SyGra's oldest task files imported from its root."""


def rewrite_imports(
    source: str, *, name: str, local: frozenset[str] = frozenset()
) -> tuple[str, list[str]]:
    """``source`` with SyGra's base-class imports pointing at the compatibility module, and
    one line per import left alone (``name``: the file, for those lines). ``local``: the
    modules beside the file, which a bare ``core`` or ``utils`` import means instead."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return source, [f"{name}:{exc.lineno}: not valid Python ({exc.msg}); copied as it is"]
    lines = source.splitlines(keepends=True)
    problems: list[str] = []
    for node in sorted(ast.walk(tree), key=lambda n: -getattr(n, "lineno", 0)):
        if isinstance(node, ast.ClassDef) and any(
            getattr(base, "id", getattr(base, "attr", None)) == "BaseTaskExecutor"
            for base in node.bases
        ):
            problems.append(
                f"{name}:{node.lineno}: class {node.name} extends SyGra's BaseTaskExecutor, "
                "whose methods GraSP does not call: move its dataset to `data_config` and its "
                "record building to `output_config` by hand"
            )
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in _ROOTS:
                    problems.append(_unmapped(name, node.lineno, f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            wanted = {alias.name for alias in node.names}
            provided = _provided(node.module, local)
            if provided is None:
                continue
            if not wanted <= provided:
                if node.module not in _FOREIGN:
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


def _provided(module: str, local: frozenset[str]) -> frozenset[str] | None:
    """What ``sygra_compat`` gives for ``module`` (None: not SyGra's, LangChain's or
    LangGraph's, so never rewritten nor reported)."""
    if module in _FOREIGN:
        return _FOREIGN[module]
    root, _, rest = module.partition(".")
    if root in _ROOTS:
        return _PROVIDED.get(rest, frozenset())
    if root in local:
        return None
    if root in _BARE_ROOTS or module == "utils":
        return _PROVIDED.get(module, frozenset())
    return None


def _unmapped(name: str, line: int, what: str) -> str:
    return (
        f"{name}:{line}: `{what}` imports SyGra code that GraSP has no counterpart for; the "
        f"import is left as it is: rewrite it by hand ({COMPAT_MODULE} covers only the hook "
        "base classes, the state type and `constants`)"
    )
