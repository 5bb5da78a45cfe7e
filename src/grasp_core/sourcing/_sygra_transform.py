"""A transform class in SyGra's contract, used as a GraSP transform.

SyGra's custom transforms subclass its ``DataTransform`` and define
``transform(self, data: list[dict], params: dict) -> list[dict]``: they get the whole dataset
at once and may drop, add or reorder records. :func:`sygra_transform_type` wraps such a class
so that ``transformations`` can name it by its dotted path as SyGra's task files do. Like
SyGra, it reads every record first (the one kind of transform that holds the whole input).
Records keep their ids when the transform returns as many records as it got (SyGra's own are
1:1); otherwise each record's ``id`` field names it, else its position in the result.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any, ClassVar, cast

from pydantic import BaseModel, ConfigDict

from grasp_core.errors import SourceError
from grasp_core.protocols import SourceItem, Transform, TransformEnv, TransformType

__all__ = ["sygra_transform_type"]


class _AnyParams(BaseModel):
    """SyGra's ``params``: whatever the transform reads, handed to it as a dict (its validator
    is built by the first SyGra transform, not by every run importing this module)."""

    model_config = ConfigDict(extra="allow", defer_build=True)


def sygra_transform_type(target: Any) -> TransformType | None:
    """``target`` as a transform type when it is a class with SyGra's
    ``transform(self, data, params)``; None otherwise."""
    method = getattr(target, "transform", None)
    if not inspect.isclass(target) or not callable(method):
        return None
    try:
        parameters = list(inspect.signature(method).parameters)
    except (TypeError, ValueError):
        return None
    if len(parameters) != 3:  # self, data, params
        return None

    class _Adapter(_SygraTransform):
        cls: ClassVar[Any] = target

    _Adapter.__name__ = _Adapter.__qualname__ = f"Sygra{target.__name__}"
    return cast(TransformType, _Adapter)


class _SygraTransform:
    """Runs one SyGra transform over the whole stream."""

    cls: ClassVar[Any]
    config_model: ClassVar[type[BaseModel]] = _AnyParams

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params

    @classmethod
    def from_config(cls, config: BaseModel, env: TransformEnv) -> Transform:
        return cls(config.model_dump())

    def apply(self, items: Iterator[SourceItem]) -> Iterator[SourceItem]:
        good: list[SourceItem] = []
        for item in items:
            if item.error is not None:
                yield item  # a record the source could not parse stays failed
            else:
                good.append(item)
        name = self.cls.__name__
        try:
            out = self.cls().transform([dict(item.data) for item in good], dict(self.params))
        except Exception as exc:  # the user's code: its failure, with its name
            raise SourceError(
                f"transform {name} (SyGra's contract) failed: {type(exc).__name__}: {exc}; fix "
                "the transform, or remove it from `transformations`"
            ) from exc
        if not isinstance(out, list) or not all(isinstance(row, dict) for row in out):
            raise SourceError(
                f"transform {name}: returned {type(out).__name__}; SyGra's transform contract "
                "returns a list of dicts"
            )
        same = len(out) == len(good)
        for position, row in enumerate(out):
            record_id = good[position].record_id if same else str(row.get("id", position))
            yield SourceItem(record_id, row)
