"""Record transforms: each one's rule, its edge cases, and error items passing untouched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from grasp_core.config import validate_block
from grasp_core.errors import ConfigError, PluginError
from grasp_core.protocols import SourceItem, Transform, TransformEnv, TransformType
from grasp_io.transforms import (
    AddNewField,
    CombineRecords,
    FilterRecords,
    RenameFields,
    SampleRecords,
    SelectFields,
    ShuffleRecords,
    SkipRecords,
)

ENV = TransformEnv(base_dir=Path("."), seed=7)
BAD = SourceItem("<line 9>", {}, "data.jsonl:9: not valid json")


def build(kind: TransformType, params: dict[str, Any], env: TransformEnv = ENV) -> Transform:
    config = validate_block(kind.config_model, params, path=("params",), document=None)
    return kind.from_config(config, env)


def records(n: int, **extra: Any) -> list[SourceItem]:
    return [SourceItem(f"r{i}", {"n": i, **extra}) for i in range(n)]


def run(transform: Transform, items: list[SourceItem]) -> list[SourceItem]:
    out: Iterator[SourceItem] = transform.apply(iter(items))
    return list(out)


def ns(items: list[SourceItem]) -> list[int]:
    return [item.data["n"] for item in items]


def test_rename_keeps_ids_and_respects_overwrite() -> None:
    """Renaming moves the value; an existing target is kept unless overwrite is true."""
    items = [SourceItem("a", {"q": 1, "answer": 2}), SourceItem("b", {"q": 3, "question": 4})]
    keep = run(build(RenameFields, {"mapping": {"q": "question"}}), items)
    assert keep == [
        SourceItem("a", {"answer": 2, "question": 1}),
        SourceItem("b", {"q": 3, "question": 4}),
    ]
    replace = run(build(RenameFields, {"mapping": {"q": "question"}, "overwrite": True}), items)
    assert replace[1] == SourceItem("b", {"question": 3})
    assert items[0].data == {"q": 1, "answer": 2}, "the source's dicts are not changed"


def test_add_new_field_gives_each_record_its_own_copy() -> None:
    """Added values are copies: changing one record's list does not change another's."""
    out = run(build(AddNewField, {"mapping": {"tags": ["x"], "n": 99}}), records(2))
    assert [item.data for item in out] == [{"n": 99, "tags": ["x"]}] * 2
    out[0].data["tags"].append("y")
    assert out[1].data["tags"] == ["x"]
    kept = run(build(AddNewField, {"mapping": {"n": 99}, "overwrite": False}), records(2))
    assert ns(kept) == [0, 1]


def test_fields_keep_and_drop() -> None:
    """`keep` keeps the listed fields in order (missing ones skipped); `drop` removes some."""
    items = [SourceItem("a", {"x": 1, "y": 2, "z": 3})]
    assert run(build(SelectFields, {"keep": ["z", "x", "w"]}), items)[0].data == {"z": 3, "x": 1}
    assert run(build(SelectFields, {"drop": ["y"]}), items)[0].data == {"x": 1, "z": 3}
    with pytest.raises(ConfigError, match="exactly one of `keep`"):
        build(SelectFields, {"keep": ["x"], "drop": ["y"]})


def test_error_items_pass_every_transform_untouched(tmp_path: Path) -> None:
    """An unreadable record reaches the engine unchanged whatever the transforms, so it is
    counted as failed rather than lost."""
    (tmp_path / "preds.py").write_text("def never(record):\n    return False\n")
    env = TransformEnv(base_dir=tmp_path, seed=1)
    transforms = [
        build(RenameFields, {"mapping": {"n": "m"}}),
        build(AddNewField, {"mapping": {"k": 1}}),
        build(SelectFields, {"keep": []}),
        build(FilterRecords, {"predicate": "preds.never"}, env),
        build(SkipRecords, {"count": {"from_start": 5, "from_end": 5}}),
        build(CombineRecords, {"combine": 3}),
        build(SampleRecords, {"n": 0}),
        build(SampleRecords, {"fraction": 0.01}),
        build(ShuffleRecords, {"buffer_size": 2}),
    ]
    for transform in transforms:
        out = run(transform, [*records(3), BAD])
        assert BAD in out, type(transform).__name__


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"count": {"from_start": 2, "from_end": 1}}, [2, 3, 4, 5, 6, 7, 8]),
        ({"skip_type": "count", "count": {"start": 0, "end": 3}}, [0, 1, 2, 3, 4, 5, 6]),
        ({"range": "[:3],[-2:]"}, [3, 4, 5, 6, 7]),
        ({"range": "[2:4], [-5:-3]"}, [0, 1, 4, 7, 8, 9]),
        ({"range": "[-3:5]"}, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
        ({"range": "[4:-4]"}, [0, 1, 2, 3, 6, 7, 8, 9]),
        ({"count": {"from_start": 20}}, []),
        ({"count": {"from_end": 20}}, []),
    ],
)
def test_skip_records_by_count_and_range(params: dict[str, Any], expected: list[int]) -> None:
    """Skipping matches Python slicing of the whole list, ends included."""
    assert ns(run(build(SkipRecords, params), records(10))) == expected


def test_skip_from_end_holds_back_only_what_it_skips() -> None:
    """Skipping the last 3 of an endless stream still yields records: the lookahead is 3."""
    skip = build(SkipRecords, {"count": {"from_end": 3}})

    def endless() -> Iterator[SourceItem]:
        n = 0
        while True:
            yield SourceItem(str(n), {"n": n})
            n += 1

    out = skip.apply(endless())
    assert [next(out).data["n"] for _ in range(5)] == [0, 1, 2, 3, 4]


def test_skip_on_empty_input_and_bad_ranges() -> None:
    """No input gives no output; a range that is not a slice is a config error."""
    assert run(build(SkipRecords, {"count": {"from_end": 2}}), []) == []
    with pytest.raises(ConfigError, match=r"cannot read the range '\[1-2\]'"):
        build(SkipRecords, {"range": "[1-2]"})
    with pytest.raises(ConfigError, match="give `count`"):
        build(SkipRecords, {})


def test_combine_joins_windows_with_stable_ids() -> None:
    """Windows of 2 moving by 1: ids join the members' ids; rules pick or join values."""
    items = [SourceItem(f"p{i}", {"text": f"t{i}", "page": i, "kind": f"k{i}"}) for i in range(4)]
    combine = build(
        CombineRecords,
        {
            "combine": 2,
            "shift": 1,
            "join_column": {"text": {"delimiter": "\n"}, "page": "$1-$2", "kind": "last"},
        },
    )
    out = run(combine, items)
    assert [item.record_id for item in out] == ["p0+p1", "p1+p2", "p2+p3"]
    assert out[0].data == {"text": "t0\nt1", "page": "0-1", "kind": "k1"}
    assert run(combine, items) == out, "the same input gives the same records and ids"


def test_combine_skip_shift_and_leftovers() -> None:
    """Skips apply first; a shift larger than the window leaves records out between windows;
    unlisted fields keep the first record's value; a partial last window is not formed."""
    combine = build(
        CombineRecords, {"skip": {"from_beginning": 1, "from_end": 1}, "combine": 2, "shift": 3}
    )
    out = run(combine, records(9))
    assert [item.record_id for item in out] == ["r1+r2", "r4+r5"]
    assert [item.record_id for item in run(combine, records(10))][-1] == "r7+r8"
    assert out[0].data == {"n": 1}


def test_combine_window_longer_than_data_and_empty_input() -> None:
    """A window longer than the input forms no record; an empty input gives nothing."""
    combine = build(CombineRecords, {"combine": 5})
    assert run(combine, records(3)) == []
    assert run(combine, []) == []
    single = build(CombineRecords, {"combine": 1})
    assert [item.record_id for item in run(single, records(2))] == ["r0", "r1"]


def test_combine_rejects_a_rule_that_is_not_one() -> None:
    """A join rule that is neither first/last, a delimiter nor a template names the field."""
    with pytest.raises(ConfigError, match=r"join_column.text: '-' is not a rule"):
        build(CombineRecords, {"join_column": {"text": "-"}})


def test_filter_by_dotted_predicate(tmp_path: Path) -> None:
    """A predicate from the task folder keeps records; `keep: false` inverts it; a predicate
    that raises fails that record with the reason instead of dropping it."""
    (tmp_path / "preds.py").write_text(
        "def even(record):\n    return 10 // (record['n'] - 3) % 1 == 0 and record['n'] % 2 == 0\n"
    )
    env = TransformEnv(base_dir=tmp_path)
    out = run(build(FilterRecords, {"predicate": "preds.even"}, env), records(6))
    assert [(item.record_id, item.error is None) for item in out] == [
        ("r0", True),
        ("r2", True),
        ("r3", False),
        ("r4", True),
    ]
    assert "ZeroDivisionError" in str(out[2].error)
    odd = run(build(FilterRecords, {"predicate": "preds.even", "keep": False}, env), records(6))
    assert [item.record_id for item in odd] == ["r1", "r3", "r5"]


def test_filter_predicate_errors_are_config_errors(tmp_path: Path) -> None:
    """A missing predicate or an async one is refused when the task is built."""
    (tmp_path / "preds.py").write_text("async def slow(record):\n    return True\n")
    env = TransformEnv(base_dir=tmp_path)
    with pytest.raises(PluginError, match="has no attribute 'nope'"):
        build(FilterRecords, {"predicate": "preds.nope"}, env)
    with pytest.raises(PluginError, match="is async"):
        build(FilterRecords, {"predicate": "preds.slow"}, env)


def test_sample_fraction_depends_on_ids_and_seed_only() -> None:
    """A fractional sample keeps the same records in any order, and another seed differs."""
    items = records(400)
    half = build(SampleRecords, {"fraction": 0.5})
    kept = {item.record_id for item in run(half, items)}
    assert 150 < len(kept) < 250
    assert {item.record_id for item in run(half, items[::-1])} == kept
    other = build(SampleRecords, {"fraction": 0.5, "seed": 8})
    assert {item.record_id for item in run(other, items)} != kept


def test_sample_n_is_exact_ordered_and_seeded() -> None:
    """`n` keeps exactly n records in input order; the run seed and an explicit seed decide
    which; fewer records than n keeps them all; n of nothing is nothing."""
    items = records(50)
    first = run(build(SampleRecords, {"n": 10}), items)
    assert len(first) == 10
    assert ns(first) == sorted(ns(first))
    assert run(build(SampleRecords, {"n": 10}), items) == first
    assert run(build(SampleRecords, {"n": 10, "seed": 7}, TransformEnv(Path("."), 0)), items) == (
        first
    )
    assert run(build(SampleRecords, {"n": 10, "seed": 1}), items) != first
    assert run(build(SampleRecords, {"n": 99}), records(3)) == records(3)
    assert run(build(SampleRecords, {"n": 5}), []) == []
    with pytest.raises(ConfigError, match="exactly one of `fraction`"):
        build(SampleRecords, {})


@pytest.mark.parametrize("params", [{"buffer_size": 8}, {"exact": True}])
def test_shuffle_permutes_deterministically(params: dict[str, Any]) -> None:
    """A shuffle yields every record once, in an order fixed by the seed."""
    items = records(100)
    out = run(build(ShuffleRecords, params), items)
    assert sorted(ns(out)) == list(range(100))
    assert ns(out) != list(range(100))
    assert run(build(ShuffleRecords, params), items) == out
    assert run(build(ShuffleRecords, {**params, "seed": 3}), items) != out
    assert run(build(ShuffleRecords, params), []) == []


def test_buffered_shuffle_streams_with_bounded_lookahead() -> None:
    """With buffer_size 4 the first record comes out after reading 5, and no record moves
    earlier than its position minus the buffer."""
    pulled: list[int] = []

    def source() -> Iterator[SourceItem]:
        for item in records(1000):
            pulled.append(item.data["n"])
            yield item

    out = build(ShuffleRecords, {"buffer_size": 4}).apply(source())
    next(out)
    assert len(pulled) == 5
    rest = [item.data["n"] for item in out]
    assert all(position >= n - 4 for position, n in enumerate(rest, start=1))


def test_a_transform_class_satisfies_the_protocol() -> None:
    """Built transforms are `Transform`s and their classes declare a params model."""
    transform = build(RenameFields, {"mapping": {}})
    assert isinstance(transform, Transform)
    assert issubclass(RenameFields.config_model, BaseModel)
