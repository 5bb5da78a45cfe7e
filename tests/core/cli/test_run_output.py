"""What `grasp run` prints and leaves: `--quiet` prints nothing per record; a mock run's
cost is an estimate at the prices of the models named; a run leaves no lock file however it
ends; a sink whose file name says another format is warned about once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from grasp_core.cli import main
from grasp_core.mock_server import MockServer
from tests.conftest import REPO_ROOT, copy_task_yaml, write_task

FAILING_STEPS = """
def copy(state):
    if state["n"] % 2:
        raise ValueError(f"odd n={state['n']}")
    return state["n"]
"""


def failing_task(folder: Path, sink: str = "{type: jsonl, file_path: out.jsonl}") -> Path:
    rows = "".join(json.dumps({"id": f"r{i}", "n": i}) + "\n" for i in range(4))
    return write_task(folder, copy_task_yaml(sink), {"data.jsonl": rows, "steps.py": FAILING_STEPS})


def quickstart(folder: Path) -> Path:
    shutil.copytree(
        REPO_ROOT / "examples" / "quickstart", folder, ignore=shutil.ignore_patterns("output")
    )
    return folder / "task.yaml"


def test_quiet_prints_nothing_per_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With --quiet, a run whose records fail prints nothing (exit 1 says it, the failures
    file lists them); without it, each failed record is a warning."""
    task = failing_task(tmp_path)

    assert main(["run", str(task), "--quiet"]) == 1
    assert capsys.readouterr() == ("", "")
    failures = (tmp_path / "out.failures.jsonl").read_text().splitlines()
    assert len(failures) == 2

    assert main(["run", str(task), "--overwrite"]) == 1
    assert capsys.readouterr().err.count("record failed") == 2


def test_a_mock_runs_cost_is_an_estimate_at_the_named_models_prices(
    tmp_path: Path, mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run against the mock labels its cost an estimate at the prices of the routes the
    models file names (nothing was billed); `pricing` in the summary says the same."""
    task = quickstart(tmp_path / "qs")

    assert main(["run", str(task), "--mock-url", mock_server.url]) == 0

    out = capsys.readouterr().out
    (cost,) = [line for line in out.splitlines() if line.startswith("  cost ")]
    assert cost.startswith("  cost             estimated at openai/gpt-4o-mini prices: $0.0")
    assert cost.endswith(" (mock run: nothing was billed)")
    summary = json.loads((tmp_path / "qs" / "output" / "qa.summary.json").read_text())
    assert summary["pricing"] == {"mock": True, "priced_as": {"judge": "openai/gpt-4o-mini"}}


def test_a_run_on_a_real_endpoint_shows_its_cost_plainly(
    tmp_path: Path, mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A models file whose endpoint is a server (here the mock's, without --mock-url) is not
    a mock run: the cost is printed as spent."""
    task = quickstart(tmp_path / "qs")
    models = (tmp_path / "qs" / "models.yaml").read_text()
    models = models.replace("http://127.0.0.1:8000/v1", f"{mock_server.url}/v1")
    models = models.replace("api_key_env: OPENAI_API_KEY", f"api_base: {mock_server.url}/v1")
    (tmp_path / "qs" / "models.yaml").write_text(models)

    assert main(["run", str(task)]) == 0

    out = capsys.readouterr().out
    assert "mock run" not in out
    assert any(line.startswith("  tokens ") and ", cost $0.0" in line for line in out.splitlines())
    summary = json.loads((tmp_path / "qs" / "output" / "qa.summary.json").read_text())
    assert summary["pricing"]["mock"] is False


def test_a_run_leaves_no_lock_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The lock file is gone once a run ends, with failed records or on a run error (a
    resume refused over a changed task); the run's other files stay."""
    task = failing_task(tmp_path)
    assert main(["run", str(task), "--quiet"]) == 1
    left = {path.name for path in tmp_path.iterdir() if path.name.startswith("out.")}
    assert {"out.jsonl", "out.journal.jsonl", "out.summary.json"} <= left
    assert "out.journal.lock" not in left

    task.write_text(task.read_text().replace("output_keys: copied", "output_keys: kept"))
    assert main(["run", str(task), "--resume", "--quiet"]) == 2  # the task changed
    assert "the task changed" in capsys.readouterr().err
    assert not (tmp_path / "out.journal.lock").exists()


def test_a_sink_named_for_another_format_is_warned_about_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A `json` sink (one array) into a `.jsonl` file: one warning with file, line and YAML
    path at validate, and one at run; the file is still written as the sink's type says."""
    task = failing_task(tmp_path, sink="{type: json, file_path: out.jsonl}")
    line = next(n for n, text in enumerate(task.read_text().splitlines(), 1) if "sink:" in text)
    warning = (
        f"{task}:{line}: data_config.sink.file_path: a 'json' sink writes one JSON array, but "
        "its file is named '.jsonl' (JSON Lines, one object a line); name it '.json', or use "
        "type: jsonl"
    )

    assert main(["validate", str(task)]) == 0
    assert capsys.readouterr().err.count(warning) == 1
    assert main(["run", str(task), "--quiet"]) == 1
    assert capsys.readouterr().err.count(warning) == 1
    assert isinstance(json.loads((tmp_path / "out.jsonl").read_text()), list)


def test_the_paper_minimal_example_names_its_file_for_its_sink(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The paper_minimal example (a `json` sink) validates without a warning."""
    task = REPO_ROOT / "examples" / "paper_minimal" / "task.yaml"
    assert main(["validate", str(task), "--mock"]) == 0
    assert capsys.readouterr().err == ""
