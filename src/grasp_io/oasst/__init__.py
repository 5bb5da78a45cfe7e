"""OpenAssistant message trees: records to OASST rows (formats ``oasst_sft``, ``oasst_dpo``)
and OASST exports back to conversations (source ``oasst``)."""

from grasp_io.oasst.mapper import OASST_NAMESPACE, OasstDpoFormat, OasstSftFormat, message_id
from grasp_io.oasst.source import OasstSource, OasstSourceConfig
from grasp_io.oasst.trees import Message, TreeError, conversations, tree_from_nested, tree_from_rows

__all__ = [
    "OASST_NAMESPACE",
    "Message",
    "OasstDpoFormat",
    "OasstSftFormat",
    "OasstSource",
    "OasstSourceConfig",
    "TreeError",
    "conversations",
    "message_id",
    "tree_from_nested",
    "tree_from_rows",
]
