"""From a task's ``post_process`` (or a steps file) to built steps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grasp_core.config import StrictModel, validate_block
from grasp_core.config.locate import located
from grasp_core.config.postprocess import (
    ResolvedStep,
    StepBlock,
    SygraProcessor,
    resolve_steps,
    step_specs,
)
from grasp_core.config.task_file import Task
from grasp_core.config.yaml_source import YamlDocument, load_yaml
from grasp_core.errors import ConfigError
from grasp_core.postprocess.protocol import Step, StepEnv
from grasp_core.postprocess.sygra import ProcessorStep

__all__ = ["BuiltStep", "StepsFile", "build_steps", "load_steps_file", "task_steps"]


class StepsFile(StrictModel):
    """A steps file for `grasp curate --steps`: the steps as a task file lists them."""

    post_process: list[StepBlock] | None = None
    """The steps in GraSP's spelling (`- dedup: {method: exact}`)."""
    graph_post_process: list[str | type | SygraProcessor] | None = None
    """Or SyGra's: processor classes with their `params`."""


@dataclass(frozen=True)
class BuiltStep:
    """A step ready to run, with the name it is reported under."""

    name: str
    step: Step


def task_steps(task: Task) -> list[ResolvedStep]:
    """The task's steps, resolved (the task was checked when loaded, so this does not fail
    on a config it accepted)."""
    specs = step_specs(task.config.post_process, task.config.graph_post_process)
    return resolve_steps(specs, base_dir=task.task_dir, document=task.document)


def load_steps_file(path: Path) -> list[ResolvedStep]:
    """The steps of a YAML file: a list of steps, or a mapping with `post_process` (or
    `graph_post_process`) as in a task file. Dotted paths resolve against its folder."""
    document = load_yaml(path)
    data: Any = document.data
    if isinstance(data, list):  # read as the `post_process` list, located where it is
        data = {"post_process": data}
        lines = {("post_process", *where): line for where, line in document.lines.items()}
        document = YamlDocument(data, document.source, lines)
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: a steps file holds a list of steps (`- dedup: {{method: exact}}`) or a "
            "mapping with `post_process:`; this one holds neither"
        )
    listed = validate_block(StepsFile, data, path=(), document=document)
    with located(document, ("graph_post_process",)):
        specs = step_specs(listed.post_process, listed.graph_post_process)
    if not specs:
        raise ConfigError(f"{path}: lists no step; add one, such as `- dedup: {{method: exact}}`")
    return resolve_steps(specs, base_dir=path.resolve().parent, document=document)


def build_steps(resolved: Sequence[ResolvedStep], env: StepEnv) -> list[BuiltStep]:
    """Build every step for one pass (each holds its own state, such as a dedup index)."""
    built: list[BuiltStep] = []
    for entry in resolved:
        spec = entry.spec
        with located(entry.document, spec.path):
            if entry.kind == "processor":
                step: Step = ProcessorStep.create(spec.name, entry.target, spec.params, env)
            else:
                step = entry.target.from_config(entry.config, env)
        built.append(BuiltStep(spec.name, step))
    return built
