"""The ``lambda`` node: a Python callable that reads the state and returns updates."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Literal

from pydantic import Field, PrivateAttr, ValidationInfo, model_validator

from grasp_core.errors import ConfigError, NodeError
from grasp_core.plugin import (
    BuildEnv,
    NodeConfig,
    NodeContext,
    UserCallable,
    callable_writes,
    load_callable,
    missing_keys_message,
    with_message_objects,
)
from grasp_nodes._sygra_keys import in_sygra_file, lambda_keys

__all__ = ["LambdaNode", "LambdaNodeConfig"]


class LambdaNodeConfig(NodeConfig):
    """A `lambda` node."""

    node_type: Literal["lambda"] = "lambda"
    lambda_: str | Callable[..., Any] = Field(alias="lambda")
    """Dotted path to a function `f(state)` or a class with `apply(state)`/`__call__`."""
    run_in: Literal["auto", "loop", "thread"] = "auto"
    """Where a plain `def` runs: `auto` calls it on the event loop and moves it to worker
    threads (with a warning) once it is seen to block; `loop` always on the loop (cheap code
    only); `thread` always in a worker thread. `async def` functions always run on the loop."""
    inline: bool = False
    """The older spelling of `run_in: loop`."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Settings for a function that takes two arguments: it is called as `f(params,
    state)`, `params` holding these keys, the node's own (`lambda`, `output_keys`...) and
    `params` itself (as SyGra's `lambda_node_dict["params"]`)."""

    @model_validator(mode="before")
    @classmethod
    def _sygra_spelling(cls, data: Any, info: ValidationInfo) -> Any:
        known = frozenset(field.alias or name for name, field in cls.model_fields.items())
        return lambda_keys(data, known, sygra=in_sygra_file(info))

    _sygra_file: bool = PrivateAttr(default=False)
    """Read from SyGra's task file: without `output_keys`, the keys come from the code."""

    @model_validator(mode="after")
    def _dialect(self, info: ValidationInfo) -> LambdaNodeConfig:
        self._sygra_file = in_sygra_file(info)
        return self

    @model_validator(mode="after")
    def _inline_means_loop(self) -> LambdaNodeConfig:
        if self.inline and "run_in" in self.model_fields_set and self.run_in != "loop":
            raise ValueError(
                f"`inline: true` means `run_in: loop`, but run_in is {self.run_in!r}; "
                "keep only run_in"
            )
        return self


class LambdaNode:
    """Calls the user function; a dict return updates keys among ``output_keys``.

    With a single output key, any non-dict return value becomes that key's value.
    """

    config_model: ClassVar[type[LambdaNodeConfig]] = LambdaNodeConfig

    def __init__(
        self, name: str, fn: UserCallable, keys: list[str], params: Mapping[str, Any] | None = None
    ) -> None:
        self.name = name
        self.fn = fn
        self._keys = tuple(keys)
        self._params = dict(params) if fn.positional_count() == 2 and params is not None else None

    @classmethod
    def build(cls, name: str, config: LambdaNodeConfig, env: BuildEnv) -> LambdaNode:
        keys = config.output_key_list()
        if not keys and not config._sygra_file:
            raise ConfigError(f"lambda node {name!r} needs output_keys (the keys it returns)")
        fn = load_callable(
            config.lambda_,
            env.task_dir,
            what="lambda",
            run_in=_run_in(config),
            where=f"node {name!r}",
        )
        if not keys:  # SyGra's lambda returns the whole state: read its keys from the code
            keys = callable_writes(fn.fn) or []
            if not keys:
                raise ConfigError(missing_keys_message(name, str(config.lambda_)))
        settings = config.model_dump(by_alias=True, exclude={"params"}, exclude_none=True)
        return cls(name, fn, keys, {**settings, **config.params, "params": dict(config.params)})

    @property
    def output_keys(self) -> tuple[str, ...]:
        return self._keys

    async def run(self, state: Mapping[str, Any], ctx: NodeContext) -> Mapping[str, Any]:
        # a copy (a read-only view's own copy() is ~4x quicker than dict() of it)
        working = state.copy() if type(state) is MappingProxyType else dict(state)
        if "messages" in working:  # SyGra's lambdas read message objects
            working = with_message_objects(working)
        args = (working,) if self._params is None else (dict(self._params), working)
        fn = self.fn
        if fn.is_async:
            value = await fn.fn(*args)  # what ``await fn(...)`` does, a coroutine fewer
        elif fn.placement.on_loop:
            value = fn.call_on_loop(*args)
        else:
            value = await fn(*args)
        if type(value) in _NOT_MAPPINGS and len(self._keys) == 1:  # the common case, cheaply
            return {self._keys[0]: value}
        if value is working or _whole_state(value, state):
            # SyGra's style: the function changed the state it got and returned all of it
            return {key: value[key] for key in self._keys if key in value}
        if isinstance(value, Mapping) and (len(self._keys) > 1 or set(value) <= set(self._keys)):
            extra = set(value) - set(self._keys)
            if extra:
                raise NodeError(
                    f"record {ctx.record_id!r}, node {self.name!r}: returned key(s) "
                    f"{', '.join(sorted(map(repr, extra)))} outside output_keys "
                    f"{list(self._keys)!r}; add them to output_keys or stop returning them",
                    node=self.name,
                )
            return dict(value)
        if len(self._keys) == 1:
            return {self._keys[0]: value}
        raise NodeError(
            f"record {ctx.record_id!r}, node {self.name!r}: returned a "
            f"{type(value).__name__}, but a node with several output_keys must return a dict",
            node=self.name,
        )


_NOT_MAPPINGS = frozenset({str, int, float, bool, type(None), list, tuple, bytes})
"""Exact types a function returns that are not mappings: with one output key, the value
itself is the update (what the checks below conclude, without their ``Mapping`` tests)."""


def _whole_state(value: Any, state: Mapping[str, Any]) -> bool:
    """A returned mapping holding every key of the state (and more than the output keys)."""
    return isinstance(value, Mapping) and bool(state) and set(state) <= set(value)


def _run_in(config: LambdaNodeConfig) -> Literal["auto", "loop", "thread"]:
    """``inline`` is ``loop``; with a ``timeout``, ``auto`` is ``thread``: a timeout cuts
    only a call that runs off the event loop."""
    if config.inline:
        return "loop"
    if config.run_in == "auto" and config.timeout:
        return "thread"
    return config.run_in
