"""Row formats over conversations with images and audio: TRL's vision layout (content parts
with one placeholder per medium, the media in `images` / `audios` columns), OASST message
rows keeping their media, and one clear reason for a malformed media entry."""

from __future__ import annotations

from typing import Any

import pytest

from grasp_core.errors import RecordError
from grasp_io.formats import DpoFormat, OasstDpoFormat, OasstSftFormat, SftFormat

FOX = {"path": "out.media/draw/aa.png", "type": "image/png", "size": 10}
OWL = {"path": "out.media/draw/bb.png", "type": "image/png", "size": 12}
HOOT = {"path": "out.media/say/cc.wav", "type": "audio/wav", "size": 44, "duration": 0.5}

RECORD: dict[str, Any] = {
    "conversation": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Which is faster?", "images": [FOX, OWL], "audios": HOOT},
        {"role": "assistant", "content": "The fox."},
        {"role": "user", "content": "And this one?", "images": FOX},
        {"role": "assistant", "chosen": "Also the fox.", "rejected": "The owl."},
    ]
}


def _placeholders(messages: list[dict[str, Any]], kind: str) -> int:
    return sum(1 for m in messages for part in m["content"] if part["type"] == kind)


def test_sft_rows_take_trls_vision_layout() -> None:
    """Every message holds content parts; each medium is a placeholder before its turn's
    text, and the `images`/`audios` columns list the media in the order they appear."""
    (row,) = SftFormat().rows("r", RECORD)
    assert set(row) == {"messages", "images", "audios"}
    assert row["images"] == [FOX, OWL, FOX]
    assert row["audios"] == [HOOT]
    system, user, assistant = row["messages"][:3]
    assert system == {"role": "system", "content": [{"type": "text", "text": "Be brief."}]}
    assert user["content"] == [
        {"type": "image"},
        {"type": "image"},
        {"type": "audio"},
        {"type": "text", "text": "Which is faster?"},
    ]
    assert assistant["content"] == [{"type": "text", "text": "The fox."}]
    assert _placeholders(row["messages"], "image") == len(row["images"])
    assert row["messages"][-1]["content"] == [{"type": "text", "text": "Also the fox."}]


def test_dpo_rows_carry_the_prompts_media() -> None:
    """The prompt's media go in the row's columns; chosen and rejected are text parts."""
    (row,) = DpoFormat().rows("r", RECORD)
    assert row["images"] == [FOX, OWL, FOX]
    assert _placeholders(row["prompt"], "image") == 3
    assert row["chosen"] == [
        {"role": "assistant", "content": [{"type": "text", "text": "Also the fox."}]}
    ]
    assert row["rejected"][0]["content"] == [{"type": "text", "text": "The owl."}]


def test_a_conversation_without_media_keeps_plain_text_content() -> None:
    """No media anywhere: the rows are exactly TRL's text layout, with no media columns."""
    record = {
        "conversation": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]
    }
    assert SftFormat().rows("r", record) == [
        {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]}
    ]


@pytest.mark.parametrize("fmt", [OasstSftFormat, OasstDpoFormat])
def test_oasst_rows_hold_each_messages_media(fmt: type[OasstSftFormat]) -> None:
    """A message row keeps its text and lists its own media; other rows have none."""
    rows = fmt().rows("r", RECORD)
    first, second = rows[0], rows[2]
    assert (first["text"], first["images"], first["audios"]) == (
        "Which is faster?",
        [FOX, OWL],
        [HOOT],
    )
    assert second["images"] == [FOX]
    assert "audios" not in second
    assert "images" not in rows[1]


@pytest.mark.parametrize(
    ("turn", "reason"),
    [
        ({"images": "pic.png"}, "conversation[0].images must be a media entry"),
        ({"images": [FOX, 3]}, "conversation[0].images[1] must be a media entry"),
        ({"audios": FOX}, "conversation[0].audios is 'image/png', not audio"),
    ],
)
def test_a_malformed_media_entry_fails_the_record_naming_it(
    turn: dict[str, Any], reason: str
) -> None:
    """A path string, a number or an image given as audio: the record fails with where."""
    record = {
        "conversation": [
            {"role": "user", "content": "Hi", **turn},
            {"role": "assistant", "content": "Yo"},
        ]
    }
    with pytest.raises(RecordError, match="cannot be written as sft") as raised:
        SftFormat().rows("r", record)
    assert reason in str(raised.value)


def test_media_on_a_preference_turn_is_refused() -> None:
    """Chosen and rejected are text: media belong to the user turns."""
    record = {
        "conversation": [
            {"role": "user", "content": "Draw"},
            {"role": "assistant", "chosen": "a", "rejected": "b", "images": FOX},
        ]
    }
    with pytest.raises(RecordError, match="preference turn with media"):
        DpoFormat().rows("r", record)
