"""A stand-in for ``transformers.GPT2TokenizerFast`` where SyGra's hooks only count tokens.

SyGra's tasks load ``GPT2TokenizerFast.from_pretrained("Xenova/gpt-4")`` at import to count
a text's tokens. That tokenizer is OpenAI's ``cl100k_base`` encoding, which GraSP already has
offline (tiktoken, with the file litellm ships), so ``grasp convert sygra`` points the import
here: the task needs neither ``transformers`` nor the hub. Only the names known to be
``cl100k_base`` load; any other is refused in one line, since counting it with
``cl100k_base`` would give silently different numbers.
"""

from __future__ import annotations

from typing import Any

from grasp_core.errors import ConfigError
from grasp_core.plugin import TOKEN_ENCODING, count_tokens

__all__ = ["CL100K_NAMES", "GPT2TokenizerFast"]

CL100K_NAMES = frozenset(
    {
        "gpt-4",
        "gpt-3.5-turbo",
        "gpt-3.5-turbo-16k",
        "text-embedding-ada-002",
        "Xenova/gpt-4",
        "Xenova/gpt-3.5-turbo",
        "Xenova/gpt-3.5-turbo-16k",
        "Xenova/text-embedding-ada-002",
        "cl100k_base",
    }
)
"""Tokenizer names whose vocabulary is ``cl100k_base`` (matched ignoring case)."""

_KNOWN = frozenset(name.lower() for name in CL100K_NAMES)


class GPT2TokenizerFast:
    """``encode`` and ``decode`` with ``cl100k_base``; made by :meth:`from_pretrained`."""

    def __init__(self, name: str) -> None:
        self.name_or_path = name
        count_tokens(" ")  # loads the encoding offline (TIKTOKEN_CACHE_DIR), or says why not
        import tiktoken

        self._encoding = tiktoken.get_encoding(TOKEN_ENCODING)

    @classmethod
    def from_pretrained(cls, name: str, *args: Any, **kwargs: Any) -> GPT2TokenizerFast:
        """The tokenizer ``name`` (a hub id such as ``Xenova/gpt-4``), when it is
        ``cl100k_base``; other arguments (a cache folder, a revision) change nothing."""
        if str(name).lower() not in _KNOWN:
            raise ConfigError(
                f"GPT2TokenizerFast.from_pretrained({name!r}): grasp convert sygra pointed "
                "this import at grasp_nodes.sygra_compat, which counts only cl100k_base "
                f"tokenizers ({', '.join(sorted(n for n in CL100K_NAMES if '/' in n))}...); "
                "see CONVERT_REPORT.md and import it from transformers again for this one"
            )
        return cls(str(name))

    def encode(self, text: str, *args: Any, **kwargs: Any) -> list[int]:
        """The token ids of ``text`` (special-token strings count as text)."""
        ids: list[int] = self._encoding.encode(text, disallowed_special=())
        return ids

    def decode(self, ids: list[int], *args: Any, **kwargs: Any) -> str:
        """The text of the token ids ``ids``."""
        text: str = self._encoding.decode(list(ids))
        return text

    def __len__(self) -> int:
        """The vocabulary's size."""
        size: int = self._encoding.n_vocab
        return size
