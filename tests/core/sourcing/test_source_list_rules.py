"""The config rules of a source list (aliases, one primary, known join types, keys for a
column join), each a ConfigError naming file and line when the task loads.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grasp_core.config.task_file import Task
from grasp_core.errors import ConfigError
from tests.core.sourcing.join_tasks import source_of, task_with


@pytest.mark.parametrize(
    ("sources_yaml", "message"),
    [
        (
            """
            - {type: disk, file_path: questions.jsonl, join_type: primary}
            """,
            "item 0 has no `alias`",
        ),
        (
            """
            - {type: disk, file_path: questions.jsonl, alias: q, join_type: primary}
            - {type: disk, file_path: personas.jsonl, alias: p, join_type: rand}
            """,
            "source 'p' (item 1) has join_type 'rand'; use one of primary, sequential, random",
        ),
        (
            """
            - {type: disk, file_path: questions.jsonl, alias: q, join_type: primary}
            - {type: disk, file_path: personas.jsonl, alias: p, join_type: column, join_key: id}
            """,
            "has join_type 'column' but no `primary_key`",
        ),
        (
            """
            - {type: disk, file_path: questions.jsonl, alias: q, join_type: primary}
            - {type: disk, file_path: personas.jsonl, alias: q, join_type: random}
            """,
            "the aliases ['q'] are used by more than one source",
        ),
        (
            """
            - {type: disk, file_path: questions.jsonl, alias: q, join_type: primary}
            - {type: disk, file_path: personas.jsonl, alias: p, join_type: primary}
            """,
            "exactly one with `join_type: primary`, found 2 ('q', 'p')",
        ),
        (
            """
            - {type: disk, file_path: questions.jsonl, alias: q, join_type: random}
            """,
            "exactly one with `join_type: primary`, found none",
        ),
        (
            """
            - {type: disk, file_path: questions.jsonl, alias: q, join_type: primary}
            - {type: disk, file_path: personas.jsonl, alias: p, join_type: vstack}
            """,
            "cannot be mixed with other join types",
        ),
    ],
)
def test_source_list_rules_are_config_errors_with_a_line(
    tmp_path: Path, sources_yaml: str, message: str
) -> None:
    """Each rule of a source list is checked when the task loads, naming file and line."""
    task = task_with(tmp_path, sources_yaml)
    with pytest.raises(ConfigError) as caught:
        Task.load(task)
    assert message in str(caught.value)
    assert "task.yaml:2: data_config.source" in str(caught.value)


def test_a_lone_source_cannot_ask_for_a_join(tmp_path: Path) -> None:
    """`join_type: random` on the only source is refused: there is nothing to join."""
    task = task_with(tmp_path, "{type: disk, file_path: questions.jsonl, join_type: random}")
    with pytest.raises(ConfigError, match="join_type 'random' joins this source with others"):
        Task.load(task)


def test_a_typo_inside_a_listed_source_names_its_item(tmp_path: Path) -> None:
    """A bad key of one listed source is reported at that item's path and line."""
    task = task_with(
        tmp_path,
        """
        - {type: disk, file_path: questions.jsonl, alias: q, join_type: primary}
        - {type: disk, file_path: personas.jsonl, alias: p, join_type: random, fil_format: csv}
        """,
    )
    with pytest.raises(ConfigError, match=r"task.yaml:4: data_config.source\[1\].fil_format"):
        source_of(task)
