"""``grasp convert sygra``: SyGra task folders rewritten as GraSP task folders.

Every file under the source folder is copied; each ``graph_config.yaml`` becomes a
``task.yaml`` in GraSP's spelling, with its comments and key order (a ruamel round trip). The
node keys go through the same functions that read SyGra's spelling at run time
(:mod:`grasp_core.config.sygra_keys`), dotted paths written from SyGra's repository root
(``tasks.examples.x.task_executor.Cls``) become paths from the converted task's folder, and
Python modules get :func:`~grasp_core.config.sygra_python.rewrite_imports`; a task's
``TaskExecutor`` becomes task-file keys (:mod:`~grasp_core.config.sygra_executor`). A SyGra
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

from grasp_core.config.sygra_executor import convert_executor
from grasp_core.config.sygra_history import history_findings
from grasp_core.config.sygra_keys import lambda_keys, node_keys, subgraph_keys, web_agent_keys
from grasp_core.config.sygra_lambda import missing_keys_message, spec_writes
from grasp_core.config.sygra_models import convert_models_file
from grasp_core.config.sygra_paths import SHARED, PathRebaser, TreeModules, find_in_tree
from grasp_core.config.sygra_python import compat_path, rewrite_imports
from grasp_core.config.sygra_steps import sygra_step
from grasp_core.config.yaml_source import YamlDocument, format_yaml_path, parse_yaml
from grasp_core.errors import ConfigError

__all__ = ["SYGRA_TASK_FILE", "Conversion", "convert_sygra_tree"]

SYGRA_TASK_FILE = "graph_config.yaml"
_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")
_MODEL_NODES = {"llm": "model", "agent": "model", "multi_llm": "models"}
_PACKAGES = ("sygra", "grasp")
"""SyGra's package, under its current name and its earlier one."""

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
    notes: list[str] = field(default_factory=list)
    """Changes beyond the spelling, to check: paths moved, SyGra recipes mapped."""

    def report(self) -> str:
        """The Markdown report written as ``CONVERT_REPORT.md``."""
        out = ["# Conversion report (grasp convert sygra)", "", "## Converted tasks", ""]
        out += [f"- `{task.as_posix()}`" for task in self.tasks] or ["- none"]
        if self.subgraphs:
            out += ["", "## Converted subgraphs (no data_config: not run alone)", ""]
            out += [f"- `{folder.as_posix()}`" for folder in self.subgraphs]
        if self.notes:
            out += ["", "## Changed beyond the spelling (check these)", ""]
            out += [f"- {line}" for line in self.notes]
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
    task_dirs = {task_file.parent.resolve() for task_file in task_files}
    python_copies: set[tuple[Path, Path]] = set()
    for module in sorted(src.rglob("*.py")):
        if "__pycache__" in module.parts:
            continue
        rel = module.relative_to(src)
        local = frozenset(
            p.stem for p in module.parent.iterdir() if p.suffix == ".py" or p.is_dir()
        )
        owner = next(
            (
                d
                for d in (module.parent.resolve(), *module.parent.resolve().parents)
                if d in task_dirs
            ),
            None,
        )
        text, problems = rewrite_imports(
            module.read_text(encoding="utf-8"),
            name=rel.as_posix(),
            local=local,
            tree_module=TreeModules(src, owner, python_copies) if owner else None,
            notes=result.notes,
        )
        (dest / rel).write_text(text, encoding="utf-8")
        result.problems += problems
    converted_dirs: list[tuple[Path, bool]] = []
    used_as_subgraph: set[Path] = set()
    embedders: set[str] = set()
    for task_file in task_files:
        rel_dir = task_file.parent.relative_to(src)
        converter = _TaskConverter(src, task_file, node_fields)
        converted = converter.convert()
        result.problems += converter.problems
        used_as_subgraph |= converter.subgraphs
        embedders |= converter.embedders
        target = dest / rel_dir / "task.yaml"
        if converted is None:
            target.unlink(missing_ok=True)  # a stale one from an earlier conversion
            continue
        target.write_text(converted, encoding="utf-8")
        for owner, copy in python_copies:  # modules the task's Python imports from the root
            if owner == task_file.parent.resolve():
                converter.copies[copy] = copy.relative_to(SHARED)
        for copy, module in converter.copies.items():
            (dest / rel_dir / copy).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(dest / module, dest / rel_dir / copy)
        for data_file in converter.data_files:
            converter.paths.media_in(
                data_file, dest / data_file.relative_to(src.resolve()), converter.name
            )
        result.notes += converter.paths.notes
        converted_dirs.append((rel_dir, converter.runnable))
    for rel_dir, has_data in converted_dirs:
        # a folder without data_config is a subgraph when a task names it, else a data-less task
        subgraph = not has_data and (src / rel_dir).resolve() in used_as_subgraph
        (result.subgraphs if subgraph else result.tasks).append(rel_dir)
    if models is not None:
        models_text = convert_models_file(models, result.problems, embedders, result.notes)
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
        self.paths = PathRebaser(src, task_file.parent)
        self.data_files: list[Path] = []
        """The source's local JSON and JSONL files inside the tree (their media paths are
        rebased too)."""
        self.subgraphs: set[Path] = set()
        """The folders of the tree this task names as subgraphs."""
        self.embedders: set[str] = set()
        """The embedding models SyGra's own post-process processors name."""

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
        notes, problems = convert_executor(self.task_file.parent, tree, self.name)
        self.paths.notes += notes
        self.problems += problems
        notes, problems = history_findings(tree, self.name)
        self.paths.notes += notes
        for problem in problems:
            self._fail(self.name, problem)
        self.runnable = isinstance(tree, dict) and "data_config" in tree
        nodes = (tree.get("graph_config") or {}).get("nodes") if isinstance(tree, dict) else None
        for node_name, node in (nodes or {}).items():
            if isinstance(node, dict):
                self._node(str(node_name), node, document.where)
        self._paths(tree)
        if isinstance(tree, dict):
            self.paths.data_config(tree.get("data_config"), self.name)
            self._data_files(tree.get("data_config"))
            self._optional_fields(tree.get("output_config"))
            self._processors(tree.get("graph_post_process"), document)
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
                models_key = _MODEL_NODES[node_type]
                plain = node_keys(
                    _plain(node), sygra=True, models_key=models_key, llm=node_type == "llm"
                )
            elif node_type == "web_agent":
                plain = web_agent_keys(_plain(node), sygra=True)
            elif node_type == "subgraph":
                self._subgraph(node, where(path))
                return
            elif node_type == "lambda":
                known = self.node_fields("lambda")
                if known is None:
                    return
                plain = lambda_keys(_plain(node), known, sygra=True)
                if not plain.get("output_keys"):
                    plain["output_keys"] = self._lambda_writes(name, str(plain.get("lambda")))
            else:
                return
        except ValueError as exc:
            self._fail(where(path), str(exc))
            return
        _reconcile(node, plain)

    def _lambda_writes(self, name: str, spec: str) -> list[str]:
        """The keys SyGra's lambda ``spec`` sets (:mod:`~grasp_core.config.sygra_lambda`)."""
        keys = spec_writes(spec, lambda parts: self._locate(parts, ".py"), _PACKAGES)
        if not keys:
            raise ValueError(missing_keys_message(name, spec))
        self.paths.notes.append(
            f"{self.name}: lambda node {name!r} has no output_keys; they are the keys its "
            f"code sets: {', '.join(keys)}"
        )
        return keys

    def _paths(self, value: Any) -> None:
        """Rewrite every string naming a module of the source tree from SyGra's root."""
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in list(items):
            if isinstance(item, dict | list):
                self._paths(item)
            elif isinstance(item, str) and _DOTTED.match(item):
                moved = self._dotted(item) or compat_path(item)
                if moved is not None and moved != item:
                    value[key] = type(item)(moved) if type(item) is not str else moved

    def _processors(self, items: Any, document: YamlDocument) -> None:
        """Check SyGra's own processors in ``graph_post_process`` now (they run as GraSP's
        steps) and collect the embedding models they name."""
        for index, item in enumerate(items if isinstance(items, list) else []):
            params = item.get("params", {}) if isinstance(item, dict) else None
            if not isinstance(params, dict):
                continue
            path = ("graph_post_process", index, "params")
            try:
                step, settings = sygra_step(item.get("processor"), params, format_yaml_path(path))
            except ConfigError as exc:
                line = document.line_of(path)
                self._fail(f"{self.name}:{line}" if line else self.name, str(exc))
                continue
            if step == "embedding_dedup":
                self.embedders.add(str(settings["model"]))

    def _optional_fields(self, output_config: Any) -> None:
        """SyGra writes null for an ``output_map`` field whose ``from`` key a record lacks;
        in ``task.yaml`` such a field fails the record, so each one says ``required: false``
        (unless it chose already)."""
        from ruamel.yaml.comments import CommentedMap

        fields = output_config.get("output_map") if isinstance(output_config, dict) else None
        added = 0
        for spec in (fields or {}).values():
            if isinstance(spec, CommentedMap) and "from" in spec and "required" not in spec:
                spec.insert(list(spec).index("from") + 1, "required", False)
                added += 1
        if added:
            self.paths.notes.append(
                f"{self.name}: {added} output_map field(s) now say `required: false`: SyGra "
                "writes null when a record lacks the `from` key (remove it to fail such records)"
            )

    def _data_files(self, data_config: Any) -> None:
        sources = (data_config or {}).get("source") if isinstance(data_config, dict) else None
        for block in sources if isinstance(sources, list) else [sources]:
            value = block.get("file_path") if isinstance(block, dict) else None
            if isinstance(value, str):
                found = (self.task_file.parent / value).resolve()
                if found.is_file() and found.is_relative_to(self.src.resolve()):
                    self.data_files.append(found)

    def _dotted(self, dotted: str) -> str | None:
        """A module path from SyGra's root as one from the task's folder (None: no change).
        SyGra's older releases also wrote it from inside their package (``grasp.tasks...``,
        ``grasp.examples...``): the package's name is dropped when the rest is in the tree."""
        whole = dotted.split(".")
        for parts in (whole, whole[1:] if whole[0] in _PACKAGES else []):
            for cut in range(len(parts), 0, -1):
                found = self._locate(parts[:cut], ".py")
                if found is not None:
                    return self._module_path(found, parts[cut:])
        return None

    def _module_path(self, found: Path, rest: list[str]) -> str:
        """The dotted path from the task's folder to ``rest`` inside module ``found``."""
        task_dir = self.task_file.parent.resolve()
        if found.is_relative_to(task_dir):
            inside = found.relative_to(task_dir).with_suffix("").parts
        else:  # GraSP resolves dotted paths from the task's folder: copy the module in
            module = found.relative_to(self.src.resolve())
            copy = Path(SHARED, module)
            self.copies[copy] = module
            inside = copy.with_suffix("").parts
        return ".".join((*inside, *rest))

    def _subgraph(self, node: Any, where: str) -> None:
        """SyGra's ``subgraph: tasks.x.y`` as GraSP's ``graph: ../y/task.yaml``: the folder's
        converted task file, from this task's folder."""
        spec = node.get("subgraph")
        if not isinstance(spec, str) or "graph" in node:
            return  # not SyGra's spelling, or both keys: the subgraph node reports it
        try:
            recipe = subgraph_keys(_plain(node))
        except ValueError as exc:
            self._fail(where, str(exc))
            return
        if "subgraph" not in recipe:
            _reconcile(node, recipe)
            self.paths.notes.append(
                f"{where}: SyGra's recipe {spec!r} is GraSP's {recipe['graph']!r} "
                "(docs/how-to/coming-from-sygra.md lists what differs)"
            )
            return
        found = self._locate(spec.replace("/", ".").split("."), "", SYGRA_TASK_FILE)
        if found is None:
            self._fail(where, f"subgraph {spec!r} names no SyGra task folder under the source")
            return
        self.subgraphs.add(found.parent)
        task_file = found.parent / "task.yaml"
        relative = os.path.relpath(task_file, self.task_file.parent.resolve())
        plain = {("graph" if k == "subgraph" else k): v for k, v in _plain(node).items()}
        _reconcile(node, {**plain, "graph": Path(relative).as_posix()})

    def _locate(self, parts: list[str], suffix: str, name: str = "") -> Path | None:
        """The file ``parts`` names inside the source tree (see ``find_in_tree``)."""
        return find_in_tree(
            self.src.resolve(), self.task_file.parent.resolve(), parts, suffix, name
        )


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
