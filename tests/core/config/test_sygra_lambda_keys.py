"""SyGra's lambdas without ``output_keys`` (they return the whole state): the keys they set
are read from their code, by the dialect and by ``grasp convert sygra``, which also points
transformers' ``GPT2TokenizerFast`` (loaded as ``Xenova/gpt-4`` to count tokens) at GraSP's
offline cl100k_base counter."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs installed

from grasp_core.cli.app import main
from grasp_core.config.sygra_lambda import module_writes
from grasp_core.plugin import count_tokens

LOOP_TASK = """\
data_config:
  source: {type: disk, file_path: tasks/examples/pages/pages.jsonl}
  sink: {type: jsonl, file_path: out.jsonl}
graph_config:
  nodes:
    read_page:
      node_type: llm
      output_keys: page_text
      prompt:
        - user: "Read page {page}"
      model: {name: reader}
    next_page:
      node_type: lambda
      lambda: grasp.tasks.examples.pages.task_executor.NextPage
    count:
      node_type: lambda
      output_keys: [tokens]
      lambda: tasks.examples.pages.task_executor.CountTokens
  edges:
    - {from: START, to: read_page}
    - {from: read_page, to: next_page}
    - from: next_page
      condition: tasks.examples.pages.task_executor.MorePages
      path_map: {read_page: read_page, count: count}
    - {from: count, to: END}
output_config:
  output_map:
    id: {from: id}
    page: {from: page}
    seen: {from: seen}
    tokens: {from: tokens}
"""

LOOP_HOOKS = """\
from transformers import GPT2TokenizerFast

from grasp.core.graph.functions.lambda_function import LambdaFunction

tokenizer = GPT2TokenizerFast.from_pretrained("Xenova/gpt-4")


class NextPage(LambdaFunction):
    def apply(lambda_node_dict, state):
        state["page"] += 1
        state["seen"].append(state["page_text"])
        return state


class MorePages:
    def apply(state):
        return "read_page" if state["page"] < state["pages"] else "count"


class CountTokens(LambdaFunction):
    def apply(lambda_node_dict, state):
        state["tokens"] = len(tokenizer.encode(" ".join(state["seen"])))
        return state
"""


def _tree(root: Path, hooks: str = LOOP_HOOKS) -> None:
    folder = root / "tasks" / "examples" / "pages"
    folder.mkdir(parents=True)
    (folder / "graph_config.yaml").write_text(LOOP_TASK, encoding="utf-8")
    (folder / "task_executor.py").write_text(hooks, encoding="utf-8")
    rows = [{"id": "a", "page": 0, "pages": 2, "seen": []}]
    (folder / "pages.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_a_lambda_without_output_keys_and_a_token_counter_convert_and_run(
    tmp_path: Path,
) -> None:
    """The converter writes the keys the lambda's code sets as its `output_keys` and points
    `from transformers import GPT2TokenizerFast` at the compatibility module, both noted in
    the report; the task runs offline with `--mock` and loops as SyGra's would."""
    _tree(tmp_path / "sygra")
    dest = tmp_path / "out"
    code = main(["convert", "sygra", str(tmp_path / "sygra" / "tasks"), str(dest)])
    report = (dest / "CONVERT_REPORT.md").read_text(encoding="utf-8")
    assert code == 0, report
    task = dest / "examples" / "pages"
    nodes = yaml.safe_load((task / "task.yaml").read_text())["graph_config"]["nodes"]
    assert nodes["next_page"]["output_keys"] == ["page", "seen"]
    module = (task / "task_executor.py").read_text(encoding="utf-8")
    assert "from grasp_nodes.sygra_compat import GPT2TokenizerFast\n" in module
    assert "lambda node 'next_page' has no output_keys; they are the keys its code sets: " in (
        report
    )
    assert "`from transformers import GPT2TokenizerFast` now imports" in report
    assert main(["run", str(task), "--mock", "--overwrite"]) == 0
    [row] = [json.loads(line) for line in (task / "out.jsonl").open()]
    assert row["page"] == 2
    assert row["seen"] == ["Read page 0", "Read page 1"]
    assert row["tokens"] == count_tokens("Read page 0 Read page 1")


def test_a_lambda_whose_keys_cannot_be_read_is_reported_and_not_converted(
    tmp_path: Path,
) -> None:
    """A lambda writing a key held in a variable, with no `output_keys`, gets no task.yaml:
    the report names the node and says to add `output_keys`."""
    hooks = LOOP_HOOKS.replace('state["page"] += 1', 'key = "page"\n        state[key] += 1')
    _tree(tmp_path / "sygra", hooks)
    dest = tmp_path / "out"
    assert main(["convert", "sygra", str(tmp_path / "sygra" / "tasks"), str(dest)]) == 1
    report = (dest / "CONVERT_REPORT.md").read_text(encoding="utf-8")
    assert "lambda node 'next_page' has no output_keys, and which state keys" in report
    assert "add `output_keys: [...]`" in report
    assert not (dest / "examples" / "pages" / "task.yaml").exists()


@pytest.mark.parametrize(
    ("body", "keys"),
    [
        ('state["a"] = 1\n    state["b"] += 2\n    return state', ["a", "b"]),
        (
            'state.update({"a": 1}, b=2)\n    state.setdefault("c", [])\n    return state',
            ["a", "b", "c"],
        ),
        ('state["texts"].append(1)\n    print(len(state))\n    return state', ["texts"]),
        ('return {"x": state["y"]}', ["x"]),
        ("state[name] = 1\n    return state", None),
        ("helper(state)\n    return state", None),
        ("state = {}\n    return state", None),
    ],
)
def test_the_keys_a_lambda_writes_are_read_from_its_code(
    tmp_path: Path, body: str, keys: list[str] | None
) -> None:
    """String keys assigned, updated or changed in place on the last parameter, and a
    returned dict's keys, are the lambda's keys; a key GraSP cannot read gives None."""
    module = tmp_path / "hooks.py"
    module.write_text(
        textwrap.dedent(
            """\
            class Step:
                def apply(lambda_node_dict, state):
                    pass
            """
        ).replace("pass", body.replace("\n    ", "\n        ")),
        encoding="utf-8",
    )
    assert module_writes(module, "Step") == keys
