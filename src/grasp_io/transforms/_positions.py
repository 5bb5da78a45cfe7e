"""Skip records by position on a stream, counting from the end with a bounded lookahead."""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from grasp_core.plugin import SourceItem

__all__ = ["Span", "kept_count", "parse_spans", "skip_spans"]

_SPAN = re.compile(r"\s*\[\s*(-?\d*)\s*:\s*(-?\d*)\s*\]\s*")


class Span(NamedTuple):
    """Positions ``[start:end)`` with Python slice meaning: None is open, negative counts
    from the end of the stream."""

    start: int | None
    end: int | None

    def lookahead(self) -> int:
        """How many records must follow one before it is known to be outside the span's
        end-relative part."""
        return max((-b for b in (self.start, self.end) if b is not None and b < 0), default=0)

    def holds(self, position: int, length: float) -> bool:
        """Whether ``position`` is in the span of a stream of ``length`` records
        (``math.inf`` while the length is not known yet)."""
        return _bound(self.start, length, 0) <= position < _bound(self.end, length, length)


def kept_count(spans: Sequence[Span], length: int) -> int:
    """How many of ``length`` positions lie in none of ``spans`` (what :func:`skip_spans`
    yields from ``length`` records without an error)."""
    covered = sorted(
        (int(_bound(s.start, length, 0)), int(min(_bound(s.end, length, length), length)))
        for s in spans
    )
    skipped = reach = 0
    for low, high in covered:
        low = max(low, reach)
        if high > low:
            skipped += high - low
        reach = max(reach, high)
    return length - skipped


def _bound(value: int | None, length: float, default: float) -> float:
    if value is None:
        return default
    return max(length + value, 0) if value < 0 else value


def parse_spans(text: str) -> list[Span]:
    """Parse SyGra's range syntax, ``"[:10],[-10:]"``; raise ``ValueError`` on anything else."""
    spans: list[Span] = []
    for part in text.split(","):
        match = _SPAN.fullmatch(part)
        if match is None:
            raise ValueError(
                f"cannot read the range {part.strip()!r}; write python slices in brackets, "
                "separated by commas, such as '[:10],[-10:]'"
            )
        start, end = (int(g) if g else None for g in match.groups())
        spans.append(Span(start, end))
    return spans


def skip_spans(items: Iterator[SourceItem], spans: Sequence[Span]) -> Iterator[SourceItem]:
    """Yield the items whose position is in none of ``spans``.

    Positions count records without an error; error items pass through as they come. A span
    that counts from the end holds back that many records (never the whole stream): a
    record leaves the buffer once enough follow it to decide, and the last ones when the
    stream ends and its length is known.
    """
    if not spans:
        yield from items
        return
    lookahead = max(span.lookahead() for span in spans)
    buffer: deque[tuple[int, SourceItem]] = deque()
    count = 0
    for item in items:
        if item.error is not None:
            yield item
            continue
        buffer.append((count, item))
        count += 1
        if len(buffer) > lookahead:
            position, ready = buffer.popleft()
            if not any(span.holds(position, math.inf) for span in spans):
                yield ready
    for position, ready in buffer:
        if not any(span.holds(position, count) for span in spans):
            yield ready
