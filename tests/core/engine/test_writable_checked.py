"""The output record's one writability walk: a record it passes is one ``find_unwritable``
passes under every option, so the sinks' checks may skip it; the shaped record is the same
as without the walk."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grasp_core.engine.output import OutputShaper
from grasp_core.engine.writable import (
    checked_writable,
    find_unwritable,
    forget_checked,
    writable_everywhere,
)
from grasp_core.errors import RecordError
from grasp_core.graph.state import json_safe

_TEXT = st.text(alphabet=st.characters(codec=None, categories=None), max_size=6) | st.sampled_from(
    ["\ud800", "x\udfff", "é", "😀", "plain"]
)
_LEAVES = (
    _TEXT
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.builds(lambda: 10 ** (sys.get_int_max_str_digits() + 1))  # too long for text
    | st.sampled_from([b"bytes", (1, 2), frozenset({1})])
    | st.floats(allow_nan=True)
    | st.booleans()
    | st.none()
)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(_TEXT | st.integers(0, 3), inner, max_size=3)
    ),
    max_leaves=12,
)
_RECORDS = st.dictionaries(_TEXT, _VALUES, max_size=5)
_OPTIONS = [(s, i) for s in (True, False) for i in (True, False)]


@given(_RECORDS)
def test_a_record_the_walk_passes_is_writable_under_every_option(record: dict[str, Any]) -> None:
    """``writable_everywhere`` never passes a record ``find_unwritable`` would name a value
    of, under any ``surrogates``/``int64`` choice; the mark only skips the walk (a record
    that did not pass is still walked, and reported)."""
    plain = writable_everywhere(record)
    general = {
        options: find_unwritable(record, surrogates=options[0], int64=options[1])
        for options in _OPTIONS
    }
    if plain:
        assert set(general.values()) == {None}
    token = checked_writable(record) if plain else None
    try:
        for (surrogates, int64), found in general.items():
            assert find_unwritable(record, surrogates=surrogates, int64=int64) == found
    finally:
        if token is not None:
            forget_checked(token)


def test_the_mark_covers_only_that_object_and_only_until_forgotten() -> None:
    """A marked record answers None unwalked; an equal copy, or the record after the mark
    ends, is walked as before."""
    record: dict[str, Any] = {"big": 2**64}
    token = checked_writable(record)
    try:
        assert find_unwritable(record, int64=True) is None  # trusted: the caller checked it
        assert find_unwritable(dict(record), int64=True) is not None
    finally:
        forget_checked(token)
    assert find_unwritable(record, int64=True) is not None


@given(_RECORDS)
def test_shaping_after_the_walk_gives_the_general_record(record: dict[str, Any]) -> None:
    """The shaped record (no ``output_map``: the state itself) equals what ``json_safe``
    keeping bytes makes of it, or fails alike; the flag is the walk's answer."""
    shaper = OutputShaper(None, task_data={}, task_dir=None)
    state = {"id": "r", **record}
    try:
        expected: Any = json_safe(state, keep_bytes=True)
    except Exception:  # the shaper turns it into the record's failure
        with pytest.raises(RecordError, match="not JSON-serialisable"):
            shaper.shape_checked("r", state)
        return
    shaped, plain = shaper.shape_checked("r", state)
    assert _same(shaped, expected)
    assert plain == writable_everywhere(state)


def _same(a: Any, b: Any) -> bool:
    """Equal, with NaN equal to itself."""
    if isinstance(a, float) and isinstance(b, float) and a != a and b != b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(_same, a, b))
    return bool(a == b)
