"""``output_config.oasst_mapper`` and ``output_config.format``: rows written per record.

The mapping itself lives in registered formats (entry point group ``grasp.formats``); the
core only picks one by name.
"""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from grasp_core.config._base import StrictModel

__all__ = ["OasstMapperConfig"]


class OasstMapperConfig(StrictModel):
    """Write each record as OpenAssistant-style message rows (see output-formats.md)."""

    type: Literal["sft", "dpo"] = "sft"
    """`sft`: one message per turn; `dpo`: chosen and rejected replies become ranked
    sibling messages, and the conversation continues under the chosen one."""
    required: bool = True
    """Apply the mapping on every run (`yes`), or only with `grasp run --oasst` (`no`)."""
    intermediate_writing: bool = False
    """SyGra's key: also write the records before mapping. Accepted with `required: no`
    (the records are then what a run writes; `--oasst` is refused, since it would write only
    the rows); with `required: yes`, run once without the mapper to keep the records."""

    @model_validator(mode="after")
    def _no_intermediate(self) -> OasstMapperConfig:
        if self.intermediate_writing and self.required:
            raise ValueError(
                "intermediate_writing: yes with required: yes is not supported; every record "
                "is mapped in the same commit as it is written. Set required: no (the records "
                "are written; --oasst writes the rows), or run once without oasst_mapper"
            )
        return self
