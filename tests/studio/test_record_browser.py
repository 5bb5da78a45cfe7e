"""The record view in Chromium: a record's images shown (served through the workspace),
its node-by-node trace, a failed record's failure; axe finds no serious problem."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.studio.conftest import axe_violations, screenshot
from tests.studio.finished_runs import Runs, goto, reading_fixture  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def test_a_record_shows_its_images_and_its_trace(page: Any, reading: Runs) -> None:
    """Four images load (non-zero natural size); the trace lists the three nodes, the two
    parallel ones before the one joining them."""
    goto(page, reading.studio, "record", output=reading.image_output, row="0")
    page.wait_for_selector(".media img")
    images = page.locator(".media img")
    assert images.count() == 4
    for index in range(4):
        expect(images.nth(index)).to_have_js_property("complete", True)
        assert images.nth(index).evaluate("image => image.naturalWidth") > 0
    assert page.locator(".media figcaption").all_inner_texts() == [
        "animal_image",
        "place_image",
        "merged.0",
        "merged.1",
    ]
    steps = page.locator(".trace > li h3").all_inner_texts()
    assert sorted(steps[:2]) == ["animal", "place"]  # parallel branches, in either order
    assert steps[2:] == ["merge"]
    assert axe_violations(page) == []
    screenshot(page, "record")


def test_a_failed_record_shows_its_failure_and_input(page: Any, reading: Runs) -> None:
    """Opened by id: the failure names the node and reason; its input is shown."""
    goto(page, reading.studio, "record", output=reading.greet_output, id="r3")
    assert "Failed at greet" in page.locator(".failure h2").inner_text()
    assert "no multiples of three: 3" in page.locator(".failure").inner_text()
    assert '"n": 3' in page.locator(".record-json").inner_text()
    assert axe_violations(page) == []


CONVERSATIONS = [
    {
        "id": "sft",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "What is 2+2?"},
            {"role": "assistant", "content": "4."},
        ],
    },
    {
        "id": "dpo",
        "prompt": [{"role": "user", "content": "Name a prime."}],
        "chosen": [{"role": "assistant", "content": "7"}],
        "rejected": [{"role": "assistant", "content": "8"}],
    },
    {
        "id": "oasst",
        "message_tree_id": "t1",
        "prompt": {
            "message_id": "m1",
            "role": "prompter",
            "text": "Hi?",
            "replies": [
                {
                    "message_id": "m2",
                    "role": "assistant",
                    "text": "Hello!",
                    "replies": [
                        {"message_id": "m4", "role": "prompter", "text": "Thanks", "replies": []}
                    ],
                },
                {"message_id": "m3", "role": "assistant", "text": "Hey.", "replies": []},
            ],
        },
    },
]


def test_conversations_are_drawn_as_chat_pairs_and_trees(page: Any, reading: Runs) -> None:
    """SFT messages as a chat, DPO chosen and rejected side by side, an OASST tree nested."""
    output = reading.studio.workspace / "chats" / "output" / "chats.jsonl"
    output.parent.mkdir(parents=True)
    output.write_text("".join(json.dumps(r) + "\n" for r in CONVERSATIONS), encoding="utf-8")
    goto(page, reading.studio, "record", output="chats/output/chats.jsonl", row="0")
    assert page.locator("ol.chat > li .role").all_inner_texts() == ["system", "user", "assistant"]
    assert axe_violations(page) == []

    goto(page, reading.studio, "record", output="chats/output/chats.jsonl", row="1")
    assert page.locator(".dpo .chosen .text").inner_text() == "7"
    assert page.locator(".dpo .rejected .text").inner_text() == "8"
    assert axe_violations(page) == []

    goto(page, reading.studio, "record", output="chats/output/chats.jsonl", row="2")
    tree = page.locator("ul.tree")
    assert tree.locator(":scope > li > .text").inner_text() == "Hi?"
    assert tree.locator(":scope > li > ul > li > .text").all_inner_texts() == ["Hello!", "Hey."]
    assert tree.locator("ul ul li .text").inner_text() == "Thanks"
    assert axe_violations(page) == []


def test_a_record_plays_its_audio(page: Any, reading: Runs) -> None:
    """The WAV a speech node wrote gets a player whose file loads (its duration is known)."""
    goto(page, reading.studio, "record", output=reading.speech_output, row="0")
    audio = page.locator(".media audio")
    assert audio.count() == 1
    assert audio.get_attribute("aria-label") == "audio"
    expect(audio).not_to_have_js_property("readyState", 0)
    assert audio.evaluate("player => player.duration") > 1
    assert axe_violations(page) == []
