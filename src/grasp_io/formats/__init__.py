"""Row formats written after shaping and validation (entry point group ``grasp.formats``):
TRL's ``sft`` and ``dpo`` rows (``trl``), OpenAssistant message rows ``oasst_sft`` and
``oasst_dpo`` (``oasst``, over the tree model in ``oasst_trees``), and the conversation
parser they share (``conversation``)."""

from grasp_io.formats.conversation import Conversation, Turn, parse_conversation
from grasp_io.formats.oasst import OASST_NAMESPACE, OasstDpoFormat, OasstSftFormat, message_id
from grasp_io.formats.oasst_trees import (
    Message,
    TreeError,
    conversations,
    tree_from_nested,
    tree_from_rows,
)
from grasp_io.formats.trl import DpoFormat, SftFormat

__all__ = [
    "OASST_NAMESPACE",
    "Conversation",
    "DpoFormat",
    "Message",
    "OasstDpoFormat",
    "OasstSftFormat",
    "SftFormat",
    "TreeError",
    "Turn",
    "conversations",
    "message_id",
    "parse_conversation",
    "tree_from_nested",
    "tree_from_rows",
]
