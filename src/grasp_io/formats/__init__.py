"""Row formats written after shaping and validation (entry point group ``grasp.formats``)."""

from grasp_io.formats.conversation import Conversation, Turn, parse_conversation
from grasp_io.formats.trl import DpoFormat, SftFormat

__all__ = ["Conversation", "DpoFormat", "SftFormat", "Turn", "parse_conversation"]
