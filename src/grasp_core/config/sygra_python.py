"""``grasp convert sygra``, Python side: imports of SyGra's hook base classes, rewritten to
``grasp_nodes.sygra_compat``. The change is mechanical or not made: an import of anything
else from SyGra is kept as it is and reported, naming the file and line."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

__all__ = ["COMPAT_MODULE", "compat_path", "rewrite_imports"]

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
    "core.base_task_executor": frozenset({"BaseTaskExecutor", "DefaultTaskExecutor"}),
    "": frozenset({"DefaultTaskExecutor"}),
    "processors.data_transform": frozenset({"DataTransform"}),
    "utils": frozenset({"constants", "utils"}),
    "utils.utils": frozenset({"extract_and_load_json", "load_json"}),
    "logger.logger_config": frozenset({"logger"}),
    "core.graph.graph_postprocessor": frozenset({"GraphPostProcessor"}),
    "core.models.structured_output.schemas_factory": frozenset({"SimpleResponse"}),
    "core.eval.metrics.unit_metrics.unit_metric_registry": frozenset(
        {"UnitMetricRegistry", "unit_metric"}
    ),
    "core.eval.metrics.unit_metrics.unit_metric_result": frozenset({"UnitMetricResult"}),
    "core.eval.metrics.unit_metrics.base_unit_metric": frozenset({"BaseUnitMetric"}),
    "core.eval.metrics.unit_metrics.exact_match": frozenset({"ExactMatchMetric"}),
    "core.eval.metrics.aggregator_metrics.aggregator_metric_registry": frozenset(
        {"AggregatorMetricRegistry", "aggregator_metric"}
    ),
    "core.eval.metrics.aggregator_metrics.base_aggregator_metric": frozenset(
        {"BaseAggregatorMetric"}
    ),
    "core.eval.metrics.aggregator_metrics.accuracy": frozenset({"AccuracyMetric"}),
    "core.eval.metrics.aggregator_metrics.precision": frozenset({"PrecisionMetric"}),
    "core.eval.metrics.aggregator_metrics.recall": frozenset({"RecallMetric"}),
    "core.eval.metrics.aggregator_metrics.f1_score": frozenset({"F1ScoreMetric"}),
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
    "transformers": frozenset({"GPT2TokenizerFast"}),
}
"""LangChain and LangGraph names SyGra's hooks use, which ``sygra_compat`` also gives (GraSP
does not need LangChain); other imports from these packages are left as they are. So is
transformers' ``GPT2TokenizerFast``, which SyGra's hooks load as ``Xenova/gpt-4`` only to count
tokens: the compatibility one counts with ``cl100k_base`` offline and refuses other names."""

_NOTED = {"transformers": "a cl100k_base token counter"}
"""Foreign modules whose rewrite changes what runs, noted in the report."""

_ROOTS = ("sygra", "grasp")
_EXECUTORS = ("BaseTaskExecutor", "DefaultTaskExecutor")
_RUN_BY_SYGRA = ("TaskExecutor", "task_executor.py")
"""The executor class SyGra runs a task with, and its module."""
_BARE_ROOTS = ("core", "processors", "logger")
"""First parts of the module paths SyGra's oldest task files imported from its root."""


def rewrite_imports(
    source: str,
    *,
    name: str,
    local: frozenset[str] = frozenset(),
    tree_module: Callable[[str], str | None] | None = None,
    notes: list[str] | None = None,
) -> tuple[str, list[str]]:
    """``source`` with SyGra's base-class imports pointing at the compatibility module, and
    one line per import left alone (``name``: the file, for those lines). ``local``: the
    modules beside the file, which a bare ``core`` or ``utils`` import means instead.
    ``tree_module``: a module of the converted tree imported from SyGra's root
    (``tasks.eval.utils``) → the path to import it by in GraSP (None: not one). ``notes``
    gets a line for each rewrite that changes what runs (see ``_NOTED``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return source, [f"{name}:{exc.lineno}: not valid Python ({exc.msg}); copied as it is"]
    lines = source.splitlines(keepends=True)
    problems: list[str] = []
    for node in sorted(ast.walk(tree), key=lambda n: -getattr(n, "lineno", 0)):
        bases = [getattr(b, "id", getattr(b, "attr", None)) for b in getattr(node, "bases", ())]
        executor = next((base for base in bases if base in _EXECUTORS), None)
        if isinstance(node, ast.ClassDef) and (node.name, Path(name).name) == _RUN_BY_SYGRA:
            continue  # the task's own executor: sygra_executor converts what it can
        if isinstance(node, ast.ClassDef) and executor is not None:
            problems.append(
                f"{name}:{node.lineno}: class {node.name} extends SyGra's {executor}, "
                "which SyGra never runs (only `task_executor.TaskExecutor`): GraSP does not "
                "call it either"
            )
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in _ROOTS:
                    problems.append(_unmapped(name, node.lineno, f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            wanted = {alias.name for alias in node.names}
            moved = tree_module(node.module) if tree_module is not None else None
            if moved is not None and moved != node.module:
                _replace(lines, node, moved)
                continue
            provided = _provided(node.module, local)
            if provided is None:
                continue
            if not wanted <= provided:
                if node.module not in _FOREIGN:
                    problems.append(_unmapped(name, node.lineno, f"from {node.module} import ..."))
                continue
            _replace(lines, node, COMPAT_MODULE)
            if node.module in _NOTED and notes is not None:
                notes.append(
                    f"{name}:{node.lineno}: `from {node.module} import "
                    f"{', '.join(sorted(wanted))}` now imports {_NOTED[node.module]} from "
                    f"{COMPAT_MODULE} (it refuses a tokenizer that is not cl100k_base)"
                )
    return "".join(lines), sorted(problems)


def _replace(lines: list[str], node: ast.ImportFrom, module: str) -> None:
    """Make the (maybe multi-line) import ``node`` one line importing from ``module``."""
    first = lines[node.lineno - 1]
    indent = first[: len(first) - len(first.lstrip())]
    names = ", ".join(a.name if a.asname is None else f"{a.name} as {a.asname}" for a in node.names)
    end = node.end_lineno or node.lineno
    lines[node.lineno - 1 : end] = [f"{indent}from {module} import {names}\n"]


def compat_path(dotted: str) -> str | None:
    """A task file's dotted path to a name SyGra ships (``sygra.core.models.structured_output.
    schemas_factory.SimpleResponse``) as the same name in the compatibility module; None for
    anything else."""
    module, _, name = dotted.rpartition(".")
    if module.partition(".")[0] not in _ROOTS:
        return None
    provided = _provided(module, frozenset())
    return f"{COMPAT_MODULE}.{name}" if provided and name in provided else None


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
        f"import is left as it is: rewrite it by hand ({COMPAT_MODULE} covers the hook base "
        "classes, the state and message types, `constants`, `utils`' JSON helpers and the eval "
        "metric registries)"
    )
