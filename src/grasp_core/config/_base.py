"""Base class of every config model: unknown keys are errors, fields are documented."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from grasp_core.config._docstrings import attribute_docstrings

__all__ = ["StrictModel"]


class StrictModel(BaseModel):
    """A config block that rejects unknown keys and accepts both field names and aliases."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        frozen=True,
        defer_build=True,
    )

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        """Describe each field by the docstring under it, as pydantic's
        ``use_attribute_docstrings`` would, but faster (:mod:`grasp_core.config._docstrings`).
        The validator is built on first use (``defer_build``), so it sees the descriptions."""
        super().__pydantic_init_subclass__(**kwargs)
        docs = attribute_docstrings(cls)
        documented = False
        for name, field in cls.__pydantic_fields__.items():
            if field.description is None and name in docs:
                field.description = docs[name]
                documented = True
        if documented and cls.__pydantic_complete__:  # a subclass turned defer_build off
            cls.model_rebuild(force=True, _parent_namespace_depth=0)
