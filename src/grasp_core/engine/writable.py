"""Values a sink may be unable to write: text that is not Unicode, integers too long.

A JSON escape such as ``"\\ud800"`` is valid JSON but decodes to a lone surrogate, which is
not Unicode text: JSON can carry it as that escape, but UTF-8 (Parquet, CSV, Hugging Face
datasets) cannot hold it. An integer past :func:`sys.get_int_max_str_digits` digits cannot
be written as decimal text at all. Sinks use :func:`find_unwritable` in their optional
``cannot_write(record)``, which the engine asks before a record is written: a record a sink
cannot write fails on its own, instead of failing the whole write (and the run).

The engine walks each output record once (:func:`writable_everywhere`) and, while it asks the
sinks, marks a record that passed (:func:`checked_writable`): :func:`find_unwritable` then
answers None for that very object at once, instead of walking it again per sink.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from contextvars import ContextVar, Token
from typing import Any

__all__ = ["checked_writable", "find_unwritable", "forget_checked", "writable_everywhere"]


_INT64 = range(-(2**63), 2**63)
_INT64_BOUND = 2**63

_CHECKED: ContextVar[object] = ContextVar("grasp_checked_writable", default=None)
"""The record :func:`checked_writable` marked in this task (None: none)."""


def writable_everywhere(record: Any) -> bool:
    """True when ``record`` is a dict that :func:`find_unwritable` passes whatever its
    options: plain JSON types only (text keys), text that is valid Unicode, integers
    within 64 bits. False says nothing: the record may still be writable."""
    return type(record) is dict and _all_plain(record, True, True)


def checked_writable(record: dict[str, Any]) -> Token[object]:
    """Mark ``record``, which :func:`writable_everywhere` passed and nothing changes until
    :func:`forget_checked`, so :func:`find_unwritable` answers None for it without a walk."""
    return _CHECKED.set(record)


def forget_checked(token: Token[object]) -> None:
    """End the mark :func:`checked_writable` made."""
    _CHECKED.reset(token)


def find_unwritable(
    value: Any, *, surrogates: bool = True, int64: bool = False, path: str = ""
) -> str | None:
    """Describe the first value in ``value`` that cannot be written, with its dotted path
    (``field 'messages.0.content' holds ...``), or return None when every value can be.

    ``value`` is JSON-like data (dicts, lists, scalars); keys are checked as well as values.
    Integers too long for text are always reported; text with lone surrogates only with
    ``surrogates`` (a JSON writer keeps them as ``\\u`` escapes); integers outside 64 bits
    only with ``int64`` (Arrow-based formats store integers as int64). ASCII text and
    ordinary integers cost one check each.
    """
    kind = type(value)
    if (
        kind is dict
        and not path
        and (value is _CHECKED.get() or _all_plain(value, surrogates, int64))
    ):
        return None  # the common case, checked without recursion or paths
    if kind is not dict and kind is not list:  # the common containers skip the ABC checks
        if isinstance(value, str):
            return _not_unicode(value, f"field {path!r}" if path else "the value", surrogates)
        if isinstance(value, int):
            too_long = _too_long(value, path)
            if too_long is None and int64 and value not in _INT64:
                where = f"field {path!r}" if path else "the value"
                digits = len(str(value))
                return f"{where} holds an integer outside the 64-bit range ({digits} digits)"
            return too_long
    if kind is dict or (kind is not list and isinstance(value, Mapping)):
        for key, item in value.items():
            if isinstance(key, str) and not key.isascii():
                where = f"a key under {path!r}" if path else "a key"
                found = _not_unicode(key, where, surrogates)
                if found is not None:
                    return found
            if (type(item) is str and item.isascii()) or _plain(item):
                continue
            inner = f"{path}.{key}" if path else str(key)
            found = find_unwritable(item, surrogates=surrogates, int64=int64, path=inner)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if _plain(item):
                continue
            inner = f"{path}.{index}" if path else str(index)
            found = find_unwritable(item, surrogates=surrogates, int64=int64, path=inner)
            if found is not None:
                return found
    return None


def _all_plain(record: dict[Any, Any], surrogates: bool, int64: bool) -> bool:
    """True when every key and value under ``record`` is writable and of a plain type (text,
    numbers, None, dicts, lists): then :func:`find_unwritable` has nothing to report. False
    sends the record through the full walk, which finds the value and names its path."""
    stack: list[Any] = [record]
    while stack:
        container = stack.pop()
        if type(container) is dict:
            for key in container:
                if type(key) is not str or (surrogates and not key.isascii() and not _unicode(key)):
                    return False
            items: Any = container.values()
        else:
            items = container
        for item in items:
            kind = type(item)
            if kind is str:
                if surrogates and not item.isascii() and not _unicode(item):
                    return False
            elif kind is int:
                if not -_INT64_BOUND <= item < _INT64_BOUND:
                    return False
            elif kind is dict or kind is list:
                stack.append(item)
            elif kind is not float and kind is not bool and item is not None:
                return False
    return True


def _unicode(text: str) -> bool:
    """Whether ``text`` is valid Unicode (no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _plain(value: Any) -> bool:
    """A value every sink writes (the common case, checked without building its path)."""
    kind = type(value)
    if kind is str:
        return value.isascii()  # type: ignore[no-any-return]
    if kind is int:
        return -_INT64_BOUND <= value < _INT64_BOUND  # type: ignore[no-any-return]
    return kind is float or kind is bool or value is None


def _not_unicode(text: str, where: str, surrogates: bool) -> str | None:
    if not surrogates or text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        surrogate = text[exc.start]
        return f"{where} holds text that is not valid Unicode (the lone surrogate {surrogate!r})"
    return None


def _too_long(number: int, path: str) -> str | None:
    limit = sys.get_int_max_str_digits()
    # An integer has under one digit per 3 bits: this one surely converts.
    if not limit or number.bit_length() <= 3 * limit:
        return None
    try:
        str(number)
    except ValueError:
        where = f"field {path!r}" if path else "the value"
        return f"{where} holds an integer of more than {limit} digits, too long to write as text"
    return None
