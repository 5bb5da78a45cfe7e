"""Generated bad task files never crash `grasp`: they validate, or exit 2 naming the file.

Task files are generated from a valid task by mutations (unknown keys at any level, wrong
types, deleted blocks, unknown node types, edges to unknown nodes, loops without a
condition, unreachable nodes, huge and non-ASCII strings), by damage to the YAML text, and
as arbitrary text. Loading and compiling one either succeeds or raises a ``GraspError``
whose message names the file, with lines that exist.
"""

from __future__ import annotations

import copy
from pathlib import Path

from hypothesis import event, given
from hypothesis import strategies as st

from grasp_core.errors import GraspError
from grasp_core.mock_server import MockServer
from tests.core.config.bad_task_strategies import SETTINGS, damage, mutated, serialise
from tests.core.config.bad_tasks import BASE, Emitter, new_folder
from tests.core.config.grasp_cli import check_named, cli, compile_task, validate_file


@SETTINGS
@given(data=st.data())
def test_a_mutated_task_validates_or_is_a_grasp_error_naming_the_file(
    tmp_path: Path, data: st.DataObject
) -> None:
    """Any mutated task file gives exit 0, or exit 2 and one `grasp: error:` naming the file."""
    path = new_folder(tmp_path) / data.draw(st.sampled_from(["task.yaml", "tâsk ünï.yml"]))
    path.write_text(serialise(data, mutated(data)), encoding="utf-8")
    code, message = validate_file(path)
    event(f"exit {code}: {message.split(':')[-1][:40]!a}" if code else "exit 0")


@SETTINGS
@given(data=st.data())
def test_damaged_yaml_text_is_a_grasp_error_naming_the_file(
    tmp_path: Path, data: st.DataObject
) -> None:
    """YAML text cut, spliced, tab-indented or nested deeply still validates or exits 2."""
    doc = mutated(data) if data.draw(st.booleans(), label="mutate") else copy.deepcopy(BASE)
    path = new_folder(tmp_path) / "task.yaml"
    path.write_text(damage(data, serialise(data, doc)), encoding="utf-8")
    code, message = validate_file(path)
    event(f"exit {code}: {message.split(':')[-1][:40]!a}" if code else "exit 0")


@SETTINGS
@given(data=st.data())
def test_a_mutated_task_runs_or_exits_2_without_a_traceback(
    tmp_path: Path, mock_server: MockServer, data: st.DataObject
) -> None:
    """`grasp run` on a mutated task exits 0, 1 or 2; 2 comes with one `grasp: error:`."""
    path = new_folder(tmp_path) / "task.yaml"
    path.write_text(serialise(data, mutated(data, most=1)), encoding="utf-8")
    code, out, err = cli("run", str(path), "--quiet", "--mock-url", mock_server.url)
    event(f"exit {code}")
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in out + err
    if code == 2:
        (line, *_) = err.splitlines()
        assert line.startswith("grasp: error: ")


@SETTINGS
@given(text=st.text(max_size=300) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_arbitrary_text_is_a_task_or_a_grasp_error(tmp_path: Path, text: str) -> None:
    """Arbitrary (valid UTF-8) text as a task file never raises anything but a GraspError."""
    path = new_folder(tmp_path) / "task.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        compile_task(path)
    except GraspError as exc:
        check_named(str(exc), path)


def test_the_base_task_is_valid(tmp_path: Path) -> None:
    """The task every mutation starts from validates, so each error comes from a mutation."""
    path = new_folder(tmp_path) / "task.yaml"
    path.write_text(Emitter().document(BASE), encoding="utf-8")
    assert validate_file(path) == (0, "")
