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
    """Accepted for the paper's spelling; only `no` is supported (run once without the
    mapper to keep the unmapped records)."""

    @model_validator(mode="after")
    def _no_intermediate(self) -> OasstMapperConfig:
        if self.intermediate_writing:
            raise ValueError(
                "intermediate_writing: yes is not supported; every record is mapped in the "
                "same commit as it is written. Run once without oasst_mapper to keep the "
                "unmapped records"
            )
        return self
