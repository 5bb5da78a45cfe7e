"""Quality heuristics on hand-made texts whose answers are worked out by hand."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from grasp_core.errors import RecordError
from grasp_nodes.quality import (
    count_tokens,
    detect_language,
    flags_of,
    heuristic_score,
    heuristics,
    is_broken_json,
    is_refusal,
    is_truncated,
    mtld,
    record_text,
    repetition_ratio,
    type_token_ratio,
    unclosed_code_fence,
    words,
)


def test_words_are_lowercased_letter_runs_with_inner_apostrophes_and_hyphens() -> None:
    """Punctuation splits words; `don't` and `well-known` stay whole; marks stay in words."""
    assert words("Don't PANIC: it's a well-known fact, 42 times!") == [
        "don't",
        "panic",
        "it's",
        "a",
        "well-known",
        "fact",
        "42",
        "times",
    ]
    assert words("नमस्ते दुनिया") == ["नमस्ते", "दुनिया"]


def test_type_token_ratio_counts_distinct_over_all() -> None:
    """4 distinct of 6 tokens is 2/3; no tokens has no ratio."""
    assert type_token_ratio(["a", "b", "a", "c", "d", "a"]) == pytest.approx(4 / 6)
    assert type_token_ratio([]) is None


def test_repetition_ratio_is_the_fraction_of_repeated_ngrams() -> None:
    """`a b c a b c a b` has 6 trigrams, 3 distinct: 3 of 6 repeat an earlier one."""
    tokens = ["a", "b", "c", "a", "b", "c", "a", "b"]
    assert repetition_ratio(tokens, 3) == pytest.approx(0.5)
    assert repetition_ratio(["a", "b"], 3) == 0.0
    assert repetition_ratio(["x", "y", "z", "w"], 2) == 0.0


def test_mtld_averages_a_forward_and_a_backward_pass() -> None:
    """`a a b c d`: forward, TTR 1/2 closes a factor at token 2 and `b c d` leaves TTR 1
    (no partial factor): 5 / 1 = 5. Backward `d c b a a`: TTR 4/5 = 0.8 never reaches 0.72,
    partial factor (1 - 0.8) / (1 - 0.72) = 0.714285...: 5 / 0.714285 = 7. MTLD = 6."""
    assert mtld(["a", "a", "b", "c", "d"]) == pytest.approx(6.0)


def test_mtld_counts_a_factor_when_ttr_reaches_the_threshold() -> None:
    """`a b a b a b`: TTR 2/3 <= 0.72 at tokens 3 and 6, so 2 factors both ways: 6 / 2 = 3."""
    assert mtld(["a", "b", "a", "b", "a", "b"]) == pytest.approx(3.0)


def test_mtld_is_undefined_without_tokens_or_without_any_factor() -> None:
    """No tokens, or all-distinct tokens (TTR stays 1), give None rather than infinity."""
    assert mtld([]) is None
    assert mtld(["every", "word", "here", "differs"]) is None


def test_token_counts_use_cl100k() -> None:
    """cl100k_base splits `Hello world, how are you?` into 7 tokens."""
    assert count_tokens("Hello world, how are you?") == 7
    assert count_tokens("") == 0
    assert count_tokens("<|endoftext|>") > 1


def test_token_counts_need_no_network(tmp_path: object) -> None:
    """With every proxy pointing at a closed port and no TIKTOKEN_CACHE_DIR, the tokenizer
    still loads: it comes from litellm's bundled file."""
    env = {k: v for k, v in os.environ.items() if k != "TIKTOKEN_CACHE_DIR"}
    dead = "http://127.0.0.1:9"
    env.update(HTTP_PROXY=dead, HTTPS_PROXY=dead, http_proxy=dead, https_proxy=dead)
    env.update(HF_HUB_OFFLINE="1", NO_PROXY="", no_proxy="")
    code = "from grasp_nodes.quality import count_tokens; print(count_tokens('Hello world'))"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("The weather is lovely today and we are going to the beach.", "en"),
        ("Le temps est magnifique aujourd'hui et nous allons à la plage.", "fr"),
        ("Das Wetter ist heute schön und wir gehen an den Strand.", "de"),
        ("El tiempo es precioso hoy y vamos a la playa con los niños.", "es"),
        ("Сегодня прекрасная погода, и мы идём на пляж.", "ru"),
        ("今日はとても良い天気なので、海に行きます。", "ja"),
    ],
)
def test_language_is_identified_offline(text: str, code: str) -> None:
    """py3langid names the language of a sentence, with a probability."""
    found, confidence = detect_language(text)
    assert found == code
    assert confidence is not None
    assert 0.5 < confidence <= 1.0


def test_language_of_text_without_letters_is_unknown() -> None:
    """Digits and punctuation alone carry no language."""
    assert detect_language("12345 !!! ---") == (None, None)


@pytest.mark.parametrize(
    "reply",
    [
        "I'm sorry, but I can't help with that request.",
        "I cannot assist with creating malware.",
        "As an AI language model, I cannot browse the internet.",
        "Sorry — I won't provide that information.",
        "I must decline to write this.",
        "I\u2019m sorry, but I can\u2019t help with that.",
        "I can\u2019t assist with that.",
        "I\u2018m unable to help with this.",
        "I'm not able to provide medical advice.",
    ],
)
def test_refusals_are_detected(reply: str) -> None:
    """Common openings that decline the request are refusals."""
    assert is_refusal(reply)


@pytest.mark.parametrize(
    "reply",
    [
        "Sure! Here is the function you asked for.",
        "The capital of France is Paris.",
        "Paris. " + "More detail follows. " * 30 + "I'm sorry, but I can't say more.",
    ],
)
def test_answers_are_not_refusals(reply: str) -> None:
    """Answers, and apologies deep inside a long answer, are not refusals."""
    assert not is_refusal(reply)


def test_truncation_by_ending() -> None:
    """Cut-off replies: an unclosed fence, a trailing comma, or 20+ words mid-sentence."""
    long_cut = " ".join(["word"] * 25) + " and then the"
    assert is_truncated(long_cut)
    assert is_truncated("The three steps are: first,")
    assert is_truncated("Here:\n```python\ndef f():\n    return")
    assert not is_truncated("Paris")
    assert not is_truncated(" ".join(["word"] * 25) + ".")
    assert not is_truncated("Here:\n```python\nprint(1)\n```")
    assert not is_truncated("")


def test_code_fences_follow_commonmark() -> None:
    """A fence closes with the same character, at least as long, and nothing after it."""
    assert not unclosed_code_fence("```py\nx = 1\n```\ntext\n~~~\ny\n~~~")
    assert unclosed_code_fence("```py\nx = 1\n")
    assert unclosed_code_fence("````\ncode\n```\n")
    assert not unclosed_code_fence("````\n```\ninner\n```\n````")
    assert unclosed_code_fence("```\ncode\n~~~")
    assert not unclosed_code_fence("inline ``` is not a fence")


def test_broken_json() -> None:
    """A reply is JSON when it, or its first fenced block, parses."""
    assert not is_broken_json('{"a": [1, 2]}')
    assert not is_broken_json('Here you go:\n```json\n{"a": 1}\n```')
    assert is_broken_json('{"a": 1,}')
    assert is_broken_json('```json\n{"a": \n```')
    assert is_broken_json("")


def test_record_text_reads_the_conversation_and_oasst_roles() -> None:
    """`conversation` comes first; `prompter`/`gpt` are user/assistant; text parts join."""
    record = {
        "conversation": [
            {"role": "system", "content": "Be brief."},
            {"role": "prompter", "content": [{"type": "text", "text": "Hi"}]},
            {"role": "gpt", "content": "Hello!"},
        ],
        "messages": [{"role": "user", "content": "ignored"}],
    }
    text = record_text(record)
    assert [t.role for t in text.turns] == ["system", "user", "assistant"]
    assert text.prompt == "Hi"
    assert text.response == "Hello!"
    assert text.transcript() == "USER: Hi\n\nASSISTANT: Hello!"


def test_record_text_reads_oasst_text_and_the_chosen_reply_of_a_pair() -> None:
    """OASST rows hold `text`; a DPO turn's reply is its `chosen` one."""
    text = record_text(
        {
            "conversation": [
                {"role": "prompter", "text": "Name a prime."},
                {"role": "assistant", "chosen": "7", "rejected": "8"},
            ]
        }
    )
    assert [(t.role, t.text) for t in text.turns] == [("user", "Name a prime."), ("assistant", "7")]


def test_record_text_reads_a_conversation_stored_as_json_text() -> None:
    """A CSV cell holds the message list as JSON text; it is read as the list."""
    stored = json.dumps([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}])
    text = record_text({"conversation": stored})
    assert [(t.role, t.text) for t in text.turns] == [("user", "Hi"), ("assistant", "Yo")]
    with pytest.raises(RecordError, match=r"must be a list of \{role, content\} messages"):
        record_text({"conversation": "[not json"})


def test_record_text_from_fields_and_errors() -> None:
    """Named fields (dots reach into dicts) replace the role list; a missing one fails."""
    text = record_text(
        {"q": "What is 2+2?", "a": {"text": "4."}}, prompt_fields=["q"], response_fields=["a.text"]
    )
    assert (text.last_question, text.last_response) == ("What is 2+2?", "4.")
    with pytest.raises(RecordError, match=r"no 'conversation' or 'messages' field"):
        record_text({"text": "x"}, record_id="r1")
    with pytest.raises(RecordError, match=r"no field 'answer'"):
        record_text({"q": "x"}, response_fields=["answer"])
    with pytest.raises(RecordError, match=r"conversation\[0\] is not a \{role, content\}"):
        record_text({"conversation": ["hi"]})


def test_heuristics_of_a_conversation() -> None:
    """Every tag of a small JSON-asking conversation, counted by hand."""
    record = {
        "messages": [
            {"role": "user", "content": "Give me the result as JSON."},
            {"role": "assistant", "content": '{"result": 4'},
        ]
    }
    tags = heuristics(record_text(record))
    assert tags["turns"] == 2
    assert (tags["user_turns"], tags["assistant_turns"]) == (1, 1)
    assert tags["chars"] == len('Give me the result as JSON.\n\n{"result": 4')
    assert tags["words"] == 8
    assert tags["response_words"] == 2
    assert tags["response_chars"] == 12
    assert tags["tokens"] == count_tokens('Give me the result as JSON.\n\n{"result": 4')
    assert tags["json_requested"] is True
    assert tags["broken_json"] is True
    assert tags["empty"] is False
    assert tags["refusal"] is False
    assert tags["type_token_ratio"] == 1.0
    assert tags["mtld"] is None
    assert tags["repetition_ratio"] == 0.0
    assert tags["language"] == "en"
    assert flags_of(tags) == ["broken_json"]


def test_flags_and_heuristic_score() -> None:
    """Flags follow FLAG_NAMES order; the score is 5 minus one per flag, and 1 when empty."""
    repeated = {"role": "assistant", "content": "buy now " * 20}
    tags = heuristics(record_text({"conversation": [{"role": "user", "content": "Hi"}, repeated]}))
    assert tags["repetition_ratio"] > 0.9
    flags = flags_of(tags)
    assert "repetitive" in flags
    assert heuristic_score(flags) == 5 - len(flags)
    empty = heuristics(record_text({"conversation": [{"role": "user", "content": "Hi"}]}))
    assert empty["assistant_turns"] == 0
    blank = heuristics(
        record_text({"conversation": [{"role": "user", "content": "Hi"}, {"role": "assistant"}]})
    )
    assert blank["empty"] is True
    assert blank["empty_turns"] == 1
    assert heuristic_score(flags_of(blank)) == 1
