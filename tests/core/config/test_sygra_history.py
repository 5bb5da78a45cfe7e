"""SyGra sends every model node the record's `messages` after its prompt, where llm nodes
without `output_keys` add their replies; GraSP's llm nodes do the same in SyGra's file and
after conversion, its agents are sent them only in a multiturn graph. The converter lists
the agents sent less than in SyGra, and refuses `chat_history: true` in a singleturn graph
(SyGra's `__chat_history__` transcript, which GraSP does not have)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs installed

from grasp_core.cli.app import main
from grasp_core.config.sygra_history import history_findings

CRITIC_LOOP = """\
data_config:
  source: {type: disk, file_path: tasks/examples/critic/items.jsonl}
graph_config:
  nodes:
    answer:
      node_type: llm
      prompt:
        - user: "{question}"
      model: {name: writer}
    critique:
      node_type: llm
      output_role: user
      prompt:
        - system: Critique the answer.
      model: {name: writer}
    summary:
      node_type: llm
      output_keys: summary
      prompt:
        - user: "Summarise {question}"
      model: {name: writer}
  edges:
    - {from: START, to: summary}
    - {from: summary, to: answer}
    - {from: answer, to: critique}
    - from: critique
      condition: tasks.examples.critic.task_executor.Again
      path_map: {END: END, answer: answer}
"""


def _tree(root: Path, config: str) -> Path:
    folder = root / "tasks" / "examples" / "critic"
    folder.mkdir(parents=True)
    (folder / "graph_config.yaml").write_text(config, encoding="utf-8")
    (folder / "items.jsonl").write_text('{"question": "2+2?"}\n', encoding="utf-8")
    (folder / "task_executor.py").write_text(
        "class Again:\n    def apply(state):\n        return '__end__'\n", encoding="utf-8"
    )
    return root / "tasks"


AGENT_CRITIC = CRITIC_LOOP.replace(
    "    critique:\n      node_type: llm\n      output_role: user\n",
    "    critique:\n      node_type: agent\n",
)
"""The loop with an agent as the critic: GraSP sends an agent no history in a singleturn
graph."""


def test_agents_sent_less_than_in_sygra_are_listed_in_the_report(tmp_path: Path) -> None:
    """The critic loop converts, and the report names the llm nodes that store their replies
    in `messages` (no output_keys) and the agents run after them; llm nodes, sent
    `messages` after their prompt as in SyGra, are not named."""
    dest = tmp_path / "out"
    assert main(["convert", "sygra", str(_tree(tmp_path / "sygra", AGENT_CRITIC)), str(dest)]) == 0
    report = (dest / "CONVERT_REPORT.md").read_text(encoding="utf-8")
    assert (
        "answer (no output_keys, no post_process) adds its reply there; GraSP sends them to "
        "agent and multi_llm nodes only in a `chat_conversation: multiturn` graph"
    ) in report
    assert "so critique is sent less than in SyGra" in report
    assert (dest / "examples" / "critic" / "task.yaml").is_file()
    assert history_findings(yaml.safe_load(CRITIC_LOOP), "t") == ([], [])


def test_a_multiturn_graph_or_a_graph_without_such_nodes_has_no_finding() -> None:
    """A multiturn graph sends the messages; a graph whose llm nodes all have output_keys
    (or a post_process) has nothing in `messages` to send."""
    tree = yaml.safe_load(CRITIC_LOOP)
    tree["graph_config"]["graph_properties"] = {"chat_conversation": "multiturn"}
    assert history_findings(tree, "t") == ([], [])
    tree = yaml.safe_load(CRITIC_LOOP)
    for node in tree["graph_config"]["nodes"].values():
        node["output_keys"] = "x"
    assert history_findings(tree, "t") == ([], [])
    tree = yaml.safe_load(CRITIC_LOOP)  # a post_process decides what SyGra stores
    for node in tree["graph_config"]["nodes"].values():
        node["post_process"] = "task_executor.Keep"
    assert history_findings(tree, "t") == ([], [])


def test_chat_history_in_a_singleturn_graph_is_refused(tmp_path: Path) -> None:
    """SyGra replaces such a node's prompt by a transcript of `__chat_history__`: the
    report names the node's YAML path and GraSP's way, and no task.yaml is written."""
    config = CRITIC_LOOP.replace("      output_role: user\n", "      chat_history: true\n")
    dest = tmp_path / "out"
    assert main(["convert", "sygra", str(_tree(tmp_path / "sygra", config)), str(dest)]) == 1
    report = (dest / "CONVERT_REPORT.md").read_text(encoding="utf-8")
    assert "graph_config.nodes.critique.chat_history: in a singleturn graph" in report
    assert "`graph_properties.chat_conversation: multiturn`" in report
    assert not (dest / "examples" / "critic" / "task.yaml").exists()


def test_a_sygra_file_run_directly_warns_where_the_converter_refuses_or_notes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`grasp validate graph_config.yaml` never passes silently over what the converter
    refuses (`chat_history: true` on a node a loop reaches again, in a singleturn graph) or
    notes (agents sent less than in SyGra): a warning names the file, the line and the node."""
    here = CRITIC_LOOP.replace("tasks/examples/critic/items.jsonl", "items.jsonl").replace(
        "tasks.examples.critic.task_executor", "task_executor"
    )  # paths as a folder run directly reads them
    refused = here.replace("      output_role: user\n", "      chat_history: true\n")
    folder = _tree(tmp_path / "a", refused) / "examples" / "critic"
    assert main(["validate", str(folder / "graph_config.yaml"), "--mock"]) == 0
    captured = capsys.readouterr()
    line = refused.splitlines().index("      chat_history: true") + 1
    said = captured.err + captured.out
    assert f"graph_config.yaml:{line}: graph_config.nodes.critique.chat_history: " in said

    agent = AGENT_CRITIC.replace("tasks/examples/critic/items.jsonl", "items.jsonl").replace(
        "tasks.examples.critic.task_executor", "task_executor"
    )
    folder = _tree(tmp_path / "b", agent) / "examples" / "critic"
    code = main(["validate", str(folder / "graph_config.yaml"), "--mock"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "so critique is sent less than in SyGra" in captured.err + captured.out


def test_chat_history_on_a_node_no_loop_reaches_again_is_not_a_problem() -> None:
    """SyGra sends the transcript only once `__chat_history__` holds something: a node with
    chat_history that nothing with chat_history runs before is sent its prompt as usual."""
    tree = yaml.safe_load(CRITIC_LOOP)
    tree["graph_config"]["nodes"]["summary"]["chat_history"] = True  # runs first, once
    assert history_findings(tree, "t")[1] == []
    tree["graph_config"]["nodes"]["critique"]["chat_history"] = True  # in the loop
    problems = history_findings(tree, "t")[1]
    assert [p.split(":")[0] for p in problems] == ["graph_config.nodes.critique.chat_history"]
