"""SyGra's packaged recipes named as subgraphs (`subgraph: sygra.recipes.<name>`) run as the
GraSP recipes that do the same, with SyGra's input and output keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from grasp_core import RunOptions, run_task
from grasp_nodes.recipes import refine_steps
from grasp_nodes.subgraph import SubgraphNodeConfig
from tests.conftest import write_task

SELF_REFINE = """
data_config:
  source: {type: disk, file_path: prompts.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    self_refine:
      node_type: subgraph
      subgraph: sygra.recipes.self_refinement
      node_config_map:
        init_self_refine:
          params: {max_iterations: 3, score_threshold: 5}
        judge_candidate:
          model: {name: judge, parameters: {temperature: 0}}
  edges:
    - {from: START, to: self_refine}
    - {from: self_refine, to: END}
output_config:
  output_map:
    id: {from: id}
    candidate: {from: candidate}
    self_refine_judge: {from: self_refine_judge}
    reflection_trajectory: {from: reflection_trajectory}
"""


def _rows(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_sygras_self_refinement_recipe_runs_with_its_keys(tmp_path: Path) -> None:
    """`subgraph: sygra.recipes.self_refinement` writes SyGra's `candidate`,
    `self_refine_judge` and `reflection_trajectory`, one trajectory entry per judgement, at
    most `max_iterations` of them; node_config_map reaches the nodes by SyGra's names."""
    (tmp_path / "prompts.jsonl").write_text('{"id": "a", "prompt": "Name a colour"}\n')
    task = write_task(tmp_path, SELF_REFINE)
    task = task.rename(tmp_path / "graph_config.yaml")
    result = run_task(task, RunOptions(mock=True, overwrite=True))
    assert result.failed == 0
    (row,) = _rows(tmp_path / "out.jsonl")
    judge = row["self_refine_judge"]
    assert isinstance(judge, dict)
    assert set(judge) == {"score", "is_good", "critique", "raw"}
    trajectory = row["reflection_trajectory"]
    assert isinstance(trajectory, list)
    assert 1 <= len(trajectory) <= 3
    assert [step["iteration"] for step in trajectory] == list(range(len(trajectory)))
    assert trajectory[-1]["candidate"] == row["candidate"]
    assert trajectory[-1]["judge"] == judge
    assert result.metrics["models"]["judge"]["calls"] == len(trajectory)


def test_the_refinement_loop_stops_when_accepted_or_out_of_rounds() -> None:
    """The judge's is_good (or a score at the threshold) accepts; else the loop refines
    until max_iterations judgements ran."""
    start = refine_steps.start_refinement({"max_iterations": 2, "score_threshold": 4}, {})
    state = {**start, "candidate": "blue"}
    verdict = refine_steps.read_verdict({**state, "self_refine_verdict": {"score": "4"}})
    assert verdict["self_refine_is_good"] is True
    assert verdict["self_refine_judge"]["score"] == 4
    state.update(refine_steps.read_verdict({**state, "self_refine_verdict": {"score": 2}}))
    state.update(refine_steps.record_iteration({}, state))
    assert refine_steps.refine_or_accept(state) == "refine"
    state.update(refine_steps.record_iteration({}, state))
    assert refine_steps.refine_or_accept(state) == "accept"
    assert [e["iteration"] for e in state["reflection_trajectory"]] == [0, 1]


EVOL = """
data_config:
  source: {type: disk, file_path: texts.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    evol_text:
      node_type: subgraph
      subgraph: grasp.recipes.evol_instruct
    answer:
      node_type: llm
      output_keys: llm_response
      prompt:
        - user: "{evolved_text}"
      model: {name: gpt-4o}
  edges:
    - {from: START, to: evol_text}
    - {from: evol_text, to: answer}
    - {from: answer, to: END}
output_config:
  output_map:
    id: {from: id}
    text: {from: text}
    evolved_text: {from: evolved_text}
    llm_response: {from: llm_response}
"""


def test_sygras_evol_instruct_recipe_reads_text_and_writes_evolved_text(tmp_path: Path) -> None:
    """`subgraph: grasp.recipes.evol_instruct` (SyGra's older package name) is GraSP's
    evol_instruct recipe reading `text` and writing `evolved_text`, on SyGra's default model."""
    (tmp_path / "texts.jsonl").write_text('{"id": "t", "text": "Explain recursion."}\n')
    task = write_task(tmp_path, EVOL).rename(tmp_path / "graph_config.yaml")
    result = run_task(task, RunOptions(mock=True, overwrite=True))
    assert result.failed == 0
    (row,) = _rows(tmp_path / "out.jsonl")
    assert set(row) == {"id", "text", "evolved_text", "llm_response"}
    assert "Explain recursion." in str(row["evolved_text"])
    assert row["llm_response"] == row["evolved_text"]
    assert result.metrics["models"]["gpt-4o-mini"]["calls"] == 1


def test_a_recipe_grasp_has_not_or_an_unknown_recipe_node_is_refused() -> None:
    """A SyGra recipe without a GraSP counterpart, or an override of a SyGra recipe node
    GraSP's recipe lacks, is one error naming what to do."""
    with pytest.raises(ValidationError, match="no counterpart for SyGra's recipe 'magic'"):
        SubgraphNodeConfig.model_validate({"subgraph": "sygra.recipes.magic"})
    with pytest.raises(ValidationError, match="override evol_text_node"):
        SubgraphNodeConfig.model_validate(
            {
                "subgraph": "sygra.recipes.evol_instruct",
                "node_config_map": {"build_text_node": {"lambda": "x.y"}},
            }
        )
    mapped = SubgraphNodeConfig.model_validate(
        {
            "subgraph": "sygra.recipes.evol_instruct",
            "node_config_map": {"evol_text_node": {"model": {"name": "big"}}},
        }
    )
    assert mapped.graph == "grasp_nodes.recipes.evol_instruct"
    assert mapped.node_config_map == {
        "depth": {"model": {"name": "big"}},
        "breadth": {"model": {"name": "big"}},
    }
