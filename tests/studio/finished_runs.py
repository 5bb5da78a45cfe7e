"""A workspace of finished runs for the reading views (output, record, failures, compare,
review), and a real Studio over it, shared by a test module (the runs take a second or
two, so they are made once per module).

- ``image_edit/`` and ``speech_round_trip/``: the examples, run with ``--mock``: records
  pointing to PNG and WAV files beside the output;
- ``greet/``: a lambda task over 7 records that fails on multiples of three while a file
  ``broken`` sits beside it; ``greet/variant/`` is a second run of the same task whose
  replies end with ``!`` and covers one record more (for comparing runs).
"""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

import grasp_core
from grasp_studio.server import StudioServer
from tests.conftest import REPO_ROOT
from tests.studio.conftest import Studio

STEPS = """
import os
from pathlib import Path

BROKEN = Path(__file__).with_name("broken")


def greet(state):
    number = int(state["n"])
    if BROKEN.exists() and number % 3 == 0:
        raise ValueError(f"no multiples of three: {number}")
    return f"hello {number}" + os.environ.get("GREET_SUFFIX", "")


def shout(state):
    return state["text"].upper()
"""

TASK = """
# Greets each number, then shouts the greeting
data_config:
  source: {type: disk, file_path: numbers.jsonl}
  sink: {type: jsonl, file_path: output/greet.jsonl}
graph_config:
  nodes:
    greet: {node_type: lambda, lambda: steps.greet, output_keys: text}
    shout: {node_type: lambda, lambda: steps.shout, output_keys: loud}
  edges:
    - {from: START, to: greet}
    - {from: greet, to: shout}
    - {from: shout, to: END}
"""


@dataclass
class Runs:
    """The workspace's runs, by the paths the API names them with."""

    studio: Studio
    image_output: str = "image_edit/output/image_edit.jsonl"
    speech_output: str = "speech_round_trip/output/speech_round_trip.jsonl"
    greet_task: str = "greet/task.yaml"
    greet_output: str = "greet/output/greet.jsonl"
    variant_output: str = "greet/variant/output/greet.jsonl"

    def client(self) -> httpx.Client:
        return self.studio.client(timeout=60)


def write_greet(folder: Path, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "task.yaml").write_text(textwrap.dedent(TASK).lstrip(), encoding="utf-8")
    (folder / "steps.py").write_text(textwrap.dedent(STEPS).lstrip(), encoding="utf-8")
    (folder / "numbers.jsonl").write_text(
        "".join(json.dumps({"id": f"r{i}", "n": i}) + "\n" for i in range(count)),
        encoding="utf-8",
    )
    return folder / "task.yaml"


def make_runs(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The workspace described above, every run finished."""
    image = root / "image_edit"
    shutil.copytree(
        REPO_ROOT / "examples" / "image_edit", image, ignore=shutil.ignore_patterns("output")
    )
    grasp_core.run(image / "task.yaml", mock=True, overwrite=True)
    speech = root / "speech_round_trip"
    shutil.copytree(
        REPO_ROOT / "examples" / "speech_round_trip",
        speech,
        ignore=shutil.ignore_patterns("output"),
    )
    grasp_core.run(speech / "task.yaml", mock=True, overwrite=True)
    task = write_greet(root / "greet", 7)
    (task.parent / "broken").write_text("", encoding="utf-8")
    grasp_core.run(task, overwrite=True, allowed_failures=10)
    monkeypatch.setenv("GREET_SUFFIX", "!")
    variant = write_greet(root / "greet" / "variant", 8)
    grasp_core.run(variant, overwrite=True)
    monkeypatch.delenv("GREET_SUFFIX")
    return root


@pytest.fixture(scope="module", name="runs")
def runs_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """A real Studio (uvicorn on loopback, ``--mock``) over :func:`make_runs`'s workspace."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        workspace = make_runs(tmp_path_factory.mktemp("runs") / "workspace", monkeypatch)
    server = StudioServer(workspace, port=0, mock=True)
    with server.running():
        yield Runs(Studio(server, workspace))


@pytest.fixture(name="reading")
def reading_fixture(studio_server: Studio, monkeypatch: pytest.MonkeyPatch) -> Runs:
    """A's ``studio_server`` (the browser's ``page`` is signed in to it) with these runs
    added to its workspace. The runs start their own event loop, so they run in a thread:
    Playwright's sync API keeps one running in this one."""
    with ThreadPoolExecutor(1) as pool:
        pool.submit(make_runs, studio_server.workspace, monkeypatch).result()
    return Runs(studio_server)


def goto(page: Any, studio: Studio, view: str, **params: str) -> None:
    """Open ``#/view?params`` and wait until the view has drawn."""
    from urllib.parse import urlencode

    page.goto(f"{studio.url}#/{view}?{urlencode(params)}")
    page.wait_for_selector(f"main[data-view='{view}']:not([aria-busy])")
