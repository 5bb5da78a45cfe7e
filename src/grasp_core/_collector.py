"""The cyclic garbage collector during the ``grasp`` command's start-up.

Start-up (the imports, the task's config models, the compiled graph and its clients) creates
tens of thousands of objects that live as long as the process, and almost no garbage. At its
default thresholds the collector traverses them again and again as they pile up: over 100
collections, about 45 ms of the ~440 ms of CPU a 10-record ``grasp run`` spent.

``grasp`` calls :func:`pause` on its first line: the youngest generation's threshold is
raised to :data:`START_UP_THRESHOLD` allocations (not switched off, so memory stays bounded
whatever a command does before it resumes). A run calls :func:`resume` as its engine starts:
what is alive then is moved to the permanent generation (``gc.freeze``), so no later
collection traverses it again (a long run's full collections included), and the thresholds
are put back. The garbage frozen with it is start-up's, once (a few thousand objects).

Only the ``grasp`` command pauses the collector, as it owns its process: in a caller's
process (``run_task``, a Ray worker) :func:`resume` does nothing.
"""

from __future__ import annotations

import gc

__all__ = ["START_UP_THRESHOLD", "pause", "resume"]

START_UP_THRESHOLD = 100_000
"""Allocations between collections of the youngest generation while paused (default: 700)."""

_paused: tuple[int, int, int] | None = None
"""The thresholds :func:`pause` replaced, until :func:`resume` puts them back."""


def pause() -> None:
    """Collect rarely until :func:`resume` (a collector switched off stays off)."""
    global _paused
    thresholds = gc.get_threshold()
    if _paused is None and thresholds[0] > 0:
        _paused = thresholds
        gc.set_threshold(max(START_UP_THRESHOLD, thresholds[0]), thresholds[1], thresholds[2])


def resume() -> None:
    """After :func:`pause`: freeze what is alive and put the thresholds back; else nothing."""
    global _paused
    if _paused is not None:
        thresholds, _paused = _paused, None
        gc.freeze()
        gc.set_threshold(*thresholds)
