"""The ``lambda`` node: a Python callable that reads the state and returns updates."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

from pydantic import Field

from grasp_core.errors import ConfigError, NodeError
from grasp_core.plugin import BuildEnv, NodeConfig, NodeContext, UserCallable, load_callable

__all__ = ["LambdaNode", "LambdaNodeConfig"]


class LambdaNodeConfig(NodeConfig):
    """A `lambda` node."""

    node_type: Literal["lambda"] = "lambda"
    lambda_: str | Callable[..., Any] = Field(alias="lambda")
    """Dotted path to a function `f(state)` or a class with `apply(state)`/`__call__`."""
    inline: bool = False
    """Run a plain function on the event loop instead of a worker thread (cheap code only)."""


class LambdaNode:
    """Calls the user function; a dict return updates keys among ``output_keys``.

    With a single output key, any non-dict return value becomes that key's value.
    """

    config_model: ClassVar[type[LambdaNodeConfig]] = LambdaNodeConfig

    def __init__(self, name: str, fn: UserCallable, keys: list[str]) -> None:
        self.name = name
        self.fn = fn
        self._keys = tuple(keys)

    @classmethod
    def build(cls, name: str, config: LambdaNodeConfig, env: BuildEnv) -> LambdaNode:
        keys = config.output_key_list()
        if not keys:
            raise ConfigError(f"lambda node {name!r} needs output_keys (the keys it returns)")
        fn = load_callable(config.lambda_, env.task_dir, what="lambda", inline=config.inline)
        return cls(name, fn, keys)

    @property
    def output_keys(self) -> tuple[str, ...]:
        return self._keys

    async def run(self, state: Mapping[str, Any], ctx: NodeContext) -> Mapping[str, Any]:
        value = await self.fn(state)
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
