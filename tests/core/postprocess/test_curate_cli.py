"""`grasp curate`: the steps of a steps file over any dataset, end to end through the CLI; a
curate killed half-way leaves the files as they were, and running it again gives the same
result as an uninterrupted one."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from grasp_core.cli import main
from tests.core.postprocess.helpers import read_jsonl, write_jsonl, write_user_steps

STEPS = (
    "- dedup: {method: minhash, fields: [text], threshold: 0.6}\n- user_steps.KillAt: {at: 150}\n"
)


CURATE_ARGS = ("--steps", "steps.yaml", "--output", "out.jsonl", "--overwrite")


def planted(folder: Path) -> Path:
    """200 records of 40 random words; every fifth is a copy of the one before with one
    word changed."""
    rng = random.Random(5)
    records: list[dict[str, str]] = []
    for n in range(200):
        if n % 5 == 4:
            words = records[-1]["text"].split()
            words[rng.randrange(len(words))] = "changed"
        else:
            words = [f"w{rng.randrange(10_000)}" for _ in range(40)]
        records.append({"id": f"r{n:03d}", "text": " ".join(words)})
    return write_jsonl(folder / "data.jsonl", records)


def curate_in_subprocess(folder: Path, *, kill: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GRASP_MODELS", "KILL_CURATE")}
    if kill:
        env["KILL_CURATE"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "grasp_core", "curate", "data.jsonl", *CURATE_ARGS],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def prepare(folder: Path) -> Path:
    write_user_steps(folder)
    planted(folder)
    (folder / "steps.yaml").write_text(STEPS, encoding="utf-8")
    return folder


def test_curate_writes_the_kept_records_and_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The planted copies are removed, the rest kept in order, and the report says why."""
    prepare(tmp_path)
    monkeypatch.chdir(tmp_path)
    code = main(["curate", "data.jsonl", "--steps", "steps.yaml", "--output", "out.jsonl"])
    assert code == 0
    kept = read_jsonl(tmp_path / "out.jsonl")
    removed = read_jsonl(tmp_path / "out.removed.jsonl")
    assert [r["id"] for r in removed] == [f"r{n:03d}" for n in range(4, 200, 5)]
    assert all(r["details"]["duplicate_of"] == f"r{int(r['id'][1:]) - 1:03d}" for r in removed)
    assert len(kept) == 160
    out = capsys.readouterr().out
    assert "grasp curate: kept 160 of 200, removed 40" in out
    assert "dedup            removed 40 of 200" in out


def test_curate_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An existing output needs --overwrite; the input is never the output."""
    prepare(tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out.jsonl").write_text("keep me\n")
    assert main(["curate", "data.jsonl", "--steps", "steps.yaml", "-o", "out.jsonl"]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert (tmp_path / "out.jsonl").read_text() == "keep me\n"
    assert main(["curate", "data.jsonl", "--steps", "steps.yaml", "-o", "data.jsonl"]) == 2
    assert "would erase the input" in capsys.readouterr().err


@pytest.mark.slow
def test_a_killed_curate_changes_nothing_and_reruns_to_the_same_result(tmp_path: Path) -> None:
    """Killed (SIGKILL) on its 150th record, curate leaves the previous output and report
    as they were, only its staging folder beside them; run again, it starts from scratch and
    writes exactly what an uninterrupted run writes."""
    clean = prepare(tmp_path / "clean")
    assert curate_in_subprocess(clean, kill=False).returncode == 0

    folder = prepare(tmp_path / "killed")
    (folder / "out.jsonl").write_text('{"id": "old"}\n')
    (folder / "out.removed.jsonl").write_text("")
    killed = curate_in_subprocess(folder, kill=True)
    assert killed.returncode == -signal.SIGKILL
    assert (folder / "out.jsonl").read_text() == '{"id": "old"}\n'
    assert (folder / "out.removed.jsonl").read_text() == ""
    assert (folder / "out.curating").is_dir()

    again = curate_in_subprocess(folder, kill=False)
    assert again.returncode == 0, again.stderr
    for name in ("out.jsonl", "out.removed.jsonl"):
        assert (folder / name).read_bytes() == (clean / name).read_bytes()
    assert not (folder / "out.curating").exists()
