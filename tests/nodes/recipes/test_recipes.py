"""The shipped recipes run as subgraphs, over HTTP, in their example tasks."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from grasp_core import ConfigError, RunOptions, run_task
from grasp_core.mock_server import MockServer
from grasp_nodes import recipes
from tests.conftest import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples" / "recipes"


def run_example(tmp_path: Path, mock_server: MockServer, name: str) -> list[dict[str, Any]]:
    folder = tmp_path / "recipes"
    shutil.copytree(EXAMPLES, folder, ignore=shutil.ignore_patterns("output"))
    result = run_task(folder / f"{name}.yaml", RunOptions(mock=mock_server.url))
    assert result.failed == 0, result.failure_reasons
    return sorted(result.records(), key=lambda r: r["id"])


def test_evol_instruct_evolves_in_depth_or_breadth(tmp_path: Path, mock_server: MockServer) -> None:
    """Each seed is routed to one evolution, whose rewriting prompt carries the instruction."""
    records = run_example(tmp_path, mock_server, "evol_instruct")
    assert len(records) == 6
    for record in records:
        assert record["evolution"] in {"depth", "breadth"}
        assert "#Given Prompt#:\n" + record["instruction"] in record["evolved_instruction"]
    assert {r["evolution"] for r in records} == {"depth", "breadth"}


def test_llm_judge_loops_until_the_score_or_the_round_limit(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """A judged score of 9 is accepted at once; unscored answers stop after 3 rounds."""
    records = {r["id"]: r for r in run_example(tmp_path, mock_server, "llm_judge")}
    assert (records["p-2"]["score"], records["p-2"]["rounds"]) == (9.0, 1)
    assert (records["p-0"]["score"], records["p-0"]["rounds"]) == (0.0, 3)
    assert "Improve it using this feedback" in records["p-0"]["response"]


def test_critique_and_revise_feeds_the_critique_into_the_revision(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """The revision prompt holds the task, the draft and the critique."""
    records = run_example(tmp_path, mock_server, "critique_revise")
    first = records[0]
    assert first["critique"].startswith("List the concrete problems")
    assert "Critique:\n" + first["critique"] in first["final"]


def test_unknown_recipe_lists_the_recipes() -> None:
    """Asking for a recipe that does not exist names the ones that do."""
    with pytest.raises(
        ConfigError, match=r"recipes: critique_and_revise, evol_instruct, llm_judge"
    ):
        recipes.recipe("evol")
