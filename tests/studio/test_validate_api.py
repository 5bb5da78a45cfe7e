"""``GET /api/validate``: every problem of a task found at once (each part checked on its
own), each with its workspace file, line, YAML path and node."""

from __future__ import annotations

from tests.studio.conftest import Studio

BROKEN = {
    "graph_config.nodes.ask.temprature": ("output_keys: question\n", "      temprature: 3\n"),
    "graph_config.nodes.critique.colour": ("output_keys: critique\n", "      colour: red\n"),
    "graph_config.edges[3].to": ("      to: word_count\n", None),
    "data_config.sink.type": ("    type: jsonl\n", None),
}
"""Where each problem goes: a line added after the anchor, or (None) the anchor made wrong."""

_WRONG = {
    "      to: word_count\n": "      to: word_cont\n",
    "    type: jsonl\n": "    type: jsonll\n",
}


def break_quickstart(text: str) -> tuple[str, dict[str, int]]:
    """The quickstart task with the four problems of :data:`BROKEN`, and each problem's
    1-based line in the result."""
    for anchor, added in BROKEN.values():
        assert text.count(anchor) == 1, anchor
        text = text.replace(anchor, anchor + added if added else _WRONG[anchor])
    lines = text.splitlines(keepends=True)
    found = {}
    for path, (anchor, added) in BROKEN.items():
        wanted = added or _WRONG[anchor]
        found[path] = lines.index(wanted) + 1
    return text, found


def test_validate_lists_every_problem_with_its_line_and_node(studio_server: Studio) -> None:
    """Two broken nodes, an edge to an unknown node and an unknown sink type: four problems,
    not only the first; each names the task file, its line, its path and its node."""
    task = studio_server.workspace / "quickstart" / "task.yaml"
    broken, lines = break_quickstart(task.read_text(encoding="utf-8"))
    task.write_text(broken, encoding="utf-8")
    with studio_server.client() as client:
        body = client.get("/api/validate", params={"path": "quickstart/task.yaml"}).json()
    assert body["ok"] is False
    shown = {p["path"]: (p["file"], p["line"], p["node"]) for p in body["problems"]}
    assert shown == {
        path: ("quickstart/task.yaml", line, path.split(".")[2] if ".nodes." in path else None)
        for path, line in lines.items()
    }
