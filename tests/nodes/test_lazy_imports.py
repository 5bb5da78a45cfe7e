"""Node types and the I/O plugins load what they use, when they use it: importing the llm node
type pulls in no HTTP client, the package roots hand out every name they list on first use,
a rerun answered wholly from the response cache never imports an HTTP client, and a run
imports neither httpx (remote media) nor the post-process stage it does not use, nor reads
its config models' docstrings through pydantic's slow reader."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grasp_core import RunOptions, run_task
from grasp_core.mock_server import MockServer
from tests.conftest import REPO_ROOT, write_task

HTTP_CLIENTS = ("aiohttp", "httpx")

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out.jsonl, ordered: true}
graph_config:
  nodes:
    first:
      node_type: llm
      output_keys: draft
      prompt: [{user: "write about {topic}"}]
      model: {name: m}
    second:
      node_type: llm
      output_keys: final
      prompt: [{user: "improve: {draft}"}]
      model: {name: m}
  edges:
    - {from: START, to: first}
    - {from: first, to: second}
    - {from: second, to: END}
"""


def _child(code: str, cwd: Path = REPO_ROOT, *args: str) -> str:
    """Run ``code`` in a fresh interpreter (``args`` its ``sys.argv[1:]``); return its last
    line of output."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def _loaded(prefixes: tuple[str, ...]) -> str:
    """Code printing which top-level packages among ``prefixes`` are imported, as JSON."""
    return (
        "import json, sys\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & {set(prefixes)!r})))"
    )


def test_importing_the_llm_node_type_imports_no_http_client() -> None:
    """``grasp_nodes.llm`` (what the ``llm`` entry point loads) imports neither aiohttp nor
    httpx, nor the batch client: they are imported by the first call that needs them."""
    code = "import grasp_nodes.llm\n" + _loaded(HTTP_CLIENTS)
    assert json.loads(_child(code)) == []
    batch = "import grasp_nodes.llm, sys\nprint('grasp_nodes.clients.batch' in sys.modules)"
    assert _child(batch) == "False"


@pytest.mark.parametrize(
    "package", ["grasp_nodes", "grasp_io", "grasp_io.sinks", "grasp_io.sources"]
)
def test_package_roots_hand_out_every_listed_name(package: str) -> None:
    """Every name in a lazy package root's ``__all__`` resolves (to the object of the module
    that defines it), ``dir()`` lists them, and an unknown name is an AttributeError."""
    code = f"""
        import importlib, json
        root = importlib.import_module({package!r})
        names = list(root.__all__)
        resolved = [getattr(root, name) for name in names]
        assert all(value is not None for value in resolved)
        assert sorted(dir(root)) == sorted(names)
        try:
            root.no_such_name
        except AttributeError as exc:
            print(json.dumps([len(names), str(exc)]))
    """
    count, message = json.loads(_child(code))
    assert count > 0
    assert "no_such_name" in message


def test_entry_points_load_the_same_objects_as_the_modules() -> None:
    """The node, source and sink entry points resolve through the lazy roots to the classes
    their modules define (``disk`` to ``DiskSource``)."""
    code = """
        from importlib.metadata import entry_points
        from grasp_io.sinks.jsonl import JsonlSink
        from grasp_io.sources.disk import DiskSource
        from grasp_nodes.llm import LLMNode
        found = {
            (group, ep.name): ep.load()
            for group in ("grasp.nodes", "grasp.sources", "grasp.sinks")
            for ep in entry_points(group=group)
        }
        assert found[("grasp.nodes", "llm")] is LLMNode
        assert found[("grasp.sources", "disk")] is DiskSource
        assert found[("grasp.sinks", "jsonl")] is JsonlSink
        print(len(found))
    """
    assert int(_child(code)) >= 10


def test_a_rerun_from_the_cache_imports_no_http_client_and_writes_the_same_bytes(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """A rerun answered wholly from the response cache, in a fresh interpreter, sends no
    request, writes the first run's bytes, and never imports aiohttp (the fast lane's
    client is imported by the first call the cache does not answer)."""
    rows = "".join(json.dumps({"id": f"r{i}", "topic": f"topic {i}"}) + "\n" for i in range(5))
    folder = tmp_path / "task"
    task = write_task(folder, TASK, {"data.jsonl": rows, "models.yaml": "m: {model: openai/m}\n"})
    cache = tmp_path / "cache"
    mock_server.reset()
    first = run_task(task, RunOptions(mock=mock_server.url, cache_dir=cache))
    assert first.done == 5
    assert len(mock_server.requests()) == 10
    written = (folder / "out.jsonl").read_bytes()

    mock_server.reset()
    code = f"""
        from pathlib import Path
        from grasp_core import RunOptions, run_task
        cache = Path({str(cache)!r})
        options = RunOptions(mock={mock_server.url!r}, cache_dir=cache, overwrite=True)
        result = run_task(Path({str(task)!r}), options)
        assert result.done == 5 and result.metrics["totals"]["model_calls"] == 0
    """
    loaded = json.loads(_child(textwrap.dedent(code) + _loaded(("aiohttp",)), cwd=folder))
    assert loaded == []
    assert mock_server.requests() == []
    assert (folder / "out.jsonl").read_bytes() == written


def test_a_run_imports_only_what_it_uses_and_builds_config_models_on_first_use(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """A run of the llm task in a fresh interpreter writes every record, yet imports no
    httpx (the media fetcher imports it at its first download), not ``grasp_io.media`` (its
    prompts are text: the media source is made at its first use) and not
    ``grasp_core.postprocess`` (the task has no steps); pydantic's own docstring reader is
    never called (config models read theirs once per file), and a config model the task
    does not use is never built."""
    rows = "".join(json.dumps({"id": f"r{i}", "topic": f"topic {i}"}) + "\n" for i in range(5))
    folder = tmp_path / "task"
    task = write_task(folder, TASK, {"data.jsonl": rows, "models.yaml": "m: {model: openai/m}\n"})
    code = f"""
        import json, sys
        from pathlib import Path
        import pydantic._internal._fields as fields
        read = []
        original = fields.extract_docstrings_from_cls
        fields.extract_docstrings_from_cls = lambda *a, **k: read.append(a) or original(*a, **k)
        from grasp_core import RunOptions, run_task
        result = run_task(Path({str(task)!r}), RunOptions(mock={mock_server.url!r}, cache=False))
        from grasp_core.config.quality import DataQualityConfig
        unused = ("httpx", "grasp_io.media", "grasp_core.postprocess")
        loaded = sorted(m for m in unused if m in sys.modules)
        print(json.dumps([result.done, loaded, len(read), DataQualityConfig.__pydantic_complete__]))
    """
    done, loaded, pydantic_reads, built = json.loads(_child(code, cwd=folder))
    assert done == 5
    assert loaded == []
    assert pydantic_reads == 0
    assert built is False
    lines = (folder / "out.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [f"r{i}" for i in range(5)]


def test_importing_the_media_resolver_imports_no_http_client() -> None:
    """``grasp_io.media`` (the ``grasp.media`` entry point an llm node loads at its first
    media value) imports no httpx until a remote download starts."""
    code = "import grasp_io.media\n" + _loaded(HTTP_CLIENTS)
    assert json.loads(_child(code)) == []
