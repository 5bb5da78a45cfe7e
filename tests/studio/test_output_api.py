"""The output view's API: a task's runs, pages of its output sorted and filtered on the
server, the row count, and the media files records point to — over real HTTP."""

from __future__ import annotations

from tests.studio.finished_runs import Runs, runs_fixture  # noqa: F401  (the `runs` fixture)


def test_a_task_lists_its_runs_with_its_own_output_first(runs: Runs) -> None:
    """The task folder's runs, each named by its output's path in the workspace."""
    with runs.client() as client:
        answer = client.get("/api/outputs", params={"task": runs.greet_task})
    assert answer.status_code == 200
    found = answer.json()["runs"]
    assert [run["output"] for run in found] == [runs.greet_output, runs.variant_output]
    first = found[0]
    assert (first["main"], first["done"], first["failed"], first["has_failures"]) == (
        True,
        4,
        3,
        True,
    )
    assert first["format"] == "jsonl"


def test_a_page_is_sorted_and_filtered_by_the_server(runs: Runs) -> None:
    """`sort`, `desc` and `where` (a `grasp filter` condition) shape the page."""
    with runs.client() as client:
        answer = client.get(
            "/api/output/page",
            params={
                "output": runs.variant_output,
                "sort": "n",
                "desc": "1",
                "where": "n >= 3",
                "limit": 2,
            },
        )
    assert answer.status_code == 200
    page = answer.json()
    assert page["total"] == 5
    assert [row["record"]["id"] for row in page["rows"]] == ["r7", "r6"]
    assert [row["row"] for row in page["rows"]] == [7, 6]
    assert page["columns"][:2] == ["id", "n"]


def test_the_count_of_a_filter_is_its_matching_rows(runs: Runs) -> None:
    """`/api/output/count` counts the whole output, or what `where` keeps."""
    with runs.client() as client:
        whole = client.get("/api/output/count", params={"output": runs.variant_output})
        kept = client.get(
            "/api/output/count", params={"output": runs.variant_output, "where": "n < 2"}
        )
    assert (whole.json(), kept.json()) == ({"total": 8}, {"total": 2})


def test_a_bad_filter_or_page_is_one_line_saying_what_to_do(runs: Runs) -> None:
    """A 400 with the filter's own message; limits out of range are named."""
    with runs.client() as client:
        bad_where = client.get(
            "/api/output/page", params={"output": runs.greet_output, "where": "n = 3"}
        )
        bad_limit = client.get(
            "/api/output/page", params={"output": runs.greet_output, "limit": "5000"}
        )
        not_number = client.get(
            "/api/output/page", params={"output": runs.greet_output, "offset": "x"}
        )
    assert bad_where.status_code == 400
    assert "`=` is not an operator; write `==`" in bad_where.json()["error"]
    assert bad_limit.status_code == 400
    assert "limit=5000 is out of range" in bad_limit.json()["error"]
    assert not_number.json() == {"error": "offset='x' is not a whole number"}


def test_outputs_outside_the_workspace_are_refused(runs: Runs) -> None:
    """`..`, absolute paths and missing files never reach a reader."""
    with runs.client() as client:
        for output in ("../etc/passwd", "/etc/passwd", "greet/output/none.jsonl"):
            answer = client.get("/api/output/page", params={"output": output})
            assert answer.status_code == 404, output
            assert "error" in answer.json()
        missing = client.get("/api/output/page")
    assert missing.status_code == 400


def test_media_beside_the_output_are_served_and_nothing_else(runs: Runs) -> None:
    """A PNG a record names comes back as an image; a text file or a path out is refused."""
    with runs.client() as client:
        page = client.get("/api/output/page", params={"output": runs.image_output}).json()
        path = page["rows"][0]["record"]["animal_image"]["path"]
        image = client.get("/api/output/media", params={"output": runs.image_output, "path": path})
        journal = client.get(
            "/api/output/media",
            params={"output": runs.image_output, "path": "image_edit.journal.jsonl"},
        )
        escape = client.get(
            "/api/output/media", params={"output": runs.image_output, "path": "../../x.png"}
        )
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")
    assert journal.status_code == 400
    assert escape.status_code == 404


def test_the_api_needs_the_token(runs: Runs) -> None:
    """Without the cookie or token, the reading API answers 401."""
    import httpx

    answer = httpx.get(f"{runs.studio.base}/api/output/page", params={"output": runs.greet_output})
    assert answer.status_code == 401


def test_values_json_cannot_carry_are_shown_as_text(runs: Runs) -> None:
    """A NaN in a JSONL line (Python writes one) is shown as "nan", not a server error."""
    output = runs.studio.workspace / "odd" / "odd.jsonl"
    output.parent.mkdir(exist_ok=True)
    output.write_text('{"id": "a", "score": NaN, "big": Infinity}\n', encoding="utf-8")
    with runs.client() as client:
        answer = client.get("/api/output/page", params={"output": "odd/odd.jsonl"})
        record = client.get("/api/record", params={"output": "odd/odd.jsonl", "row": 0})
    assert answer.status_code == 200
    assert answer.json()["rows"][0]["record"] == {"id": "a", "score": "nan", "big": "inf"}
    assert record.json()["record"]["score"] == "nan"


def test_a_file_that_is_no_output_is_never_read_as_one(runs: Runs) -> None:
    """A task or models file is refused by its kind, before anything reads it."""
    with runs.client() as client:
        answer = client.get("/api/output/page", params={"output": runs.greet_task})
    assert answer.status_code == 400
    assert "is not a run output" in answer.json()["error"]
