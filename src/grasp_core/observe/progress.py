"""Live progress of a run: a rich display on a terminal, JSON lines elsewhere.

The reporter is a task beside the engine that reads counters the engine, the metrics and
the backends keep anyway (no locks, no callbacks on the hot path) a few times a second on a
terminal, or every few seconds in logs. It renders once more when the run ends.

The record total is known at once for a data-less run; for a source it is counted beside the
run, in a thread (:class:`RecordTotal`), where the source can tell cheaply, and shown as
unknown until then, or for good when it cannot.
"""

from __future__ import annotations

import datetime
import json
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import anyio

from grasp_core.logs import get_logger

__all__ = ["ProgressMode", "ProgressReporter", "ProgressSnapshot", "RecordTotal", "resolve_mode"]

ProgressMode = Literal["rich", "json"]
_TTY_INTERVAL = 0.25
_LOG_INTERVAL = 10.0
_log = get_logger(__name__)


class RecordTotal:
    """How many records the run sees in all: ``known`` at once, or learned by ``count`` (a
    blocking call that may read a whole file) in a thread beside the run."""

    def __init__(
        self, known: int | None = None, count: Callable[[], int | None] | None = None
    ) -> None:
        self.value = known
        self.counting = known is None and count is not None
        """Still being counted (unknown so far, perhaps known soon)."""
        self._count = count

    async def learn(self) -> None:
        """Start counting. The count runs in a daemon thread, not a worker thread of the
        event loop: a run that ends first neither waits for it nor keeps the process alive
        until it is done (the total then stays unknown)."""
        if self.counting:
            threading.Thread(target=self._learn, name="grasp record count", daemon=True).start()

    def _learn(self) -> None:
        assert self._count is not None
        try:
            self.value = self._count()
        except Exception as exc:  # progress never stops a run: the total stays unknown
            _log.debug("the records could not be counted for progress", error=str(exc))
        finally:
            self.counting = False


@dataclass(frozen=True, slots=True)
class ProgressSnapshot:
    """What the run has done so far."""

    done: int
    failed: int
    filtered: int
    earlier: int
    """Records finished by an earlier run of the journal (skipped now)."""
    in_flight: int
    total: int | None
    """Records the run will see in all (earlier ones included), when known."""
    elapsed: float
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    backends: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per backend: ``in_flight`` and its current adaptive ``limit``."""
    counting: bool = False
    """The total is unknown so far and being counted."""
    cache_hits: int = 0
    """Calls the response cache answered so far, and those it did not hold."""
    cache_misses: int = 0
    saved_usd: float = 0.0
    """What the cache's hits would have cost (priced models)."""
    batches: dict[str, Any] = field(default_factory=dict)
    """Batched models (batch mode): ``parked`` requests, and ``batches`` by state."""

    @property
    def processed(self) -> int:
        return self.done + self.failed + self.filtered

    @property
    def rate(self) -> float:
        """Records finished per second by this run."""
        return self.processed / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left, when the total is known and records are finishing."""
        if self.total is None or self.rate <= 0:
            return None
        return max(0, self.total - self.earlier - self.processed) / self.rate

    def as_fields(self) -> dict[str, Any]:
        """The snapshot as flat log fields."""
        eta = self.eta
        return {
            "done": self.done,
            "failed": self.failed,
            "filtered": self.filtered,
            "earlier": self.earlier,
            "in_flight": self.in_flight,
            "total": self.total,
            "rate_per_s": round(self.rate, 2),
            "eta_s": round(eta, 1) if eta is not None else None,
            "elapsed_s": round(self.elapsed, 2),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": self.cost_usd,
            "cache_hits": self.cache_hits,
            "cache_misses": self.cache_misses,
            "saved_usd": self.saved_usd,
            "backends": self.backends,
            **({"batches": self.batches} if self.batches else {}),
        }


class _Display(Protocol):
    def show(self, snapshot: ProgressSnapshot, *, final: bool) -> None: ...

    def close(self) -> None: ...


def resolve_mode(progress: bool | str) -> ProgressMode | None:
    """``False``/``"off"``: none; ``True``/``"auto"``: rich on a terminal, JSON lines
    otherwise; ``"rich"`` or ``"json"``: that one."""
    if progress is False or progress == "off":
        return None
    if progress is True or progress == "auto":
        return "rich" if sys.stderr.isatty() else "json"
    if progress in ("rich", "json"):
        return progress  # type: ignore[return-value]
    from grasp_core.errors import ConfigError

    raise ConfigError(
        f"progress must be True, False, 'auto', 'rich', 'json' or 'off', got {progress!r}"
    )


class ProgressReporter:
    """Renders ``read()`` every ``interval`` seconds until cancelled, then once more."""

    def __init__(
        self,
        mode: ProgressMode,
        read: Callable[[float], ProgressSnapshot],
        *,
        interval: float | None = None,
    ) -> None:
        self.read = read
        self.interval = interval or (_TTY_INTERVAL if mode == "rich" else _LOG_INTERVAL)
        self.display: _Display = _RichDisplay() if mode == "rich" else _JsonDisplay()
        self.started = time.monotonic()

    async def run(self) -> None:
        """Report until cancelled (the runner cancels it when the engine returns)."""
        try:
            while True:
                self.display.show(self.read(time.monotonic() - self.started), final=False)
                await anyio.sleep(self.interval)
        finally:
            self.display.show(self.read(time.monotonic() - self.started), final=True)
            self.display.close()


class _JsonDisplay:
    """One JSON line per report on stderr, whatever the configured log level.

    The line is the one structlog's JSON renderer wrote here before (the snapshot's fields,
    then ``event``, ``level`` and an ISO UTC ``timestamp``), written directly: a run off a
    terminal would otherwise import structlog, and the rich it imports, for it (~60 ms of
    CPU, more than a short run's records cost)."""

    def __init__(self) -> None:
        self._stream = sys.stderr

    def show(self, snapshot: ProgressSnapshot, *, final: bool) -> None:
        now = datetime.datetime.now(tz=datetime.UTC).isoformat().replace("+00:00", "Z")
        line = {"final": final, **snapshot.as_fields()}
        line.update(event="progress", level="info", timestamp=now)
        # the line and its newline in one write, never split by another thread's output
        self._stream.write(json.dumps(line, default=repr) + "\n")
        self._stream.flush()

    def close(self) -> None:
        """Nothing to release."""


class _RichDisplay:
    """A live panel on stderr, redrawn in place (refreshed by the reporter, not a thread)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.live import Live

        self._live = Live(console=Console(stderr=True), auto_refresh=False, transient=False)
        self._live.start()

    def show(self, snapshot: ProgressSnapshot, *, final: bool) -> None:
        self._live.update(_render(snapshot), refresh=True)

    def close(self) -> None:
        self._live.stop()


def _render(s: ProgressSnapshot) -> Any:
    from rich.progress_bar import ProgressBar
    from rich.table import Table

    from grasp_core.models.pricing import format_dollars

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    finished = s.earlier + s.processed
    if s.total is not None:
        count = f"{finished}/{s.total}"
    else:
        count = f"{finished}/? ({'counting' if s.counting else 'total unknown'})"
    row = f"{count}  done {s.done}  failed {s.failed}  filtered {s.filtered}"
    row += f"  in flight {s.in_flight}" + (f"  earlier {s.earlier}" if s.earlier else "")
    grid.add_row("records", row)
    if s.total:
        grid.add_row("", ProgressBar(total=s.total, completed=finished, width=40))
    eta = s.eta
    pace = f"{s.rate:.1f}/s  elapsed {_clock(s.elapsed)}"
    grid.add_row("rate", pace + (f"  ETA {_clock(eta)}" if eta is not None else ""))
    grid.add_row(
        "tokens",
        f"{s.prompt_tokens:,} in  {s.completion_tokens:,} out  cost {format_dollars(s.cost_usd)}",
    )
    if s.cache_hits or s.cache_misses:
        saved = format_dollars(s.saved_usd)
        grid.add_row("cache", f"{s.cache_hits:,} hits  {s.cache_misses:,} misses  saved {saved}")
    for name, load in s.backends.items():
        grid.add_row(f"backend {name}", f"in flight {load['in_flight']}  limit {load['limit']}")
    if s.batches:
        states = "".join(f"  {state} {n}" for state, n in s.batches.get("batches", {}).items())
        held = s.batches.get("held", 0)
        parked = f"parked {s.batches.get('parked', 0)}" + (f" (held {held})" if held else "")
        grid.add_row("batches", parked + states)
    return grid


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"
