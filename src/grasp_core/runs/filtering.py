"""Keep the records that meet thresholds: ``quality.overall >= 4``, with no ``eval``.

A condition is ``PATH OP VALUE``: a dotted path into the record (list positions are numbers:
``conversation.0.role``), an operator among ``== != < <= > >= in`` and ``not in``, and a JSON
literal (``4``, ``0.5``, ``"en"``, ``true``, ``null``, ``["en", "fr"]``). Several conditions
must all hold. A record that lacks the path, or whose value cannot be ordered against the
literal (a string against a number), does not meet the condition. Values stored as JSON
text (as CSV files hold them: ``4.5``, ``true``, ``{"overall": 5}``) are read through, so
``score >= 4`` and ``ok == true`` hold on a CSV cell as they do on a JSON value.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grasp_core.engine.output import MISSING
from grasp_core.errors import ConfigError, SourceError
from grasp_core.runs.annotations import ANNOTATION_FIELD, annotated_records
from grasp_core.runs.dataset_files import open_sink, open_source
from grasp_core.runs.record_fields import MAX_PATHS, did_you_mean, field_list, find, paths_of

__all__ = [
    "OPERATORS",
    "Condition",
    "FilterResult",
    "FilterSyntaxError",
    "filter_dataset",
    "filter_records",
    "parse_condition",
]

OPERATORS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in")
_PATH_PATTERN = r"[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*"
_PATH = re.compile(rf"^{_PATH_PATTERN}$")
_CONDITION = re.compile(
    rf"^\s*(?P<path>(?>{_PATH_PATTERN}))"
    r"(?:\s*(?P<symbol>==|!=|<=|>=|<|>|=)|\s+(?P<word>not\s+in|in)\b)"
    r"\s*(?P<value>.*?)\s*$",
    re.S,
)
"""The path first (taken whole: ``check-in`` and a segment named ``in`` are paths), then
the operator (``in`` and ``not in`` after a space), then the literal."""
_SPLIT = re.compile(
    r"^\s*(?P<path>.*?)\s*(?P<op>==|!=|<=|>=|<|>|=|\bnot\s+in\b|\bin\b)\s*(?P<value>.*?)\s*$",
    re.S,
)
"""A looser split, only to say what is wrong with a condition ``_CONDITION`` rejects."""
_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_EXAMPLE = "for example 'quality.overall >= 4' or 'quality.heuristics.language in [\"en\", \"fr\"]'"


class FilterSyntaxError(ConfigError):
    """A ``--where`` condition cannot be read."""


@dataclass(frozen=True, slots=True)
class Condition:
    """One parsed ``PATH OP VALUE`` condition."""

    text: str
    path: str
    op: str
    value: Any

    def holds(self, record: Mapping[str, Any]) -> bool:
        """Whether ``record`` meets the condition (a missing path never does)."""
        found = find(record, self.path)
        if found is MISSING:
            return False
        if isinstance(found, str) and not self._text_literal():
            found = _json_scalar(found)
        if self.op == "==":
            return _equal(found, self.value)
        if self.op == "!=":
            return not _equal(found, self.value)
        if self.op in ("in", "not in"):
            inside = _contains(self.value, found)
            return inside if self.op == "in" else not inside
        if not _comparable(found, self.value):
            return False
        return _ORDERING[self.op](found, self.value)

    def _text_literal(self) -> bool:
        """The literal compares with text (a string, or a list holding one for ``in``)."""
        if self.op in ("in", "not in") and isinstance(self.value, list):
            return any(isinstance(member, str) for member in self.value)
        return isinstance(self.value, str)


def parse_condition(text: str) -> Condition:
    """Read ``PATH OP VALUE``; a :class:`FilterSyntaxError` says what is wrong and how to
    write it."""
    match = _CONDITION.match(text)
    if match is None:
        raise _syntax_error(text)
    path, literal = match["path"], match["value"]
    op = match["symbol"] or re.sub(r"\s+", " ", match["word"])
    if not literal:
        raise FilterSyntaxError(f"--where {text!r}: nothing to compare with after {op!r}")
    if literal[0] in "=<>!":
        raise FilterSyntaxError(
            f"--where {text!r}: unknown operator {op + literal.split()[0]!r}; use one of "
            f"{' '.join(OPERATORS)}"
        )
    if op == "=":
        raise FilterSyntaxError(f"--where {text!r}: `=` is not an operator; write `==`")
    try:
        value = json.loads(literal)
    except ValueError:
        hint = (
            f"; write strings in double quotes: {json.dumps(literal)}"
            if re.fullmatch(r"[\w\-.]+", literal)
            else ""
        )
        raise FilterSyntaxError(
            f"--where {text!r}: {literal!r} is not a JSON literal (a number, a string in "
            f'double quotes, true, false, null, or a list such as ["en", "fr"]){hint}'
        ) from None
    if op in _ORDERING and not (_is_number(value) or isinstance(value, str)):
        raise FilterSyntaxError(
            f"--where {text!r}: {op!r} compares numbers or strings, not {literal!r}"
        )
    if op in ("in", "not in") and not isinstance(value, list | str):
        raise FilterSyntaxError(
            f'--where {text!r}: {op!r} needs a list (such as ["en", "fr"]) or a string '
            f"to look in, not {literal!r}"
        )
    return Condition(text=text, path=path, op=op, value=value)


def _syntax_error(text: str) -> FilterSyntaxError:
    """What is wrong with a condition that is not ``PATH OP VALUE``."""
    loose = _SPLIT.match(text)
    if loose is not None and loose["path"] and not _PATH.match(loose["path"]):
        return FilterSyntaxError(
            f"--where {text!r}: {loose['path']!r} is not a dotted path (names and list "
            "positions joined by dots, such as quality.judge.response_scores.accuracy)"
        )
    return FilterSyntaxError(
        f"--where {text!r}: expected PATH OP VALUE with OP one of {' '.join(OPERATORS)}; {_EXAMPLE}"
    )


def _json_scalar(text: str) -> Any:
    """``text`` read as JSON when it is JSON (a CSV cell holding ``4.5``, ``true`` or
    ``null``), else ``text`` itself: a typed literal compares with the typed value."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _comparable(left: Any, right: Any) -> bool:
    return (_is_number(left) and _is_number(right)) or (
        isinstance(left, str) and isinstance(right, str)
    )


def _equal(left: Any, right: Any) -> bool:
    """JSON equality: `true` is not `1`."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left is right
    return bool(left == right)


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    return any(_equal(item, member) for member in container)


@dataclass
class FilterResult:
    """What a filter did."""

    kept: int = 0
    dropped: int = 0
    unreadable: int = 0
    """Input records the source could not parse (not written; reasons in ``errors``)."""
    dropped_by: dict[str, int] = field(default_factory=dict)
    """Condition text → records it dropped (the first failing condition of each)."""
    errors: list[str] = field(default_factory=list)
    """The first reasons of unreadable records."""
    output_paths: list[Path] = field(default_factory=list)


def filter_records(
    records: Iterable[Mapping[str, Any]], conditions: Sequence[Condition], result: FilterResult
) -> Iterator[Mapping[str, Any]]:
    """The records meeting every condition; ``result`` counts the kept and the dropped."""
    for record in records:
        failed = next((c for c in conditions if not c.holds(record)), None)
        if failed is None:
            result.kept += 1
            yield record
        else:
            result.dropped += 1
            result.dropped_by[failed.text] = result.dropped_by.get(failed.text, 0) + 1


def filter_dataset(
    source: dict[str, Any],
    sink: dict[str, Any],
    conditions: Sequence[Condition],
    *,
    base_dir: Path,
    batch_size: int = 1000,
    max_errors: int = 5,
    annotations: Mapping[str, Mapping[str, Any]] | None = None,
) -> FilterResult:
    """Stream ``source`` through the conditions into ``sink`` (source and sink blocks as in
    a task's ``data_config``).

    A condition whose path no record of the input has (a typo: ``quality.overal``) is a
    :class:`ConfigError` naming the nearest path records do have, raised once the input is
    read: no record met that condition, so the sink was never opened and nothing (not even
    an empty file) was written; an earlier file at the output stays as it was.

    With ``annotations`` (:func:`~grasp_core.runs.annotations.read_annotations`), conditions
    see each record's review under ``annotation`` and the kept records are written with
    their edits applied (the ``annotation`` field itself is not written)."""
    result = FilterResult()
    reader = open_source(source, base_dir)
    writer = open_sink(sink, base_dir)
    watch = _PathWatch(conditions)

    def readable() -> Iterator[dict[str, Any]]:
        for item in reader.iter_records():
            if item.error is not None:
                result.unreadable += 1
                if len(result.errors) < max_errors:
                    result.errors.append(f"record {item.record_id!r}: {item.error}")
                continue
            yield item.data

    records: Iterable[Mapping[str, Any]] = readable()
    if annotations is not None:
        records = annotated_records(records, annotations)
    opened = False
    try:
        batch: list[dict[str, Any]] = []
        for record in filter_records(watch.watch(records), conditions, result):
            batch.append({k: v for k, v in record.items() if k != ANNOTATION_FIELD})
            if len(batch) >= batch_size:
                if not opened:
                    writer.restore([])
                    opened = True
                writer.write(batch)
                batch = []
        watch.check()
        if not opened:
            writer.restore([])
            opened = True
        if batch:
            writer.write(batch)
        result.output_paths = writer.finalize()
    except SourceError:
        if opened:
            writer.close()
        raise
    return result


class _PathWatch:
    """Which conditions' paths some record has, and the paths of the first records to
    suggest from: a few sets, whatever the size of the input."""

    def __init__(self, conditions: Sequence[Condition], sample: int = 100) -> None:
        self.unseen = {c.path: c for c in reversed(conditions)}
        """Paths no record has had so far, each with (the first) condition reading it."""
        self.sample = sample
        self.paths: set[str] = set()
        self.records = 0

    def watch(self, records: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
        """``records``, noting the paths each has."""
        for record in records:
            if self.records < self.sample and len(self.paths) < MAX_PATHS:
                self.paths |= paths_of([record], MAX_PATHS - len(self.paths))
            if self.unseen:
                for path in [p for p in self.unseen if find(record, p) is not MISSING]:
                    del self.unseen[path]
            self.records += 1
            yield record

    def check(self) -> None:
        """Raise when a condition's path was in none of the records read (an empty input
        passes: it has no fields to compare with)."""
        if not self.unseen or not self.records:
            return
        missing = "; ".join(
            f"--where {condition.text!r}: no record has {path!r}{did_you_mean(path, self.paths)}"
            for path, condition in reversed(self.unseen.items())
        )
        raise ConfigError(
            f"{missing}; the {self.records} records read have the fields "
            f"{field_list(self.paths)}. Nothing was written: fix the path (a record without "
            "it never meets the condition)"
        )
