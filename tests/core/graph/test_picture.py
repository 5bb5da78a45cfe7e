"""`grasp graph`: Mermaid, DOT, SVG and PNG pictures of a task's graph."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from grasp_core.cli import main
from tests.conftest import REPO_ROOT, write_task

EXAMPLES = REPO_ROOT / "examples"

LOOP_TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
graph_config:
  nodes:
    draft: {node_type: lambda, lambda: steps.draft, output_keys: text}
    pick: {node_type: weighted_sampler, attributes: {tone: {values: [calm, loud]}}}
    check: {node_type: lambda, lambda: steps.draft, output_keys: ok}
  edges:
    - {from: START, to: draft}
    - {from: START, to: pick}
    - {from: draft, to: check}
    - {from: pick, to: check}
    - from: check
      condition: steps.route
      path_map: {again: draft, done: END}
"""

STEPS = """
def draft(state):
    return "x"

def route(state):
    return "done"
"""


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def loop_task(tmp_path: Path) -> Path:
    return write_task(tmp_path, LOOP_TASK, {"data.jsonl": '{"a": 1}\n', "steps.py": STEPS})


def test_mermaid_shows_types_joins_labels_and_loops(
    loop_task: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, "graph", str(loop_task))
    assert code == 0
    assert out.startswith(f"---\ntitle: {loop_task.parent.name}\n---\nflowchart TD\n")
    assert '    n_draft["draft<br/><small>lambda</small>"]' in out
    assert '    n_pick{{"pick<br/><small>weighted_sampler</small>"}}' in out
    edges = set(re.findall(r"^    (n_\w+ -[.-]+>(?:\|[^|]*\|)? n_\w+)$", out, flags=re.M))
    assert edges == {
        "n_START --> n_draft",
        "n_START --> n_pick",
        "n_draft --> n_check",
        "n_pick --> n_check",
        "n_check -.->|again| n_draft",
        "n_check -->|done| n_END",
    }


def test_mermaid_nests_a_subgraph_in_a_box(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "graph", str(EXAMPLES / "recipes" / "evol_instruct.yaml"))
    assert code == 0
    start = out.index('subgraph n_evolve["evolve · subgraph"]')
    box = out[start : out.index("\n    end\n", start)]
    assert "n_evolve_2e_strategy{{" in box
    assert "n_evolve_2e_strategy -->|depth| n_evolve_2e_depth" in box
    assert "n_START --> n_evolve_2e_START" in out
    assert "n_evolve_2e_END --> n_END" in out


def test_dot_output_has_clusters_and_dashed_back_edges(
    tmp_path: Path, loop_task: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "pics" / "g.dot"
    code, _, err = run_cli(capsys, "graph", str(loop_task), "--format", "dot", "-o", str(target))
    assert code == 0
    assert str(target) in err
    dot = target.read_text(encoding="utf-8")
    assert re.search(r"check -> draft \[label=again style=dashed\]", dot)
    assert re.search(r"check -> END \[label=done\]", dot)
    recipe = EXAMPLES / "recipes" / "evol_instruct.yaml"
    assert run_cli(capsys, "graph", str(recipe), "--format", "dot")[0] == 0


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_svg_and_png_are_rendered_by_graphviz(
    tmp_path: Path, loop_task: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    target = tmp_path / f"g.{fmt}"
    assert run_cli(capsys, "graph", str(loop_task), "--format", fmt, "-o", str(target))[0] == 0
    data = target.read_bytes()
    if fmt == "png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        assert b"<svg" in data
        assert b"weighted_sampler" in data


def test_without_dot_svg_is_a_clear_error(
    loop_task: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    code, _, err = run_cli(capsys, "graph", str(loop_task), "--format", "svg")
    assert code == 2
    assert "needs Graphviz's `dot` program" in err
    assert "--format mermaid" in err


def test_png_needs_an_output_file(loop_task: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "graph", str(loop_task), "--format", "png")
    assert code == 2
    assert "--output FILE.png" in err


def test_a_broken_task_is_reported_not_drawn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = write_task(tmp_path, LOOP_TASK.replace("to: check}", "to: chekc}", 1), {})
    code, out, err = run_cli(capsys, "graph", str(task))
    assert code == 2
    assert out == ""
    assert "chekc" in err
