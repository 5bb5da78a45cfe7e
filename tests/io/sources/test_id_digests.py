"""The duplicate-id check is exact across buffer merges."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grasp_io.sources import _ids as ids
from grasp_io.sources._ids import IdDigests, id_digest


@given(st.lists(st.text(max_size=6), max_size=300))
def test_add_reports_exactly_the_repeats(ids: list[str]) -> None:
    """add() is False exactly for ids seen before, whatever the merges in between."""
    digests = IdDigests(buffer_size=4)
    seen: set[str] = set()
    for record_id in ids:
        assert digests.add(id_digest(record_id)) == (record_id not in seen)
        seen.add(record_id)


def test_digest_is_stable_and_handles_lone_surrogates() -> None:
    """The same id always gives the same digest, even an id with a lone surrogate."""
    assert id_digest("x\ud83d") == id_digest("x\ud83d")
    assert id_digest("a") != id_digest("b")


class _FastGrowing(IdDigests):
    GROWTH = 2  # the set grows to half the array: merges of every size soon


@given(st.lists(st.integers(min_value=0, max_value=2**64 - 1), max_size=400))
def test_repeats_are_found_as_the_buffer_grows_with_the_array(digests: list[int]) -> None:
    """Exact at the ends of the 64-bit range too, across merges of a set that grows."""
    seen_digests = _FastGrowing(buffer_size=3)
    seen: set[int] = set()
    for digest in digests + digests[::3]:
        assert seen_digests.add(digest) == (digest not in seen)
        seen.add(digest)
    assert len(seen_digests) == len(seen)


@pytest.mark.parametrize("grows_in_place", [True, False], ids=["resized", "copied"])
def test_merges_across_many_pages_keep_every_digest(
    grows_in_place: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20,000 digests merged 100 at a time: the array's map grows over many pages, in place
    (Linux) or copied into a new map (where maps cannot be resized), and every digest is
    found again, every new one is new."""
    if not grows_in_place:
        monkeypatch.setattr(ids, "_resize", lambda _mapped, _size: False)
    generator = random.Random(7)
    digests = list({generator.getrandbits(64) for _ in range(20_000)})
    seen = IdDigests(buffer_size=100)
    assert all(seen.add(digest) for digest in digests)
    assert len(seen) == len(digests)
    assert not any(seen.add(digest) for digest in generator.sample(digests, 2_000))
    assert all(seen.add(digest) for digest in (2**64 - 1, 0) if digest not in digests)


def test_a_view_held_across_a_merge_leaves_the_digests_whole() -> None:
    """A view of the array kept elsewhere stops the map from being resized in place: the
    merge copies into a new map instead, and every digest is still found."""
    seen = IdDigests(buffer_size=50)
    first = list(range(1, 201))
    assert all(seen.add(digest) for digest in first)
    held = seen._sorted[0:1]  # what an outside reader could keep
    more = list(range(1000, 1300))
    assert all(seen.add(digest) for digest in more)
    assert held[0] == 1
    assert not any(seen.add(digest) for digest in first + more)
    assert len(seen) == 500
