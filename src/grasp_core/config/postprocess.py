"""``post_process`` and SyGra's ``graph_post_process``: the steps run in order over a
finished output, after the graph.

GraSP's spelling is a list of one-key mappings: the key names the step (a registered name
such as ``dedup``, or a dotted path to a class), the value holds its settings::

    post_process:
      - dedup: {method: minhash, fields: [answer], threshold: 0.8}
      - my_steps.Stats: {bins: 10}

SyGra's spelling lists processor classes, each a dotted path or a ``processor`` with
``params``; it means the same as naming those classes under ``post_process``. A task uses
one spelling or the other.

A step's class is either a post-process step type (``config_model`` and ``from_config``,
as the registered ones) or a SyGra-style processor: a class created with ``params`` as
keyword arguments, whose ``process(data, metadata)`` takes and returns the whole list of
records. Everything is resolved and validated when the task is loaded, so a misspelt step
stops ``grasp validate`` and ``grasp run`` before the first model call.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from grasp_core import registry
from grasp_core.config._base import StrictModel
from grasp_core.config._errors import validate_block
from grasp_core.config.dotted import resolve_dotted
from grasp_core.config.locate import located
from grasp_core.config.sygra_steps import sygra_step
from grasp_core.config.yaml_source import YamlDocument, YamlPath, format_yaml_path
from grasp_core.errors import ConfigError, PluginError

__all__ = [
    "ResolvedStep",
    "StepBlock",
    "StepSpec",
    "SygraProcessor",
    "resolve_steps",
    "step_specs",
]


def _one_step(block: str | dict[str, Any]) -> str | dict[str, Any]:
    if isinstance(block, dict):
        if len(block) != 1:
            names = ", ".join(repr(key) for key in block) or "none"
            raise ValueError(
                f"each post-process step is a mapping with one key, the step's name (got "
                f"{names}); write `- dedup: {{method: exact}}`, one list item per step"
            )
        settings = next(iter(block.values()))
        if settings is not None and not isinstance(settings, dict):
            raise ValueError(
                f"the settings of step {next(iter(block))!r} must be a mapping, such as "
                "`{method: exact}` (or nothing, for its defaults)"
            )
    return block


StepBlock = Annotated[str | dict[str, Any], AfterValidator(_one_step)]
"""One item of ``post_process``: ``dedup`` alone, or ``{dedup: {...settings}}``."""


class SygraProcessor(StrictModel):
    """One item of SyGra's `graph_post_process`."""

    processor: str | type
    """Dotted path to a class whose `process(data, metadata)` takes the list of records
    and returns the list to keep (`async def` works too)."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments the class is created with."""


@dataclass(frozen=True)
class StepSpec:
    """One step as the task names it, before its class is looked up."""

    name: str
    """The step as written: a registered name or a dotted path (a class's name for one
    given as a Python object)."""
    target: str | type
    """What names the class: the written name, or the class itself."""
    params: dict[str, Any]
    path: YamlPath
    """Where the step is named in the task file."""
    params_path: YamlPath
    """Where its settings are."""


@dataclass(frozen=True)
class ResolvedStep:
    """A step whose class was found and whose settings were validated."""

    spec: StepSpec
    kind: Literal["step", "processor"]
    """``step``: a post-process step type; ``processor``: a SyGra-style whole-list class."""
    target: Any
    """The step type, or the processor class."""
    config: BaseModel | None
    """A step type's validated settings (None for a processor: its params are kwargs)."""
    document: YamlDocument | None = None
    """The file that names the step, for the location of errors met while building it."""


def step_specs(
    post_process: Sequence[str | dict[str, Any]] | None,
    graph_post_process: Sequence[str | type | SygraProcessor] | None,
) -> list[StepSpec]:
    """The steps of either spelling, in order (a task with both is refused)."""
    if post_process and graph_post_process:
        raise ConfigError(
            "graph_post_process: a task lists its steps under `post_process` or SyGra's "
            "`graph_post_process`, not both; move every step into one of them (a processor "
            "class can be named under post_process as `- my_module.MyProcessor: {params}`)"
        )
    specs: list[StepSpec] = []
    for index, block in enumerate(post_process or ()):
        path: YamlPath = ("post_process", index)
        if isinstance(block, str):
            specs.append(StepSpec(block, block, {}, path, path))
            continue
        name, settings = next(iter(block.items()))
        specs.append(StepSpec(str(name), name, dict(settings or {}), path, (*path, name)))
    for index, item in enumerate(graph_post_process or ()):
        path = ("graph_post_process", index)
        processor = item if isinstance(item, SygraProcessor) else SygraProcessor(processor=item)
        target = processor.processor
        spec_path = path if processor is not item else (*path, "processor")
        params_path = path if processor is not item else (*path, "params")
        target, params = sygra_step(target, processor.params, format_yaml_path(params_path))
        name = target if isinstance(target, str) else _class_name(target)
        specs.append(StepSpec(name, target, params, spec_path, params_path))
    return specs


def resolve_steps(
    specs: Sequence[StepSpec], *, base_dir: Path | None, document: YamlDocument | None
) -> list[ResolvedStep]:
    """Find each step's class and validate its settings; errors name the file, line and
    YAML path."""
    resolved: list[ResolvedStep] = []
    for spec in specs:
        with located(document, spec.path):
            kind, target = _step_class(spec, base_dir)
        config = None
        if kind == "step":
            config = validate_block(
                target.config_model, spec.params, path=spec.params_path, document=document
            )
        else:
            with located(document, spec.params_path):
                _check_params(spec, target)
        resolved.append(ResolvedStep(spec, kind, target, config, document))
    return resolved


def _step_class(spec: StepSpec, base_dir: Path | None) -> tuple[Literal["step", "processor"], Any]:
    target: Any = spec.target
    if isinstance(target, str):
        if "." not in target:
            found = registry.postprocess.get(target)
            if not _is_step_type(found):
                raise PluginError(
                    f"post-process step {target!r} is registered by a class without a "
                    "`config_model` and a `from_config(config, env)` classmethod"
                )
            return "step", found
        target = resolve_dotted(target, base_dir, what="post-process step")
    if _is_step_type(target):
        return "step", target
    if inspect.isclass(target) and callable(getattr(target, "process", None)):
        return "processor", target
    where = format_yaml_path(spec.path)
    raise PluginError(
        f"{where}: {spec.name!r} is not a post-process step: name a registered step "
        f"({', '.join(registry.postprocess.names()) or 'none installed'}), a step class (with "
        "`config_model` and `from_config`), or a processor class with "
        "`process(data, metadata)`"
    )


def _check_params(spec: StepSpec, processor: type) -> None:
    """The processor class accepts ``params`` as keyword arguments (checked against its
    signature: it is only created when the post-process runs)."""
    try:
        signature = inspect.signature(processor)
    except (TypeError, ValueError):  # a builtin or C class: nothing to check against
        return
    try:
        signature.bind(**spec.params)
    except TypeError as exc:
        raise ConfigError(
            f"{format_yaml_path(spec.params_path)}: processor {spec.name!r} cannot be created "
            f"with these params ({exc}); its parameters are {str(signature)!r}"
        ) from None


def _is_step_type(target: Any) -> bool:
    model = getattr(target, "config_model", None)
    is_model = isinstance(model, type) and issubclass(model, BaseModel)
    return is_model and callable(getattr(target, "from_config", None))


def _class_name(target: type) -> str:
    return f"{target.__module__}.{target.__qualname__}"
