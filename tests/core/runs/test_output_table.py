"""OutputTable: pages, sorts and filters an output of any format without loading it whole."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from grasp_core import OutputTable
from grasp_core.runs import row_stores
from grasp_core.runs.filtering import FilterSyntaxError


def records(count: int) -> list[dict[str, object]]:
    return [
        {"id": f"r{i}", "score": (i * 7) % 10, "quality": {"overall": i % 5}, "text": f"t{i}"}
        for i in range(count)
    ]


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def ids(page_rows: list[dict[str, object]]) -> list[object]:
    return [row["record"]["id"] for row in page_rows]


def test_a_jsonl_page_holds_the_rows_at_its_offset(tmp_path: Path) -> None:
    """Rows offset..offset+limit come back with their positions in the file."""
    table = OutputTable.open(write_jsonl(tmp_path / "out.jsonl", records(100)))
    page = table.page(40, 3)
    assert [row["row"] for row in page.rows] == [40, 41, 42]
    assert ids(page.rows) == ["r40", "r41", "r42"]
    assert page.columns == ["id", "score", "quality", "text"]


def test_the_first_page_of_a_large_jsonl_reads_only_its_first_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Until the lines are counted the total is unknown; count() then finds them all."""
    monkeypatch.setattr(row_stores, "_CHUNK", 256)
    table = OutputTable(write_jsonl(tmp_path / "out.jsonl", records(500)))
    page = table.page(0, 2)
    assert ids(page.rows) == ["r0", "r1"]
    assert page.total is None
    assert table.count() == 500
    assert table.page(498, 10).total == 500
    assert ids(table.page(498, 10).rows) == ["r498", "r499"]


def test_blank_lines_are_no_rows_and_a_bad_line_is_a_row_saying_so(tmp_path: Path) -> None:
    """An empty line is skipped as the disk source skips it; a broken one shows its error."""
    path = tmp_path / "out.jsonl"
    path.write_text('{"id": "a"}\n\n{"id": \n{"id": "c"}', encoding="utf-8")
    table = OutputTable.open(path)
    page = table.page(0, 10)
    assert page.total == 3
    assert page.rows[0]["record"] == {"id": "a"}
    assert "line 2 is not JSON" in page.rows[1]["record"]["_error"]
    assert page.rows[2]["record"] == {"id": "c"}
    assert [r["id"] for r in table.store.iter_rows() if "id" in r] == ["a", "c"]


def test_sorting_orders_by_a_dotted_path_with_records_lacking_it_last(tmp_path: Path) -> None:
    """Descending by quality.overall; a record without the field comes last either way."""
    rows = [*records(6), {"id": "none"}]
    table = OutputTable.open(write_jsonl(tmp_path / "out.jsonl", rows))
    down = table.page(0, 10, sort="quality.overall", descending=True)
    assert [r["record"].get("quality", {}).get("overall") for r in down.rows] == [
        4,
        3,
        2,
        1,
        0,
        0,
        None,
    ]
    up = table.page(0, 10, sort="quality.overall")
    assert ids(up.rows)[-1] == "none"
    assert ids(up.rows)[:2] == ["r0", "r5"]


def test_filtering_uses_grasp_filter_conditions(tmp_path: Path) -> None:
    """`where` keeps the rows meeting every condition, counted and paged."""
    table = OutputTable.open(write_jsonl(tmp_path / "out.jsonl", records(50)))
    page = table.page(0, 3, where=["quality.overall >= 3", 'text != "t3"'], sort="score")
    assert page.total == table.count(["quality.overall >= 3", 'text != "t3"']) == 19
    assert all(row["record"]["quality"]["overall"] >= 3 for row in page.rows)
    kept = [r for r in records(50) if r["quality"]["overall"] >= 3 and r["text"] != "t3"]
    assert [row["record"]["score"] for row in page.rows] == sorted(r["score"] for r in kept)[:3]


def test_a_bad_condition_says_how_to_write_it(tmp_path: Path) -> None:
    """The filter's own syntax error, not a crash."""
    table = OutputTable.open(write_jsonl(tmp_path / "out.jsonl", records(3)))
    with pytest.raises(FilterSyntaxError, match="write `==`"):
        table.page(0, 3, where=["score = 4"])


def test_parquet_pages_and_sorts_by_row_group(tmp_path: Path) -> None:
    """Rows come from the row groups covering them; a plain column sorts through Arrow."""
    path = tmp_path / "out.parquet"
    pq.write_table(pa.Table.from_pylist(records(1000)), path, row_group_size=64)
    table = OutputTable.open(path)
    assert ids(table.page(995, 10).rows) == ["r995", "r996", "r997", "r998", "r999"]
    assert table.page(0, 1).total == 1000
    top = table.page(0, 3, sort="score", descending=True)
    assert [row["record"]["score"] for row in top.rows] == [9, 9, 9]
    nested = table.page(0, 2, sort="quality.overall", descending=True)
    assert [row["record"]["quality"]["overall"] for row in nested.rows] == [4, 4]


def test_an_hf_dataset_folder_is_read_from_its_arrow_files(tmp_path: Path) -> None:
    """A `save_to_disk` folder is a table too."""
    import datasets

    folder = tmp_path / "out"
    datasets.Dataset.from_list(records(20)).save_to_disk(str(folder))
    table = OutputTable.open(folder)
    assert table.count() == 20
    assert ids(table.page(18, 5).rows) == ["r18", "r19"]
    assert ids(table.page(0, 1, sort="text", descending=True).rows) == ["r9"]


def test_json_and_csv_outputs_are_read_whole(tmp_path: Path) -> None:
    """The small formats go through the disk source."""
    path = tmp_path / "out.json"
    path.write_text(json.dumps(records(5)), encoding="utf-8")
    assert ids(OutputTable.open(path).page(3, 5).rows) == ["r3", "r4"]


def test_a_changed_file_is_read_afresh_and_an_id_finds_its_row(tmp_path: Path) -> None:
    """The table is kept while the file is unchanged; a file that grew is indexed again."""
    path = write_jsonl(tmp_path / "out.jsonl", records(3))
    first = OutputTable.open(path)
    assert OutputTable.open(path) is first
    write_jsonl(path, records(4))
    again = OutputTable.open(path)
    assert again.count() == 4
    assert again.row_of("r3") == 3
    assert again.row_of("nope") is None
    assert again.record(3)["id"] == "r3"


def test_arrow_and_python_sort_jsonl_alike(tmp_path: Path) -> None:
    """A JSONL column Arrow can read sorts as the Python order does; a column whose types
    mix (a number, then text) falls back to the Python order."""
    from grasp_core.runs.output_table import _arrow_order, _python_order

    rows = [*records(300), {"id": "x"}]
    table = OutputTable.open(write_jsonl(tmp_path / "out.jsonl", rows))
    for path, descending in (("quality.overall", True), ("score", False), ("text", True)):
        fast = _arrow_order(table.store, path, descending)
        assert fast is not None
        slow = _python_order(table.store, path, descending)
        values = [table.record(int(n)).get(path.split(".")[0]) for n in fast]
        assert values == [table.record(int(n)).get(path.split(".")[0]) for n in slow]
    mixed = OutputTable.open(write_jsonl(tmp_path / "mixed.jsonl", [{"v": 1}, {"v": "a"}]))
    assert _arrow_order(mixed.store, "v", False) is None
    assert [r["record"]["v"] for r in mixed.page(0, 2, sort="v", descending=True).rows] == ["a", 1]


def test_a_filter_on_annotation_reads_the_reviews(tmp_path: Path) -> None:
    """`annotation.*` conditions see each record's review; a new review is seen at once."""
    from grasp_core import annotate, annotations_beside

    output = write_jsonl(tmp_path / "out.jsonl", records(5))
    reviews = annotations_beside(output)
    annotate(reviews, "r1", verdict="accept")
    annotate(reviews, "r3", verdict="reject")
    table = OutputTable.open(output)
    accepted = ['annotation.verdict == "accept"']
    assert ids(table.page(0, 10, where=accepted, reviews=reviews).rows) == ["r1"]
    annotate(reviews, "r4", verdict="accept")
    assert table.count(accepted, reviews=reviews) == 2
    assert table.count(accepted) == 0  # without the reviews no record has an annotation


def test_a_damaged_parquet_file_or_a_folder_that_is_no_dataset_says_so(tmp_path: Path) -> None:
    """One SourceError naming the file, never Arrow's own exception."""
    from grasp_core.errors import SourceError

    broken = tmp_path / "out.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(SourceError, match=r"cannot read .*out\.parquet"):
        OutputTable(broken)
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "data.arrow").write_bytes(b"nonsense")
    with pytest.raises(SourceError, match=r"cannot read .*folder"):
        OutputTable(folder)
