"""``grasp convert sygra``: SyGra task folders rewritten as GraSP task folders.

Every file under the source folder is copied; each ``graph_config.yaml`` becomes a
``task.yaml`` in GraSP's spelling, with its comments and key order (a ruamel round trip). The
node keys go through the same functions that read SyGra's spelling at run time
(:mod:`grasp_core.config.sygra_keys`), dotted paths written from SyGra's repository root
(``tasks.examples.x.task_executor.Cls``) become paths from the converted task's folder, and
Python modules get :func:`~grasp_core.config.sygra_python.rewrite_imports`. A SyGra
``models.yaml`` is checked with :mod:`grasp_core.config.sygra_models`. What cannot be
converted is listed file by file in :class:`Conversion`; a task with a problem in its task
file gets no ``task.yaml`` (never a silently different task).
"""

from __future__ import annotations

import io
import os
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grasp_core.config.sygra_keys import lambda_keys, node_keys
from grasp_core.config.sygra_models import is_sygra_entry, translate_sygra_models
from grasp_core.config.sygra_python import rewrite_imports
from grasp_core.config.yaml_source import parse_yaml
from grasp_core.errors import ConfigError

__all__ = ["SYGRA_TASK_FILE", "Conversion", "convert_sygra_tree"]

SYGRA_TASK_FILE = "graph_config.yaml"
_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
_SHARED = "_sygra_shared"
"""Folder of a converted task holding copies of the tree's modules it names from outside its
own folder (``tasks.examples.other.tools`` → ``_sygra_shared.examples.other.tools``)."""
_MODEL_NODES = {"llm": "model", "agent": "model", "multi_llm": "models"}

NodeFields = Callable[[str], frozenset[str] | None]
"""Node type → the keys its config model knows (None: not installed)."""


@dataclass
class Conversion:
    """What ``grasp convert sygra`` did: the task folders written, and per file what was
    left as it was, with the reason."""

    tasks: list[Path] = field(default_factory=list)
    """Converted task folders, relative to the destination."""
    subgraphs: list[Path] = field(default_factory=list)
    """Converted folders without ``data_config``: graphs other tasks use, not run alone."""
    problems: list[str] = field(default_factory=list)
    """One line each: ``file[:line]: what was not converted, and what to do``."""

    def report(self) -> str:
        """The Markdown report written as ``CONVERT_REPORT.md``."""
        out = ["# Conversion report (grasp convert sygra)", "", "## Converted tasks", ""]
        out += [f"- `{task.as_posix()}`" for task in self.tasks] or ["- none"]
        if self.subgraphs:
            out += ["", "## Converted subgraphs (no data_config: not run alone)", ""]
            out += [f"- `{folder.as_posix()}`" for folder in self.subgraphs]
        out += ["", "## Not converted", ""]
        out += [f"- {line}" for line in self.problems] or ["- nothing: every file converted"]
        return "\n".join(out) + "\n"


def convert_sygra_tree(
    src: Path, dest: Path, *, models: Path | None, node_fields: NodeFields
) -> Conversion:
    """Convert every SyGra task folder under ``src`` into ``dest`` (same relative layout)."""
    task_files = sorted(src.rglob(SYGRA_TASK_FILE))
    if not task_files:
        raise ConfigError(
            f"{src}: no {SYGRA_TASK_FILE} in this folder or below; give a SyGra task folder "
            "or a tasks/ tree"
        )
    result = Conversion()
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", SYGRA_TASK_FILE, "CONVERT_REPORT.md")
    shutil.copytree(src, dest, dirs_exist_ok=True, ignore=skip)
    for module in sorted(src.rglob("*.py")):
        if "__pycache__" in module.parts:
            continue
        rel = module.relative_to(src)
        local = frozenset(
            p.stem for p in module.parent.iterdir() if p.suffix == ".py" or p.is_dir()
        )
        text, problems = rewrite_imports(
            module.read_text(encoding="utf-8"), name=rel.as_posix(), local=local
        )
        (dest / rel).write_text(text, encoding="utf-8")
        result.problems += problems
    for task_file in task_files:
        rel_dir = task_file.parent.relative_to(src)
        converter = _TaskConverter(src, task_file, node_fields)
        converted = converter.convert()
        result.problems += converter.problems
        target = dest / rel_dir / "task.yaml"
        if converted is None:
            target.unlink(missing_ok=True)  # a stale one from an earlier conversion
            continue
        target.write_text(converted, encoding="utf-8")
        for copy, module in converter.copies.items():
            (dest / rel_dir / copy).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(dest / module, dest / rel_dir / copy)
        (result.tasks if converter.runnable else result.subgraphs).append(rel_dir)
    if models is not None:
        models_text = _convert_models(models, result.problems)
        for rel_dir in result.tasks + result.subgraphs:
            (dest / rel_dir / "models.yaml").write_text(models_text, encoding="utf-8")
    (dest / "CONVERT_REPORT.md").write_text(result.report(), encoding="utf-8")
    return result


class _TaskConverter:
    """One ``graph_config.yaml`` → ``task.yaml`` text (None when it cannot be converted)."""

    def __init__(self, src: Path, task_file: Path, node_fields: NodeFields) -> None:
        self.src, self.task_file, self.node_fields = src, task_file, node_fields
        self.name = task_file.relative_to(src).as_posix()
        self.problems: list[str] = []
        self.copies: dict[Path, Path] = {}
        """Modules of the tree outside the task's folder that it names: where the copy goes
        in the converted task's folder → the module, both relative (to it, to the source)."""
        self.failed = False
        self.runnable = False
        """Whether the file has a ``data_config`` (a task, rather than a subgraph)."""

    def convert(self) -> str | None:
        from ruamel.yaml import YAML

        text = self.task_file.read_text(encoding="utf-8")
        try:
            document = parse_yaml(text, source=self.name)  # checks syntax and tags
        except ConfigError as exc:
            self.problems.append(f"{exc}; no task.yaml written")
            return None
        yaml = YAML(typ="rt")
        yaml.preserve_quotes = True
        yaml.width = 4096
        yaml.indent(mapping=2, sequence=4, offset=2)  # SyGra's files indent list items
        tree = yaml.load(text)
        self.runnable = isinstance(tree, dict) and "data_config" in tree
        nodes = (tree.get("graph_config") or {}).get("nodes") if isinstance(tree, dict) else None
        for node_name, node in (nodes or {}).items():
            if isinstance(node, dict):
                self._node(str(node_name), node, document.where)
        self._paths(tree)
        if self.failed:
            return None
        out = io.StringIO()
        yaml.dump(tree, out)
        return out.getvalue()

    def _fail(self, where: str, why: str) -> None:
        self.failed = True
        self.problems.append(f"{where}: {why}; no task.yaml written for this task")

    def _node(self, name: str, node: Any, where: Callable[[Any], str]) -> None:
        path = ("graph_config", "nodes", name)
        node_type = str(node.get("node_type"))
        try:
            if node_type in _MODEL_NODES:
                plain = node_keys(_plain(node), sygra=True, models_key=_MODEL_NODES[node_type])
            elif node_type == "subgraph":
                self._subgraph(node, where(path))
                return
            elif node_type == "lambda":
                known = self.node_fields("lambda")
                if known is None:
                    return
                plain = lambda_keys(_plain(node), known, sygra=True)
            else:
                return
        except ValueError as exc:
            self._fail(where(path), str(exc))
            return
        _reconcile(node, plain)

    def _paths(self, value: Any) -> None:
        """Rewrite every string naming a module of the source tree from SyGra's root."""
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in list(items):
            if isinstance(item, dict | list):
                self._paths(item)
            elif isinstance(item, str) and _DOTTED.match(item):
                moved = self._dotted(item)
                if moved is not None and moved != item:
                    value[key] = type(item)(moved) if type(item) is not str else moved

    def _dotted(self, dotted: str) -> str | None:
        """A module path from SyGra's root as one from the task's folder (None: no change)."""
        parts = dotted.split(".")
        for cut in range(len(parts), 0, -1):
            found = self._locate(parts[:cut], ".py")
            if found is None:
                continue
            task_dir = self.task_file.parent.resolve()
            if found.is_relative_to(task_dir):
                inside = found.relative_to(task_dir).with_suffix("").parts
            else:  # GraSP resolves dotted paths from the task's folder: copy the module in
                module = found.relative_to(self.src.resolve())
                copy = Path(_SHARED, module)
                self.copies[copy] = module
                inside = copy.with_suffix("").parts
            return ".".join((*inside, *parts[cut:]))
        return None

    def _subgraph(self, node: Any, where: str) -> None:
        """SyGra's ``subgraph: tasks.x.y`` as GraSP's ``graph: ../y/task.yaml``: the folder's
        converted task file, from this task's folder."""
        spec = node.get("subgraph")
        if not isinstance(spec, str) or "graph" in node:
            return  # not SyGra's spelling, or both keys: the subgraph node reports it
        found = self._locate(spec.replace("/", ".").split("."), "", SYGRA_TASK_FILE)
        if found is None:
            self._fail(where, f"subgraph {spec!r} names no SyGra task folder under the source")
            return
        task_file = found.parent / "task.yaml"
        relative = os.path.relpath(task_file, self.task_file.parent.resolve())
        plain = {("graph" if k == "subgraph" else k): v for k, v in _plain(node).items()}
        _reconcile(node, {**plain, "graph": Path(relative).as_posix()})

    def _locate(self, parts: list[str], suffix: str, name: str = "") -> Path | None:
        """The file ``parts`` names inside the source tree, looked up from the task's folder,
        then the source folder and each folder above it (SyGra's repository root)."""
        src = self.src.resolve()
        for root in (self.task_file.parent.resolve(), src, *src.parents):
            target = root.joinpath(*parts)
            target = target / name if name else target.with_suffix(suffix)
            if target.is_file() and target.resolve().is_relative_to(src):
                return target.resolve()
        return None


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _reconcile(target: Any, plain: Mapping[str, Any]) -> None:
    """Make the round-trip mapping ``target`` equal ``plain``, keeping its comments and
    order: keys that are new take the place of the keys that went (``output_key`` →
    ``output_keys``, ``temperature`` → ``parameters``), with their comments in turn."""
    gone = [key for key in target if key not in plain]
    slot = list(target).index(gone[0]) if gone else len(target)
    comments = [target.ca.items.pop(key, None) for key in gone]
    for key in gone:
        del target[key]
    for key, value in plain.items():
        if key not in target:
            target.insert(slot, key, value)
            comment = comments.pop(0) if comments else None
            if comment is not None:
                target.ca.items[key] = comment
            slot += 1
        elif isinstance(target[key], dict) and isinstance(value, Mapping):
            _reconcile(target[key], value)
        elif _plain(target[key]) != value:
            target[key] = value


def _convert_models(models: Path, problems: list[str]) -> str:
    """SyGra's models file with the entries GraSP refuses left out (each one reported).

    The loadable entries stay in SyGra's shape, which GraSP reads as it is: their URLs and
    tokens come from ``SYGRA_<NAME>_URL`` / ``_TOKEN`` when a task runs, which GraSP's own
    spelling cannot say (it would write this machine's URL into the file)."""
    from ruamel.yaml import YAML

    text = models.read_text(encoding="utf-8")
    document = parse_yaml(text, source=str(models))
    yaml = YAML(typ="rt")
    tree = yaml.load(text)
    for name, entry in (document.data or {}).items():
        if not is_sygra_entry(entry):
            continue
        try:
            translate_sygra_models({name: entry}, source=str(models), document=document, environ={})
        except ConfigError as exc:
            problems.append(f"{exc}; entry {name!r} left out of models.yaml")
            del tree[name]
    out = io.StringIO()
    yaml.dump(tree, out)
    return out.getvalue()
