"""Review annotations: appended beside the output, last write wins, read by `grasp filter`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import grasp_core
from grasp_core.cli import main

RECORDS = [
    {"id": "a", "answer": "Paris", "score": 5},
    {"id": "b", "answer": "Lyon", "score": 2},
    {"id": "c", "answer": "Nice", "score": 4},
]


def write_output(folder: Path) -> Path:
    output = folder / "qa.jsonl"
    output.write_text("".join(json.dumps(r) + "\n" for r in RECORDS), encoding="utf-8")
    return output


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_annotations_append_and_the_last_one_wins(tmp_path: Path) -> None:
    """Each annotation is a new line; reading keeps a record's last one; the output is
    never touched."""
    output = write_output(tmp_path)
    before = output.read_bytes()
    path = grasp_core.annotations_beside(output)
    assert path == tmp_path / "qa.annotations.jsonl"
    grasp_core.annotate(path, "a", verdict="reject")
    grasp_core.annotate(path, "a", verdict="accept", rating=5, note="good")
    grasp_core.annotate(path, "b", edit={"answer": "Marseille"})
    assert len(path.read_text().splitlines()) == 3
    found = grasp_core.read_annotations(path)
    assert found["a"] == {"verdict": "accept", "rating": 5, "edit": None, "note": "good"}
    assert found["b"]["edit"] == {"answer": "Marseille"}
    assert output.read_bytes() == before


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"verdict": "maybe"}, "use one of accept, reject"),
        ({"rating": 9}, "from 1 to 5"),
        ({"rating": True}, "from 1 to 5"),
    ],
)
def test_a_bad_annotation_is_refused_with_what_to_give(
    tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    """Bad values never reach the file."""
    path = tmp_path / "x.annotations.jsonl"
    with pytest.raises(grasp_core.ConfigError, match=message):
        grasp_core.annotate(path, "a", **kwargs)  # type: ignore[arg-type]
    assert not path.exists()


def test_a_broken_line_names_the_file_and_line(tmp_path: Path) -> None:
    """An edited-by-hand file that is not JSON says where; a torn last line is ignored."""
    path = tmp_path / "x.annotations.jsonl"
    path.write_text('{"id": "a", "verdict": "accept"}\n{"id": "b", "verd')
    assert list(grasp_core.read_annotations(path)) == ["a"]
    path.write_text('nonsense\n{"id": "a"}\n')
    with pytest.raises(grasp_core.ConfigError, match=r"x.annotations.jsonl:1: not a JSON line"):
        grasp_core.read_annotations(path)


def test_grasp_filter_picks_up_the_annotations_beside_its_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`annotation.verdict` filters; kept records carry their edits, not the annotation."""
    output = write_output(tmp_path)
    path = grasp_core.annotations_beside(output)
    grasp_core.annotate(path, "a", verdict="accept")
    grasp_core.annotate(path, "b", verdict="accept", edit={"answer": "Marseille"})
    grasp_core.annotate(path, "c", verdict="reject")
    kept = tmp_path / "kept.jsonl"
    code = main(
        ["filter", str(output), "-o", str(kept), "--where", 'annotation.verdict == "accept"']
    )
    assert code == 0
    assert read_jsonl(kept) == [
        {"id": "a", "answer": "Paris", "score": 5},
        {"id": "b", "answer": "Marseille", "score": 2},
    ]
    assert f"annotations from {path}" in capsys.readouterr().out


def test_grasp_filter_takes_an_annotations_file_and_a_rating(tmp_path: Path) -> None:
    """`--annotations FILE` names the file; `annotation.rating >= 4` compares numbers."""
    output = write_output(tmp_path)
    reviews = tmp_path / "mine.jsonl"
    grasp_core.annotate(reviews, "c", rating=4)
    grasp_core.annotate(reviews, "a", rating=2)
    kept = tmp_path / "kept.jsonl"
    code = main(
        [
            "filter",
            str(output),
            "-o",
            str(kept),
            "--annotations",
            str(reviews),
            "--where",
            "annotation.rating >= 4",
        ]
    )
    assert code == 0
    assert [r["id"] for r in read_jsonl(kept)] == ["c"]


def test_grasp_filter_refuses_a_missing_annotations_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One line naming the flag and the path, nothing written."""
    output = write_output(tmp_path)
    kept = tmp_path / "kept.jsonl"
    code = main(
        [
            "filter",
            str(output),
            "-o",
            str(kept),
            "--annotations",
            "nope.jsonl",
            "--where",
            "score >= 1",
        ]
    )
    assert code != 0
    assert "--annotations 'nope.jsonl' is not a file" in capsys.readouterr().err
    assert not kept.exists()


def test_without_annotations_a_filter_is_unchanged(tmp_path: Path) -> None:
    """No annotations file: the records are written as they are."""
    output = write_output(tmp_path)
    kept = tmp_path / "kept.jsonl"
    assert main(["filter", str(output), "-o", str(kept), "--where", "score >= 4"]) == 0
    assert read_jsonl(kept) == [RECORDS[0], RECORDS[2]]
