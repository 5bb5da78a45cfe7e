"""Exit codes of `grasp`, in-process and as a subprocess.

`grasp run` exits 0 when every record is written, 1 when records failed beyond
`--allowed-failures`, and 2 on a configuration error, always without a traceback; a
nonsense failure budget is refused or ignored, never counted as failures.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.core.config.bad_task_strategies import SETTINGS
from tests.core.config.bad_tasks import (
    BASE,
    EXIT_TASK,
    STEPS,
    STEPS_MODULE,
    Emitter,
    edited,
    exit_task,
    new_folder,
    with_edges,
    without,
)
from tests.core.config.grasp_cli import cli, grasp, read_lines


@SETTINGS
@given(
    numbers=st.lists(st.integers(min_value=0, max_value=99), min_size=1, max_size=12),
    budget=st.none()
    | st.integers(min_value=0, max_value=14).map(str)
    | st.integers(min_value=1, max_value=99).map(lambda k: f"0.{k:02d}"),
)
def test_exit_code_is_0_when_all_written_1_when_failures_exceed_the_budget(
    tmp_path: Path, numbers: list[int], budget: str | None
) -> None:
    """Exit 0 when every record is written or the failures fit --allowed-failures (a count,
    or a fraction below 1 of the records), else 1; written + failed is every record."""
    path = exit_task(new_folder(tmp_path), numbers)
    flags = ["--allowed-failures", budget] if budget is not None else []
    code, _, err = cli("run", str(path), "--quiet", *flags)
    failed = sum(n % 2 for n in numbers)
    if budget is None:
        allowed = Fraction(0)
    elif "." in budget:
        allowed = Fraction(budget) * len(numbers)
    else:
        allowed = Fraction(int(budget))
    assert code == (0 if failed <= allowed else 1), err
    written = read_lines(path.parent / "out" / "result.jsonl")
    failures = read_lines(path.parent / "out" / "result.failures.jsonl")
    assert sorted(r["kept"] for r in written) == sorted(n for n in numbers if n % 2 == 0)
    assert len(failures) == failed
    assert all(f["node"] == "check" and "ValueError: odd n=" in f["reason"] for f in failures)


def test_allowed_failures_inf_is_not_a_crash(tmp_path: Path) -> None:
    """`--allowed-failures inf` is refused (exit 2) or means no limit (exit 0)."""
    path = exit_task(tmp_path, [0, 1, 2])
    code, _, _ = cli("run", str(path), "--quiet", "--allowed-failures", "inf")
    assert code in (0, 2)


@pytest.mark.parametrize(
    ("flags", "extra_yaml"),
    [
        (["--allowed-failures", "-1"], ""),
        (["--allowed-failures", "nan"], ""),
        ([], "output_config: {allowed_failures: -1}\n"),
    ],
    ids=["flag-negative", "flag-nan", "yaml-negative"],
)
def test_a_bad_budget_never_reports_failures_that_did_not_happen(
    tmp_path: Path, flags: list[str], extra_yaml: str
) -> None:
    """With every record written, a nonsense budget is refused (2) or ignored (0), never 1."""
    path = exit_task(tmp_path, [0, 2, 4])
    path.write_text(EXIT_TASK + extra_yaml, encoding="utf-8")
    code, _, _ = cli("run", str(path), "--quiet", *flags)
    assert code in (0, 2)


BAD_FILES: dict[str, str] = {
    "unknown-key": edited(("graph_config", "nodes", "first", "lambada"), "x"),
    "unicode-key": edited(("graph_config", "répertoire"), "ünïcode"),
    "wrong-type": edited(("graph_config", "recursion_limit"), "ten"),
    "missing-block": without(("graph_config",)),
    "unknown-node-type": edited(("graph_config", "nodes", "ask", "node_type"), "llmm"),
    "edge-to-unknown": with_edges({"from": "first", "to": "nowhere"}),
    "loop-without-condition": with_edges(
        {"from": "first", "to": "spin"}, {"from": "spin", "to": "spin"}, node="spin"
    ),
    "unreachable": with_edges(node="orphan"),
    "bad-syntax": Emitter().document(BASE)[:200] + "  nodes: {first: [\n",
    "non-mapping": "- a list\n- is not a task\n",
    "huge-string": edited(("graph_config", "nodes", "huge"), "é" * 100_000),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_validate_subprocess_reports_a_bad_file_in_one_line(tmp_path: Path, name: str) -> None:
    """`grasp validate` on a bad file exits 2 with a `grasp: error:` naming it, no traceback."""
    (tmp_path / f"{STEPS_MODULE}.py").write_text(STEPS, encoding="utf-8")
    (tmp_path / "task.yaml").write_text(BAD_FILES[name], encoding="utf-8")
    done = grasp("validate", "task.yaml", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert done.stderr.startswith("grasp: error: ")
    assert "task.yaml" in done.stderr.splitlines()[0] or done.stderr.splitlines()[0].endswith(":")


def test_run_subprocess_exits_2_on_a_bad_file_and_writes_nothing(tmp_path: Path) -> None:
    """`grasp run` on a task that does not compile exits 2 and leaves no output behind."""
    (tmp_path / f"{STEPS_MODULE}.py").write_text(STEPS, encoding="utf-8")
    (tmp_path / "data.jsonl").write_text('{"n": 1}\n', encoding="utf-8")
    (tmp_path / "task.yaml").write_text(BAD_FILES["edge-to-unknown"], encoding="utf-8")
    done = grasp("run", "task.yaml", "--mock", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("grasp: error: task.yaml:")
    assert not (tmp_path / "out").exists()
