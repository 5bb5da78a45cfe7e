"""The compatibility `GPT2TokenizerFast` that converted SyGra hooks import: `Xenova/gpt-4`
and the other cl100k_base names count tokens offline, as transformers' tokenizer would; any
other name is refused in one line naming the conversion report."""

from __future__ import annotations

import pytest

from grasp_core.errors import ConfigError
from grasp_core.plugin import count_tokens
from grasp_nodes.sygra_compat import GPT2TokenizerFast


@pytest.mark.parametrize("name", ["Xenova/gpt-4", "gpt-3.5-turbo", "Xenova/gpt-3.5-turbo"])
def test_cl100k_tokenizers_count_and_round_trip(name: str) -> None:
    """`encode` gives cl100k_base's ids (as many as GraSP's own counter), `decode` gives
    the text back."""
    tokenizer = GPT2TokenizerFast.from_pretrained(name)
    text = "DOCUMENT NUMBER 1: \n\nThe quick brown fox <|endoftext|>"
    ids = tokenizer.encode(text)
    assert len(ids) == count_tokens(text)
    assert tokenizer.encode("hello world") == [15339, 1917]
    assert tokenizer.decode(ids) == text


@pytest.mark.parametrize("name", ["gpt2", "Xenova/gpt-4o", "meta-llama/Llama-3.1-8B"])
def test_other_tokenizers_are_refused_naming_the_report(name: str) -> None:
    """A tokenizer that is not cl100k_base would count differently: refused in one line."""
    with pytest.raises(ConfigError) as info:
        GPT2TokenizerFast.from_pretrained(name)
    message = str(info.value)
    assert repr(name) in message
    assert "CONVERT_REPORT.md" in message
    assert "\n" not in message
