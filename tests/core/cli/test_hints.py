"""Hints that work: the command printed after a stopped run, run as printed, continues the
same run (same mock, models file, output folder, row format); `--resume` with `--overwrite`
is refused; a backend that keeps failing is named with its URL and last error."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grasp_core.cli import main
from grasp_core.cli.app import _bare_optional_values, _parser
from grasp_core.cli.commands import run as run_command
from grasp_core.cli.commands import tag as tag_command
from grasp_core.cli.options import EXIT_ERROR, EXIT_INTERRUPTED
from grasp_core.cli.rerun import command_line
from grasp_core.errors import ConfigError
from grasp_core.mock_server import MockServer
from grasp_core.runs import RunOptions
from tests.conftest import REPO_ROOT, write_task

RECORDS = 40
QUESTIONS = [f"question q{i:03d}" for i in range(RECORDS)]

CHAT_TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: output/chats.jsonl}
graph_config:
  nodes:
    answer:
      node_type: llm
      output_keys: answer
      prompt: [{user: "{question}"}]
      model: {name: writer}
    chat: {node_type: lambda, lambda: steps.chat, output_keys: conversation}
  edges:
    - {from: START, to: answer}
    - {from: answer, to: chat}
    - {from: chat, to: END}
"""

HELD_CHAT = """
import os

import anyio


async def chat(state):
    # The first run (HOLD set) cannot finish: half its records wait until it is stopped.
    if os.environ.get("HOLD") and int(state["id"][1:]) >= 20:
        await anyio.sleep(3600)
    return [
        {"role": "user", "content": state["question"]},
        {"role": "assistant", "content": state["answer"]},
    ]
"""

UNREACHABLE_MODELS = """
writer:
  model: openai/writer
  api_base: http://127.0.0.1:9/v1
  max_retries: 0
"""
"""A models file whose endpoint nothing answers: a resume that lost --mock-url fails."""


def chat_task(folder: Path) -> Path:
    rows = "".join(
        json.dumps({"id": f"q{i:03d}", "question": q}) + "\n" for i, q in enumerate(QUESTIONS)
    )
    return write_task(folder, CHAT_TASK, {"data.jsonl": rows, "steps.py": HELD_CHAT})


def grasp_argv(words: list[str]) -> list[str]:
    """``grasp ...`` as this interpreter runs it."""
    assert words[0] == "grasp"
    return [sys.executable, "-m", "grasp_core", *words[1:]]


def env(**more: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k not in {"GRASP_MODELS", "HOLD"}}
    return {**base, "PYTHONPATH": str(REPO_ROOT / "src"), **more}


def printed_command(stderr: str) -> list[str]:
    """The command on the line after ``Continue with:``, split as a shell splits it."""
    lines = stderr.splitlines()
    index = next(i for i, line in enumerate(lines) if line.endswith("Continue with:"))
    return shlex.split(lines[index + 1])


def test_the_resume_hint_run_as_printed_continues_the_same_run(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """Ctrl-C a run given --mock-url, --models, --output-dir, --format and --window: the
    printed command repeats them (with --resume for --overwrite) and, run as printed,
    writes every record exactly once into the same output, against the same mock; the run
    that was stopped left no lock file."""
    chat_task(tmp_path / "task")
    models = tmp_path / "conf" / "my-models.yaml"  # not beside the task: only --models finds it
    models.parent.mkdir()
    models.write_text(UNREACHABLE_MODELS, encoding="utf-8")
    valued = {"--mock-url": mock_server.url, "--models": "conf/my-models.yaml"}
    valued |= {"--output-dir": "out", "--format": "sft", "--window": "4"}
    flags = [*(word for pair in valued.items() for word in pair), "--overwrite"]
    output = tmp_path / "out" / "output" / "chats.jsonl"
    process = subprocess.Popen(
        grasp_argv(["grasp", "run", "task", *flags, "--quiet"]),
        cwd=tmp_path,
        env=env(HOLD="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not (output.is_file() and output.stat().st_size):  # wait for a first commit
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no record was committed"
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    stderr = err.decode()
    assert process.returncode == EXIT_INTERRUPTED, stderr
    assert not (tmp_path / "out" / "output" / "chats.journal.lock").exists()

    command = printed_command(stderr)
    assert command[:4] == ["grasp", "run", "task", "--resume"]
    assert "--overwrite" not in command
    for flag, value in valued.items():
        assert command[command.index(flag) + 1] == value, (flag, command)
    resumed = subprocess.run(
        grasp_argv(command), cwd=tmp_path, env=env(), capture_output=True, text=True, timeout=120
    )

    assert resumed.returncode == 0, resumed.stderr
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    asked = sorted(row["messages"][0]["content"] for row in rows)
    assert asked == QUESTIONS  # each record once, as an sft row
    assert (tmp_path / "out" / "output" / "chats.failures.jsonl").read_text() == ""
    assert not (tmp_path / "task" / "output").exists()


@pytest.mark.parametrize(
    ("command", "words"),
    [
        (run_command, ["run", "my task.yaml", "--oasst", "--quality", "--seed", "3", "--ordered"]),
        (run_command, ["run", "t.yaml", "--executor", "ray", "--ray-address", "h:1", "--quiet"]),
        (run_command, ["run", "t.yaml", "--allowed-failures", "0.5", "--max-cost", "2.5"]),
        (tag_command, ["tag", "in.jsonl", "-o", "out.csv", "--no-expects-json", "--mock"]),
        (
            tag_command,
            [
                "tag",
                "--source",
                '{"type": "hf"}',
                "-o",
                "o.jsonl",
                "--prompt-field",
                "a",
                "--prompt-field",
                "b",
                "--tasks",
                "judge",
                "--judge-model",
                "j",
            ],
        ),
    ],
)
def test_the_printed_command_parses_back_to_the_same_options(
    command: object, words: list[str]
) -> None:
    """A command rebuilt from its parsed flags (every kind: bare, valued, optional value,
    repeated, --no-x) parses back to exactly the same options."""
    parser = _parser()
    args = parser.parse_args(_bare_optional_values(words))
    again = shlex.split(command_line(args, command.add_command))  # type: ignore[attr-defined]
    assert again[0] == "grasp"
    assert vars(parser.parse_args(again[1:])) == vars(args)


def test_the_budget_hint_keeps_the_flags_and_leaves_the_cap_to_raise(
    tmp_path: Path, mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run stopped by --max-tokens prints the command to continue with its other flags
    and a cap to raise in place of the one it had."""
    chat_task(tmp_path)
    code = main(
        [
            "run",
            str(tmp_path),
            "--mock-url",
            mock_server.url,
            "--max-tokens",
            "5",
            "--window",
            "1",
            "--quiet",
        ]
    )
    assert code == 3
    hint = capsys.readouterr().err.splitlines()[-1]
    assert hint == (
        f"  grasp run {tmp_path} --resume --mock-url {mock_server.url} --window 1 --quiet "
        "--max-cost USD (or --max-tokens N)"
    )


def test_resume_with_overwrite_is_refused(
    tmp_path: Path, mock_server: MockServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--resume --overwrite` is a usage error in one line (exit 2) that deletes nothing;
    `RunOptions` refuses the pair in Python's words."""
    chat_task(tmp_path)
    assert main(["run", str(tmp_path), "--mock-url", mock_server.url, "--quiet"]) == 0
    output = tmp_path / "output" / "chats.jsonl"
    before = output.read_text(encoding="utf-8")
    capsys.readouterr()

    code = main(["run", str(tmp_path), "--mock-url", mock_server.url, "--resume", "--overwrite"])

    assert code == EXIT_ERROR
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("grasp: error: --resume and --overwrite contradict each other")
    assert output.read_text(encoding="utf-8") == before
    with pytest.raises(ConfigError, match=r"RunOptions\(resume=True\) and RunOptions\(overwrite"):
        RunOptions(resume=True, overwrite=True)


def test_a_failing_backend_is_named_with_its_url_and_last_error(
    tmp_path: Path,
    mock_server: MockServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """When a backend's circuit opens, the warning names the endpoint and the last error
    (HTTP 503 here), and never the API key."""
    key = "sk-test-0123456789abcdef"
    monkeypatch.setenv("WRITER_KEY", key)
    rows = "".join(
        json.dumps({"id": f"q{i}", "question": f"q{i} [[mock:503]]"}) + "\n" for i in range(8)
    )
    write_task(tmp_path, CHAT_TASK, {"data.jsonl": rows, "steps.py": HELD_CHAT})
    models = f"writer:\n  model: openai/writer\n  api_base: {mock_server.url}/v1\n"
    models += "  api_key_env: WRITER_KEY\n  max_retries: 0\n"
    (tmp_path / "models.yaml").write_text(models, encoding="utf-8")

    assert main(["run", str(tmp_path), "--quiet"]) == 1  # eight failures open the circuit

    err = capsys.readouterr().err
    (warning,) = [line for line in err.splitlines() if "keeps failing" in line]
    assert f"backend 'writer' at {mock_server.url}/v1 keeps failing" in warning
    assert "last error: model 'writer': HTTP 503" in warning
    assert key not in err


def test_interrupted_message_names_the_command_for_tag_too() -> None:
    """Ctrl-C during `grasp tag` start-up prints the tagging command with --resume."""
    args = _parser().parse_args(["tag", "in.jsonl", "-o", "out.jsonl", "--mock", "--overwrite"])
    message = tag_command.interrupted_message(args)
    assert message.endswith("grasp tag in.jsonl --resume --output out.jsonl --mock")
    assert isinstance(args, argparse.Namespace)
