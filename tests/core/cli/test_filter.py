"""`grasp filter`: a small comparison syntax without eval, over real files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from grasp_core.cli import main
from grasp_core.runs.filtering import FilterSyntaxError, parse_condition

RECORDS = [
    {"id": "a", "quality": {"overall": 5, "flags": [], "heuristics": {"language": "en"}}},
    {
        "id": "b",
        "quality": {"overall": 3.5, "flags": ["truncated"], "heuristics": {"language": "fr"}},
    },
    {"id": "c", "quality": {"overall": 4, "flags": [], "heuristics": {"language": "de"}}},
    {"id": "d", "text": "no tags at all"},
    {"id": "e", "quality": {"overall": "high", "flags": [], "heuristics": {"language": "en"}}},
]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(
    ("text", "path", "op", "value"),
    [
        ("quality.overall >= 4", "quality.overall", ">=", 4),
        ("quality.overall<3.5", "quality.overall", "<", 3.5),
        ('quality.heuristics.language == "en"', "quality.heuristics.language", "==", "en"),
        ('lang in ["en", "fr"]', "lang", "in", ["en", "fr"]),
        ('lang  not   in ["en"]', "lang", "not in", ["en"]),
        ("quality.flags == []", "quality.flags", "==", []),
        ("conversation.0.role != null", "conversation.0.role", "!=", None),
        ("ok == true", "ok", "==", True),
        ('title > "m"', "title", ">", "m"),
        ("check-in == true", "check-in", "==", True),
        ("in == 5", "in", "==", 5),
        ("a.in.b >= 2", "a.in.b", ">=", 2),
        ("x-not-in != null", "x-not-in", "!=", None),
        ("x in[1]", "x", "in", [1]),
    ],
)
def test_conditions_parse_into_path_operator_and_json_value(
    text: str, path: str, op: str, value: Any
) -> None:
    """Spaces are optional; the value is a JSON literal."""
    condition = parse_condition(text)
    assert (condition.path, condition.op, condition.value) == (path, op, value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("quality.overall >> 4", "unknown operator '>>'"),
        ("quality.overall => 4", "unknown operator '=>'"),
        ("quality.overall = 4", "`=` is not an operator; write `==`"),
        ("quality.overall ~ 4", "expected PATH OP VALUE"),
        (">= 4", "expected PATH OP VALUE"),
        ("quality.overall >=", "nothing to compare with after '>='"),
        ("quality..overall >= 4", "is not a dotted path"),
        ("quality overall >= 4", "is not a dotted path"),
        ("lang == en", 'write strings in double quotes: "en"'),
        ("lang == 'en'", "is not a JSON literal"),
        ("quality.overall < [1]", "'<' compares numbers or strings"),
        ("lang in 5", "'in' needs a list"),
        ("__import__('os') == 1", "is not a dotted path"),
        ("langin [1]", "expected PATH OP VALUE"),
    ],
)
def test_bad_conditions_say_what_is_wrong(text: str, message: str) -> None:
    """Each malformed condition is a FilterSyntaxError naming the problem."""
    with pytest.raises(FilterSyntaxError) as caught:
        parse_condition(text)
    assert message in str(caught.value)
    assert repr(text) in str(caught.value)


SEMANTICS_RECORD = {"n": 1, "flag": True, "s": "beta", "xs": [{"k": 2}], "none": None}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("n == 1", True),
        ("n == true", False),
        ("flag == true", True),
        ("flag == 1", False),
        ("n != true", True),
        ("xs.0.k >= 2", True),
        ("xs.1.k >= 2", False),
        ("missing == null", False),
        ("missing != 1", False),
        ("none == null", True),
        ('n < "z"', False),
        ('s < "z"', True),
        ("s > 0", False),
        ('s in ["alpha", "beta"]', True),
        ('s in "alphabetagamma"', True),
        ('s not in ["alpha"]', True),
        ("n in [true]", False),
    ],
)
def test_condition_semantics(text: str, expected: bool) -> None:
    """Missing paths and values of another type never match; `true` is not `1`."""
    assert parse_condition(text).holds(SEMANTICS_RECORD) is expected


def test_filter_keeps_records_meeting_every_condition(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Several --where are ANDed; the kept records are written unchanged; counts printed."""
    data = write_jsonl(tmp_path / "tagged.jsonl", RECORDS)
    out = tmp_path / "kept.jsonl"
    code = main(
        [
            "filter",
            str(data),
            "--where",
            "quality.overall >= 4",
            "--where",
            "quality.flags == []",
            "--output",
            str(out),
        ]
    )
    assert code == 0
    assert read_jsonl(out) == [RECORDS[0], RECORDS[2]]
    printed = capsys.readouterr().out
    assert "kept 2 of 5, dropped 3" in printed
    assert "3 × failed 'quality.overall >= 4'" in printed


def test_filter_reads_and_writes_parquet(tmp_path: Path) -> None:
    """Any disk format in, any sink format out (chosen by the output's suffix)."""
    table = pa.Table.from_pylist([{"id": str(i), "score": float(i)} for i in range(10)])
    pq.write_table(table, tmp_path / "in.parquet")
    out = tmp_path / "out.parquet"
    code = main(["filter", str(tmp_path / "in.parquet"), "--where", "score > 6.5", "-o", str(out)])
    assert code == 0
    assert pq.read_table(out).to_pylist() == [{"id": str(i), "score": float(i)} for i in (7, 8, 9)]
    jsonl = tmp_path / "out.jsonl"
    assert main(["filter", str(out), "--where", 'id in ["8"]', "-o", str(jsonl)]) == 0
    assert read_jsonl(jsonl) == [{"id": "8", "score": 8.0}]


def test_filter_reads_through_json_text_in_csv_cells(tmp_path: Path) -> None:
    """CSV files hold nested values as JSON text; paths reach into them all the same."""
    data = tmp_path / "tagged.csv"
    data.write_text(
        'id,quality\na,"{""overall"": 5, ""flags"": []}"\nb,"{""overall"": 2}"\nc,plain\n',
        encoding="utf-8",
    )
    out = tmp_path / "kept.jsonl"
    assert main(["filter", str(data), "--where", "quality.overall >= 4", "-o", str(out)]) == 0
    assert [r["id"] for r in read_jsonl(out)] == ["a"]


CSV_TABLE = "id,score,ok\n1,4.5,true\n2,2,false\n"


@pytest.mark.parametrize(
    ("condition", "kept"),
    [
        ("score >= 4", ["1"]),
        ("id == 1", ["1"]),
        ('id == "1"', ["1"]),
        ("ok == true", ["1"]),
        ("ok != true", ["2"]),
        ("id in [2, 3]", ["2"]),
        ('id in ["2"]', ["2"]),
        ('id in "12"', ["1", "2"]),
    ],
)
def test_filter_compares_csv_cells_as_the_literals_type(
    tmp_path: Path, condition: str, kept: list[str]
) -> None:
    """CSV cells are text: a typed literal compares with the cell read as JSON, a string
    literal with the text."""
    data = tmp_path / "in.csv"
    data.write_text(CSV_TABLE, encoding="utf-8")
    out = tmp_path / "kept.jsonl"
    assert main(["filter", str(data), "--where", condition, "-o", str(out)]) == 0
    assert [str(r["id"]) for r in read_jsonl(out)] == kept


def test_filter_refuses_a_source_block_naming_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A relative `--source` file_path, or a link to it, is still the input: refused, and
    the input keeps its records."""
    monkeypatch.chdir(tmp_path)
    data = write_jsonl(tmp_path / "in.jsonl", RECORDS)
    (tmp_path / "link.jsonl").symlink_to(data)
    source = json.dumps({"type": "disk", "file_path": "in.jsonl"})
    for output in ("in.jsonl", "./in.jsonl", "link.jsonl", str(data)):
        args = ["filter", "--source", source, "--where", "id >= 0", "-o", output, "--overwrite"]
        assert main(args) == 2
        assert "is the input" in capsys.readouterr().err
        assert read_jsonl(data) == RECORDS


def test_filter_to_parquet_keeping_nothing_says_no_file_was_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A Parquet output with no rows is not written; the command says so on stderr."""
    data = write_jsonl(tmp_path / "d.jsonl", RECORDS)
    out = tmp_path / "none.parquet"
    assert main(["filter", str(data), "--where", 'id == "zz"', "-o", str(out)]) == 0
    assert not out.exists()
    assert f"no file was written at {str(out)!r}" in capsys.readouterr().err
    empty = tmp_path / "none.jsonl"
    assert main(["filter", str(data), "--where", 'id == "zz"', "-o", str(empty)]) == 0
    assert empty.read_text(encoding="utf-8") == ""
    assert "no file was written" not in capsys.readouterr().err


def test_filter_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An existing output needs --overwrite; the input is never the output."""
    data = write_jsonl(tmp_path / "d.jsonl", RECORDS)
    out = write_jsonl(tmp_path / "o.jsonl", [{"old": True}])
    assert main(["filter", str(data), "--where", 'id == "a"', "-o", str(out)]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert read_jsonl(out) == [{"old": True}]
    args = ["filter", str(data), "--where", 'id == "a"', "-o", str(out), "--overwrite"]
    assert main(args) == 0
    assert read_jsonl(out) == [RECORDS[0]]
    assert main(["filter", str(data), "--where", 'id == "a"', "-o", str(data)]) == 2
    assert "is the input" in capsys.readouterr().err


def test_bad_condition_stops_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A syntax error exits 2 with the message and writes nothing."""
    data = write_jsonl(tmp_path / "d.jsonl", RECORDS)
    out = tmp_path / "o.jsonl"
    assert main(["filter", str(data), "--where", "quality.overall >> 4", "-o", str(out)]) == 2
    assert "unknown operator '>>'" in capsys.readouterr().err
    assert not out.exists()


def test_unreadable_input_lines_are_reported_not_dropped_silently(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A line that is not JSON is counted and named on stderr; the exit code is 1."""
    data = tmp_path / "d.jsonl"
    data.write_text('{"id": "a", "n": 1}\n{broken\n{"id": "c", "n": 3}\n', encoding="utf-8")
    out = tmp_path / "o.jsonl"
    assert main(["filter", str(data), "--where", "n >= 1", "-o", str(out)]) == 1
    captured = capsys.readouterr()
    assert "1 input record(s) could not be read" in captured.err
    assert "d.jsonl" in captured.err
    assert [r["id"] for r in read_jsonl(out)] == ["a", "c"]


def test_missing_input_and_unknown_suffix_are_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Input and output problems are one-line errors with what to do."""
    assert main(["filter", str(tmp_path / "nope.jsonl"), "--where", "a == 1", "-o", "x.jsonl"]) == 2
    assert "is not a file" in capsys.readouterr().err
    data = write_jsonl(tmp_path / "d.jsonl", RECORDS)
    assert main(["filter", str(data), "--where", "a == 1", "-o", str(tmp_path / "o.txt")]) == 2
    assert "cannot tell the output format" in capsys.readouterr().err


def test_a_path_no_record_has_is_an_error_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A misspelt path (in no record) is one line naming the nearest path records have; no
    output is written, and an earlier output at that path (with --overwrite) stays whole."""
    data = write_jsonl(tmp_path / "tagged.jsonl", RECORDS)
    out = tmp_path / "kept.jsonl"
    assert main(["filter", str(data), "--where", "quality.overal >= 4", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "grasp: error: --where 'quality.overal >= 4': no record has 'quality.overal' (did you "
        "mean 'quality.overall'?); the 5 records read have the fields id, quality, text. Nothing "
        "was written: fix the path (a record without it never meets the condition)"
    ]
    assert not out.exists()
    write_jsonl(out, [{"old": True}])
    where = ["--where", "quality.overall >= 4", "--where", "qualty.flags == []"]
    assert main(["filter", str(data), *where, "-o", str(out), "--overwrite"]) == 2
    assert "'qualty.flags' (did you mean 'quality.flags'?)" in capsys.readouterr().err
    assert read_jsonl(out) == [{"old": True}]


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_a_path_only_later_records_have_is_no_error(tmp_path: Path, suffix: str) -> None:
    """A path the first records lack but a later one has (past the records sampled for
    suggestions) is read like any other, in JSONL and through CSV's JSON text alike."""
    records = [{"id": f"r{i}", "quality": {"overall": 1}} for i in range(150)]
    records.append({"id": "last", "quality": {"overall": 5, "judge": {"score": 4}}})
    data = write_jsonl(tmp_path / "in.jsonl", records)
    if suffix == ".csv":
        assert (
            main(["filter", str(data), "--where", "id != null", "-o", str(tmp_path / "in.csv")])
            == 0
        )
        data = tmp_path / "in.csv"
    out = tmp_path / "kept.jsonl"
    assert main(["filter", str(data), "--where", "quality.judge.score >= 4", "-o", str(out)]) == 0
    assert [r["id"] for r in read_jsonl(out)] == ["last"]


def test_an_empty_input_is_no_error(tmp_path: Path) -> None:
    """No record: nothing to check a path against, so kept 0 of 0 and an empty output."""
    data = tmp_path / "empty.jsonl"
    data.write_text("", encoding="utf-8")
    out = tmp_path / "kept.jsonl"
    assert main(["filter", str(data), "--where", "anything >= 4", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == ""
