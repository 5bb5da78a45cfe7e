"""Task files whose text is unusual or bad: other encodings, deep nesting, merge keys,
forbidden characters, keys with line breaks and huge values; each loads or gives one
clear line naming the file.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from grasp_core.config.task_file import Task
from grasp_core.errors import GraspError
from tests.core.config.bad_tasks import BASE, STEPS_MODULE, Emitter, edited, new_folder
from tests.core.config.grasp_cli import accepts_or_names_the_file, cli, validate_file


@pytest.mark.parametrize(
    "raw",
    [b"graph_config:\n  nodes: {caf\xe9: 1}\n", "graph_config: {}\n".encode("utf-16")],
    ids=["latin-1", "utf-16"],
)
def test_a_task_file_that_is_not_utf8_is_a_config_error(tmp_path: Path, raw: bytes) -> None:
    """A task file in another encoding is a ConfigError naming the file, not a crash."""
    path = tmp_path / "task.yaml"
    path.write_bytes(raw)
    accepts_or_names_the_file(path)


def test_deeply_nested_yaml_is_a_config_error(tmp_path: Path) -> None:
    """YAML nested 400 levels deep is a ConfigError naming the file, not a RecursionError."""
    path = tmp_path / "task.yaml"
    path.write_text("graph_config: " + "[" * 400 + "]" * 400 + "\n", encoding="utf-8")
    accepts_or_names_the_file(path)


@pytest.mark.parametrize("style", ["block", "flow"])
def test_yaml_merge_keys_load(tmp_path: Path, style: str) -> None:
    """Shared node settings through an anchor and a `<<:` merge key load like any mapping."""
    node = (
        "    first:\n      <<: *lam\n      output_keys: x\n"
        if style == "block"
        else "    first: {<<: *lam, output_keys: x}\n"
    )
    text = (
        f"defaults: &lam\n  node_type: lambda\n  lambda: {STEPS_MODULE}.double\n"
        f"graph_config:\n  nodes:\n{node}"
        "  edges:\n    - {from: START, to: first}\n    - {from: first, to: END}\n"
    )
    path = new_folder(tmp_path) / "task.yaml"
    path.write_text(text, encoding="utf-8")
    accepts_or_names_the_file(path)


def test_a_forbidden_character_is_reported_at_its_line(tmp_path: Path) -> None:
    """A control character YAML forbids is reported at file:line, on one line."""
    path = tmp_path / "task.yaml"
    path.write_text("graph_config:\n  nodes:\n    a: \x1f\n", encoding="utf-8")
    with pytest.raises(GraspError) as info:
        Task.load(path)
    (line,) = str(info.value).splitlines()
    assert line.startswith(f"{path}:3: ")


def test_a_key_with_a_line_break_keeps_the_message_on_one_line(tmp_path: Path) -> None:
    """An unknown key with a newline in it is reported on one line (escaped)."""
    doc = copy.deepcopy(BASE)
    doc["bad\nkey"] = 1
    path = new_folder(tmp_path) / "task.yaml"
    path.write_text(Emitter().document(doc), encoding="utf-8")
    code, _, err = cli("validate", str(path))
    assert code == 2
    assert len(err.splitlines()) == 1


def test_a_huge_bad_value_is_shortened_in_the_message(tmp_path: Path) -> None:
    """The value quoted in an error message is cut to a readable length."""
    path = new_folder(tmp_path) / "task.yaml"
    path.write_text(edited(("graph_config", "recursion_limit"), "9" * 100_000), encoding="utf-8")
    code, message = validate_file(path)
    assert code == 2
    assert len(message) < 2_000
