"""A YAML text parsed again in one process gives what a fresh parse gives, never a stale or
shared document."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from grasp_core.config import yaml_source
from grasp_core.config.yaml_source import load_yaml, parse_yaml
from grasp_core.errors import ConfigError

_TEXT = """\
task:
  name: demo
  nodes:
    - {id: a, prompt: "hi {x}"}
    - id: b
      when: 2026-01-02
  count: 3
"""


def _fresh(text: str, source: str) -> yaml_source.YamlDocument:
    yaml_source._PARSED.clear()
    return parse_yaml(text, source=source)


def test_a_remembered_document_equals_a_fresh_parse() -> None:
    """The second parse of a text gives the data, lines and source of the first parse."""
    first = _fresh(_TEXT, "t.yaml")
    again = parse_yaml(_TEXT, source="t.yaml")
    assert (again.data, again.lines, again.source) == (first.data, first.lines, first.source)
    assert again.where(("task", "nodes", 1, "when")) == "t.yaml:6: task.nodes[1].when"


def test_each_caller_gets_its_own_copy() -> None:
    """Changing one parse's data or lines leaves the next parse of the same text intact."""
    first = _fresh(_TEXT, "t.yaml")
    first.data["task"]["nodes"][0]["prompt"] = "changed"
    first.data["task"]["nodes"].append("extra")
    first.lines.clear()
    again = parse_yaml(_TEXT, source="t.yaml")
    assert again.data["task"]["nodes"][0]["prompt"] == "hi {x}"
    assert len(again.data["task"]["nodes"]) == 2
    assert again.lines[("task", "count")] == 7


def test_a_file_edited_between_loads_is_read_again(tmp_path: Path) -> None:
    """An edit of any size, even one keeping the file's length, is seen by the next load."""
    file = tmp_path / "task.yaml"
    file.write_text("a: 1\nb: x\n", encoding="utf-8")
    assert load_yaml(file).data == {"a": 1, "b": "x"}
    file.write_text("a: 2\nb: x\n", encoding="utf-8")
    assert load_yaml(file).data == {"a": 2, "b": "x"}


def test_the_same_text_under_another_name_names_its_own_file() -> None:
    """Line references name the source the caller gave, not the one first seen."""
    _fresh(_TEXT, "one.yaml")
    other = parse_yaml(_TEXT, source="two.yaml")
    assert other.where(("task", "count")) == "two.yaml:7: task.count"


def test_bad_yaml_fails_every_time() -> None:
    """A syntax error is raised on each parse, with its line."""
    yaml_source._PARSED.clear()
    for _ in range(2):
        with pytest.raises(ConfigError, match=r"bad\.yaml:2: "):
            parse_yaml("a: [1\nb: 2\n", source="bad.yaml")


def test_the_memory_is_bounded() -> None:
    """Many distinct texts keep at most ``_PARSED_MAX`` documents."""
    yaml_source._PARSED.clear()
    for index in range(yaml_source._PARSED_MAX + 5):
        assert parse_yaml(f"n: {index}\n").data == {"n": index}
    assert len(yaml_source._PARSED) == yaml_source._PARSED_MAX


def test_threads_parsing_at_once_keep_the_memory_whole() -> None:
    """Worker threads parsing many texts at once each get their own document; the memory
    stays within its bound."""
    yaml_source._PARSED.clear()

    def parse(start: int) -> list[Any]:
        return [parse_yaml(f"n: {n % 40}\n").data["n"] for n in range(start, start + 60)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(parse, range(0, 800, 100)))
    assert results == [[n % 40 for n in range(s, s + 60)] for s in range(0, 800, 100)]
    assert len(yaml_source._PARSED) <= yaml_source._PARSED_MAX
