"""Bad records never crash a run and never corrupt it: each is written right, or failed.

Source files are generated with records that lack the field a node needs, hold it with the
wrong type or as a 100 KB string, with ids repeated or missing, with lines that are blank,
not JSON, not an object, not UTF-8 or cut short (JSONL), rows of the wrong width (CSV) and
nulls (Parquet). A small task (a lambda node, or an llm node against the mock server) runs
over each file; then every record the source holds is either in the sink, equal to what the
graph computes from it, or in the failures file with a reason. An independent model of the
source (the rules in docs/reference/data.md) says which records exist and what their ids are.
"""

from __future__ import annotations

import csv
import io
import json
import math
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from grasp_core import RunOptions, RunResult, run_task
from grasp_core.config.task_file import Task
from grasp_core.errors import ConfigError, SourceError
from grasp_core.mock_server import MockServer
from grasp_core.models.catalog import ModelCatalog, ModelSpec
from grasp_core.runs.preflight import PEEK

SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def size(state: Mapping[str, Any]) -> int:
    """The lambda under test: fails without `text`, or when `text` has no length."""
    return len(state["text"])


# --- the model: which records a source holds, and what each should become ---------------------


@dataclass(frozen=True)
class Expected:
    """One record of the source: its id, and its data (None when the source cannot use it)."""

    record_id: str
    data: dict[str, Any] | None
    where: str = ""
    """For a record the source cannot use: the place its failure reason must name."""


Found = list[tuple[int, dict[str, Any] | None]]
"""Per record position: its number in the file (line, or 0-based item/row) and its data,
None when the file holds something there that is not a record (bad JSON, wrong width...)."""


def assign_ids(found: Found, unit: str, path: Path) -> list[Expected]:
    """Ids as the data reference defines them: the id field, else the position; a repeated
    id, and an unreadable record, fail under an id naming their place (`<line 7>`)."""
    seen: set[str] = set()
    items: list[Expected] = []
    for position, (number, data) in enumerate(found):
        where = f"{path}:{number}" if unit == "line" else f"{path} {unit} {number}"
        if data is not None:
            value = data.get("id")
            record_id = str(position) if value is None or value == "" else str(value)
            if record_id not in seen:
                seen.add(record_id)
                items.append(Expected(record_id, data))
                continue
        items.append(Expected(f"<{unit} {number}>", None, where))
    return items


def lambda_output(item: Expected) -> dict[str, Any] | None:
    """What the lambda task writes for a record, or None when the record must fail."""
    assert item.data is not None
    try:
        value = size(item.data)
    except Exception:
        return None
    return {**_with_id(item), "out": value}


def llm_output(item: Expected) -> dict[str, Any] | None:
    """What the llm task writes: the mock server echoes the rendered prompt, trimmed."""
    assert item.data is not None
    if "text" not in item.data:
        return None
    text = item.data["text"]
    prompt = "Say " + (text if isinstance(text, str) else str(text))
    reply = prompt.strip()
    messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}]
    return {**_with_id(item), "out": reply, "messages": messages}


def _with_id(item: Expected) -> dict[str, Any]:
    assert item.data is not None
    return item.data if "id" in item.data else {"id": item.record_id, **item.data}


# --- running a task over a file ------------------------------------------------------------


def lambda_task(folder: Path, source: str) -> tuple[Task, RunOptions]:
    node = {"node_type": "lambda", "lambda": size, "output_keys": "out"}
    return _task(folder, source, node), RunOptions()


def llm_task(folder: Path, source: str, mock_url: str) -> tuple[Task, RunOptions]:
    node = {
        "node_type": "llm",
        "output_keys": "out",
        "prompt": [{"user": "Say {text}"}],
        "model": {"name": "m"},
    }
    catalog = ModelCatalog(specs={"m": ModelSpec(model="openai/m", max_retries=0)})
    return _task(folder, source, node), RunOptions(mock=mock_url, models=catalog)


def _task(folder: Path, source: str, node: dict[str, Any]) -> Task:
    return Task.from_dict(
        {
            "data_config": {
                "source": {"type": "disk", "file_path": source},
                "sink": {"type": "jsonl", "file_path": "out/out.jsonl"},
            },
            "graph_config": {
                "nodes": {"step": node},
                "edges": [{"from": "START", "to": "step"}, {"from": "step", "to": "END"}],
            },
        },
        task_dir=folder,
    )


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """JSON Lines split on newline bytes only (a record may hold U+2028 or U+0085 raw)."""
    return [json.loads(line) for line in path.read_bytes().split(b"\n") if line]


def canonical(record: Mapping[str, Any]) -> str:
    """The record as the JSONL sink writes it: NaN and infinities become null."""
    return json.dumps(_finite(record), sort_keys=True)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def check_accounted(result: RunResult, folder: Path, items: list[Expected], output: Any) -> None:
    """Every record is written as computed, or failed with a reason; nothing else is written."""
    written = read_jsonl(folder / "out" / "out.jsonl")
    failures = read_jsonl(folder / "out" / "out.failures.jsonl")
    assert (result.done, result.failed) == (len(written), len(failures))
    assert len(written) + len(failures) == len(items)
    computed = {id(item): output(item) for item in items if item.data is not None}
    expected_written = Counter(canonical(c) for c in computed.values() if c is not None)
    assert Counter(canonical(r) for r in written) == expected_written
    node_failures = Counter(f["id"] for f in failures if f["node"] == "step")
    expected_node_failures = Counter(
        item.record_id for item in items if item.data is not None and computed[id(item)] is None
    )
    assert node_failures == expected_node_failures
    unusable = [item for item in items if item.data is None]
    from_source = [f for f in failures if f["node"] is None]
    assert sorted(f["id"] for f in from_source) == sorted(item.record_id for item in unusable)
    by_id = {f["id"]: f for f in from_source}
    for item in unusable:
        assert by_id[item.record_id]["error"] == "SourceError"
        assert by_id[item.record_id]["unreadable"] is True
        assert by_id[item.record_id]["reason"].startswith(item.where + ": ")
    assert all(isinstance(f["reason"], str) and f["reason"] for f in failures)
    event(f"written {min(len(written), 3)}, failed in the node {min(node_failures.total(), 3)}")
    event(f"unusable in the file {min(len(unusable), 3)}")


def run_over(
    folder: Path, name: str, content: bytes, found: Found, *, task: tuple[Task, RunOptions]
) -> tuple[RunResult, list[Expected]]:
    """Write the source file, run the task over it, and model the records it holds."""
    path = folder / name
    path.write_bytes(content)
    result = run_task(*task)
    unit = {".jsonl": "line", ".csv": "line", ".json": "item", ".parquet": "row"}[path.suffix]
    return result, assign_ids(found, unit, path.resolve())


NewFolder = Callable[[], Path]


@pytest.fixture
def new_folder(tmp_path: Path) -> NewFolder:
    """``new_folder()``: a fresh folder per hypothesis example."""
    return lambda: Path(tempfile.mkdtemp(dir=tmp_path))


# --- strategies ----------------------------------------------------------------------------

_leaf = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    _leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
"""JSON values (no NaN: it is not equal to itself, so it cannot be compared back)."""

huge_text = st.builds(
    lambda piece, chars: piece * (chars // len(piece)),
    st.sampled_from(["x", "é", "😀", "{text}", "\\", "\u2028", "\x00"]),
    st.integers(min_value=100_000, max_value=120_000),
)
"""Strings of 100 000 characters or more (up to 480 KB of UTF-8)."""
texts = st.text(max_size=40) | huge_text
ids = st.sampled_from(["a", "b", "1", "0", "", 1, 0, 1.5, True, None, [1], {"k": 1}])


@st.composite
def records(draw: st.DrawFn, text: st.SearchStrategy[Any] = texts) -> dict[str, Any]:
    """A record that may lack `text` or `id`, or hold either with any JSON type."""
    record: dict[str, Any] = draw(
        st.dictionaries(st.sampled_from(["n", "other", "nested", "ü"]), json_values, max_size=2)
    )
    if draw(st.booleans()):
        record["id"] = draw(ids)
    shape = draw(st.sampled_from(["text", "text", "missing", "other-type"]))
    if shape == "text":
        record["text"] = draw(text)
    elif shape == "other-type":
        record["text"] = draw(json_values)
    return record


# --- JSONL ---------------------------------------------------------------------------------

_BAD_LINES = [
    "[1, 2]",
    '"just a string"',
    "42",
    "null",
    "true",
    "{not json",
    '{"text": "unterminated',
    "{'single': 'quotes'}",
]
_BLANK_LINES = ["", " ", "\t", " \t  "]


@st.composite
def jsonl_files(draw: st.DrawFn, text: st.SearchStrategy[Any] = texts) -> tuple[bytes, Found]:
    """JSONL bytes, and per record position its data or (unreadable) its line number."""
    lines: list[bytes] = []
    kinds = st.sampled_from(["record"] * 5 + ["blank", "bad", "not-utf8", "duplicate"])
    for _ in range(draw(st.integers(min_value=0, max_value=10))):
        kind = draw(kinds)
        if kind == "record" or (kind == "duplicate" and not lines):
            ascii_only = draw(st.booleans())
            record = draw(records(text))
            try:
                lines.append(json.dumps(record, ensure_ascii=ascii_only).encode())
            except UnicodeEncodeError:  # a lone surrogate: the JSON escape is the same string
                lines.append(json.dumps(record).encode())
        elif kind == "duplicate":
            lines.append(draw(st.sampled_from(lines)))
        elif kind == "blank":
            lines.append(draw(st.sampled_from(_BLANK_LINES)).encode())
        elif kind == "bad":
            lines.append(draw(st.sampled_from(_BAD_LINES)).encode())
        else:
            lines.append(b'{"text": "caf\xe9", "id": "latin-1"}')
    content = b"".join(line + b"\n" for line in lines)
    if lines and draw(st.booleans()):  # cut the last line short
        last = lines[-1]
        content = content[: len(content) - 1 - len(last)] + last[: draw(st.integers(0, len(last)))]
    if draw(st.booleans()):
        content = b"\xef\xbb\xbf" + content
    return content, jsonl_model(content)


def jsonl_model(content: bytes) -> Found:
    """Blank lines are not records; every other line is a record, or unreadable."""
    found: Found = []
    lines = content.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    if lines[-1] == b"":
        lines.pop()  # the empty piece after the final newline
    for number, raw in enumerate(lines, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            found.append((number, None))
            continue
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        found.append((number, value if isinstance(value, dict) else None))
    return found


@SETTINGS
@given(file=jsonl_files())
def test_jsonl_records_are_written_as_computed_or_failed(
    new_folder: NewFolder, file: tuple[bytes, Found]
) -> None:
    """Lambda over a JSONL file: written + failed is every non-blank line, values exact."""
    folder = new_folder()
    task = lambda_task(folder, "data.jsonl")
    result, items = run_over(folder, "data.jsonl", *file, task=task)
    check_accounted(result, folder, items, lambda_output)


_llm_texts = st.text(st.characters(codec="utf-8", exclude_characters="["), max_size=40) | huge_text
"""No `[[mock:...]]` markers: the mock server obeys them. (Generated text never holds lone
surrogates; see test_the_mock_server_answers_a_prompt_with_a_lone_surrogate.)"""


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(file=jsonl_files(_llm_texts))
def test_jsonl_records_through_an_llm_node_are_written_as_echoed_or_failed(
    new_folder: NewFolder, mock_server: MockServer, file: tuple[bytes, Found]
) -> None:
    """An llm node against the mock server: each record gets its echoed prompt, or fails;
    when none of the first records the run reads to learn the columns has `text`, the run
    is refused before any call."""
    folder = new_folder()
    task = llm_task(folder, "data.jsonl", mock_server.url)
    if _lacks_text_up_front(file[1], folder / "data.jsonl"):
        (folder / "data.jsonl").write_bytes(file[0])
        with pytest.raises(ConfigError, match=r"\{text\} is not in the record's state"):
            run_task(*task)
        assert not (folder / "out").exists()
        event("refused before any call")
        return
    result, items = run_over(folder, "data.jsonl", *file, task=task)
    check_accounted(result, folder, items, llm_output)


def _lacks_text_up_front(found: Found, path: Path) -> bool:
    """Whether the records a run reads first to learn the data's columns are readable and
    none has `text` (the prompt's variable): the run is then refused up front."""
    first = assign_ids(found, "line", path.resolve())[:PEEK]
    readable = [item.data for item in first if item.data is not None]
    return bool(readable) and not any("text" in data for data in readable)


# --- JSON ------------------------------------------------------------------------------------


@SETTINGS
@given(rows=st.lists(records(), max_size=8), duplicate=st.booleans())
def test_json_array_records_are_written_as_computed_or_failed(
    new_folder: NewFolder, rows: list[dict[str, Any]], duplicate: bool
) -> None:
    """Lambda over a JSON array of objects: every item is written as computed, or failed."""
    if duplicate and rows:
        rows.append(dict(rows[0]))
    folder = new_folder()
    found: Found = list(enumerate(rows))
    task = lambda_task(folder, "data.json")
    result, items = run_over(folder, "data.json", json.dumps(rows).encode(), found, task=task)
    check_accounted(result, folder, items, lambda_output)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("data.json", b""),
        ("data.json", b'{"text": "an object, not an array"}'),
        ("data.json", b'[{"text": "a"}, 5]'),
        ("data.json", b'[{"text": "a"}, {"text": "b"'),
        ("data.json", b'[{"text": "caf\xe9"}]'),
        ("data.parquet", b""),
        ("data.parquet", b"PAR1 not really parquet PAR1"),
    ],
    ids=[
        "json-empty",
        "json-object",
        "json-item",
        "json-cut",
        "json-latin1",
        "pq-empty",
        "pq-junk",
    ],
)
def test_a_file_that_cannot_be_read_at_all_is_a_source_error(
    tmp_path: Path, name: str, content: bytes
) -> None:
    """A source that is unreadable as a whole raises SourceError naming it; nothing is written."""
    (tmp_path / name).write_bytes(content)
    with pytest.raises(SourceError, match=name):
        run_task(*lambda_task(tmp_path, name))
    assert read_jsonl(tmp_path / "out" / "out.jsonl") == []


# --- CSV -------------------------------------------------------------------------------------

_cells = st.text(max_size=20)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, Found]:
    """CSV bytes (any header among id/text/n/ü), rows of any width, blank lines, big cells,
    repeated rows. A row's number is the line it ends on (cells may hold line breaks)."""
    header = draw(
        st.lists(st.sampled_from(["id", "text", "n", "ü"]), min_size=1, max_size=4, unique=True)
    )
    out = io.StringIO(newline="")
    writer = csv.writer(out)  # "\r\n" ends rows; a cell holding "\r" or "\n" is quoted
    writer.writerow(header)
    found: Found = []
    rows: list[list[str]] = []
    for _ in range(draw(st.integers(min_value=0, max_value=10))):
        kind = draw(st.sampled_from(["row"] * 5 + ["ragged", "blank", "repeat", "huge"]))
        if kind == "blank":
            out.write("\r\n")
            continue
        width = len(header)
        if kind == "ragged":
            width = draw(st.integers(min_value=1, max_value=6).filter(lambda w: w != len(header)))
        cells = draw(st.lists(_cells, min_size=width, max_size=width))
        if kind == "huge":
            cells[-1] = draw(huge_text)
        if kind == "repeat" and rows:
            cells = draw(st.sampled_from(rows))
        rows.append(cells)
        writer.writerow(cells)
        line = len(io.StringIO(out.getvalue(), newline="").readlines())
        fits = len(cells) == len(header)
        found.append((line, dict(zip(header, cells, strict=True)) if fits else None))
    return out.getvalue().encode("utf-8"), found


@SETTINGS
@given(file=csv_files())
def test_csv_rows_are_written_as_computed_or_failed(
    new_folder: NewFolder, file: tuple[bytes, Found]
) -> None:
    """Lambda over CSV: a row of the wrong width or a repeated id fails; the rest are exact."""
    folder = new_folder()
    task = lambda_task(folder, "data.csv")
    result, items = run_over(folder, "data.csv", *file, task=task)
    check_accounted(result, folder, items, lambda_output)


# --- Parquet ---------------------------------------------------------------------------------

_COLUMN_TYPES: dict[str, tuple[pa.DataType, st.SearchStrategy[Any]]] = {
    "string": (pa.string(), st.text(max_size=20)),
    "int": (pa.int64(), st.integers(min_value=-(2**63), max_value=2**63 - 1)),
    "float": (pa.float64(), st.floats(allow_nan=False)),
    "list": (pa.list_(pa.string()), st.lists(st.text(max_size=5), max_size=3)),
}


@st.composite
def parquet_files(draw: st.DrawFn) -> tuple[bytes, Found]:
    """Parquet with `id` and `text` columns of any type, nulls anywhere, small row groups."""
    rows = draw(st.integers(min_value=0, max_value=12))
    columns: dict[str, pa.Array] = {}
    for name in draw(st.lists(st.sampled_from(["id", "text", "n"]), unique=True, max_size=3)):
        kind = draw(st.sampled_from(sorted(_COLUMN_TYPES)), label=f"{name} type")
        arrow_type, values = _COLUMN_TYPES[kind]
        if name == "id" and kind in ("string", "int"):
            values = st.sampled_from(["a", "b", "0", "1"] if kind == "string" else [0, 1, 7])
        cells = draw(st.lists(st.none() | values, min_size=rows, max_size=rows))
        columns[name] = pa.array(cells, type=arrow_type)
    table = pa.table(columns) if columns else pa.table({"n": pa.array([None] * rows, pa.int64())})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, row_group_size=draw(st.integers(min_value=1, max_value=5)))
    return buffer.getvalue(), list(enumerate(table.to_pylist()))


@SETTINGS
@given(file=parquet_files())
def test_parquet_rows_with_nulls_are_written_as_computed_or_failed(
    new_folder: NewFolder, file: tuple[bytes, Found]
) -> None:
    """Lambda over Parquet: a null or non-sized `text` fails the row; the rest are exact."""
    folder = new_folder()
    task = lambda_task(folder, "data.parquet")
    result, items = run_over(folder, "data.parquet", *file, task=task)
    check_accounted(result, folder, items, lambda_output)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("data.jsonl", b""),
        ("data.jsonl", b"\n \n\t\n"),
        ("data.csv", b""),
        ("data.csv", b"id,text\r\n"),
        ("data.json", b"[]"),
    ],
    ids=["jsonl-empty", "jsonl-blank", "csv-empty", "csv-header-only", "json-empty-array"],
)
def test_an_empty_source_is_zero_records(tmp_path: Path, name: str, content: bytes) -> None:
    """An empty or blank file holds no records: the run succeeds and writes nothing."""
    (tmp_path / name).write_bytes(content)
    result = run_task(*lambda_task(tmp_path, name))
    assert (result.done, result.failed, result.ok) == (0, 0, True)
    assert read_jsonl(tmp_path / "out" / "out.jsonl") == []


# --- regressions: inputs that crashed or were misreported (xfail while the bug stands) ------


def run_jsonl(folder: Path, content: str | bytes, task: Any = None) -> RunResult:
    """Run the lambda task (or ``task``) over ``content`` written as ``data.jsonl``."""
    data = content.encode() if isinstance(content, str) else content
    (folder / "data.jsonl").write_bytes(data)
    return run_task(*(task or lambda_task(folder, "data.jsonl")))


def test_a_deeply_nested_record_fails_alone(tmp_path: Path) -> None:
    """One record nested 300 levels deep fails (or is written); the others are still written."""
    deep = '{"text": "ab", "v": ' + "[" * 300 + "]" * 300 + "}\n"
    result = run_jsonl(tmp_path, deep + '{"text": "abc"}\n')
    assert result.done + result.failed == 2
    assert {"id": "1", "text": "abc", "out": 3} in read_jsonl(tmp_path / "out" / "out.jsonl")


def test_a_parquet_row_with_undecodable_bytes_fails_alone(tmp_path: Path) -> None:
    """A binary cell that is not UTF-8 fails its row (or is written encoded); the run goes on."""
    table = pa.table(
        {"text": ["ab", "abc"], "blob": pa.array([b"\xff\x00", b"ok"], type=pa.binary())}
    )
    pq.write_table(table, tmp_path / "data.parquet")
    result = run_task(*lambda_task(tmp_path, "data.parquet"))
    assert result.done + result.failed == 2
    assert result.done >= 1


def test_a_non_list_messages_field_is_not_exploded(tmp_path: Path, mock_server: MockServer) -> None:
    """An llm node over a record whose `messages` is a string fails it, or keeps the string."""
    task = llm_task(tmp_path, "data.jsonl", mock_server.url)
    result = run_jsonl(tmp_path, '{"text": "a", "messages": "oops"}\n', task)
    written = read_jsonl(tmp_path / "out" / "out.jsonl")
    assert result.failed == 1 or written[0]["messages"][0] == "oops"


def test_a_csv_quoting_error_names_its_line(tmp_path: Path) -> None:
    """Malformed quoting stops the run with a SourceError at the line that holds it."""
    (tmp_path / "data.csv").write_text('id,text\n1,a\n2,b\n3,"c"x\n4,d\n', encoding="utf-8")
    with pytest.raises(SourceError, match=r"data\.csv:4: cannot parse csv"):
        run_task(*lambda_task(tmp_path, "data.csv"))


def test_a_csv_row_that_is_not_utf8_fails_alone(tmp_path: Path) -> None:
    """One CSV row with a Latin-1 byte fails; the rows around it are written."""
    (tmp_path / "data.csv").write_bytes(b"id,text\n1,ab\n2,caf\xe9\n3,abc\n")
    result = run_task(*lambda_task(tmp_path, "data.csv"))
    assert (result.done, result.failed) == (2, 1)


def test_a_source_that_cannot_be_read_leaves_nothing_to_resume(tmp_path: Path) -> None:
    """After a SourceError for the whole file, fixing the file is enough to run again."""
    (tmp_path / "data.json").write_text('{"text": "not in an array"}', encoding="utf-8")
    with pytest.raises(SourceError):
        run_task(*lambda_task(tmp_path, "data.json"))
    (tmp_path / "data.json").write_text('[{"text": "ab"}]', encoding="utf-8")
    assert run_task(*lambda_task(tmp_path, "data.json")).done == 1


def test_a_bad_line_is_not_lost_on_resume_behind_a_lookalike_id(tmp_path: Path) -> None:
    """Every line is written or failed after a resume, even beside an id like '<line 2>'."""
    content = '{"id": "<line 2>", "text": "a"}\n{not json\n{"text": "bb"}\n'
    task, _ = lambda_task(tmp_path, "data.jsonl")
    (tmp_path / "data.jsonl").write_text(content, encoding="utf-8")
    run_task(task, RunOptions(num_records=1))
    run_task(task, RunOptions(resume=True))
    written = read_jsonl(tmp_path / "out" / "out.jsonl")
    failed = read_jsonl(tmp_path / "out" / "out.failures.jsonl")
    assert len(written) + len(failed) == 3


def test_non_finite_floats_are_written_as_valid_json(tmp_path: Path) -> None:
    """Every line of the sink parses as strict JSON, whatever floats the source held."""
    pq.write_table(
        pa.table({"text": ["a", "b"], "f": [math.nan, math.inf]}), tmp_path / "data.parquet"
    )
    run_task(*lambda_task(tmp_path, "data.parquet"))

    def refuse(token: str) -> Any:
        raise ValueError(f"not JSON: {token}")

    lines = (tmp_path / "out" / "out.jsonl").read_bytes().split(b"\n")
    assert [json.loads(line, parse_constant=refuse) for line in lines if line]


def test_the_mock_server_answers_a_prompt_with_a_lone_surrogate(
    tmp_path: Path, mock_server: MockServer
) -> None:
    """The mock echoes such a prompt, or refuses it as a bad request (4xx), never a 5xx."""
    task = llm_task(tmp_path, "data.jsonl", mock_server.url)
    run_jsonl(tmp_path, '{"text": "a\\ud800b"}\n', task)
    failures = read_jsonl(tmp_path / "out" / "out.failures.jsonl")
    assert all("HTTP 5" not in f["reason"] for f in failures)
