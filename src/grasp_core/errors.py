"""The one exception tree of GraSP.

Every error a user can meet is a :class:`GraspError`. Subclasses also inherit the
builtin a caller would already catch (``ConfigError`` is a ``ValueError``), so code
written against plain Python keeps working. Messages are lowercase, show the bad value
with ``!r``, say where it came from and what to do.
"""

from __future__ import annotations

__all__ = [
    "ClusterConnectionError",
    "CompileError",
    "ConfigError",
    "GraspError",
    "MissingDependencyError",
    "ModelCallError",
    "NodeError",
    "OutputWriteError",
    "PluginError",
    "PostProcessError",
    "RecordError",
    "RejectedRequestError",
    "ResumeError",
    "RetryableModelError",
    "ShardFailedError",
    "SinkError",
    "SourceError",
    "StopRunError",
]


class GraspError(Exception):
    """Root of every error raised by GraSP."""


class ConfigError(GraspError, ValueError):
    """A task file, models file or option is invalid; raised before any record runs."""


class CompileError(ConfigError):
    """The graph in ``graph_config`` cannot be compiled (unknown node, unreachable node...)."""


class PluginError(ConfigError, LookupError):
    """A node type, source, sink or dotted path cannot be found or imported."""


class MissingDependencyError(GraspError, ImportError):
    """An optional extra (Ray, Graphviz...) is needed but not installed; says what to install."""


class ResumeError(GraspError, RuntimeError):
    """A run cannot be resumed (changed task, unreadable journal, existing output)."""


class StopRunError(GraspError, RuntimeError):
    """A plugin found that the run cannot go on (a provider refusing to let a paid batch be
    collected): the run stops with this one line, and the records in flight stay
    unfinished, for ``--resume`` to pick up once the cause is fixed."""


def stop_in(exc: BaseException) -> StopRunError | None:
    """The :class:`StopRunError` that ``exc`` is, or holds (raised in a task group)."""
    while isinstance(exc, BaseExceptionGroup):
        found = exc.subgroup(StopRunError)
        if found is None:
            return None
        exc = found.exceptions[0]
    return exc if isinstance(exc, StopRunError) else None


class ShardFailedError(GraspError, RuntimeError):
    """With the Ray executor, shards failed for good; the message names each with its journal."""


class ClusterConnectionError(GraspError, ConnectionError):
    """With the Ray executor, the cluster cannot be joined (nothing answers at the address,
    it refuses our auth token) or a local one cannot be started; says what to do."""


class SourceError(GraspError, OSError):
    """A data source cannot be opened or read."""


class SinkError(GraspError, OSError):
    """A sink cannot be opened, written or finalized."""


class OutputWriteError(SinkError):
    """A run's output (a sink, the journal, the summary) cannot be written: the disk is full,
    or the folder is read-only. What was committed is kept; the message says what to free or
    fix before ``--resume``. ``__cause__`` is the operating system's error."""


class PostProcessError(GraspError, RuntimeError):
    """A post-process step failed over a finished output. The generation's output is left
    as it was; the message names the step and how to run the steps again."""


class RecordError(GraspError, RuntimeError):
    """One record failed; the run goes on and the record lands in the failures file.

    ``node`` names the node that failed, when there is one.
    """

    def __init__(self, message: str, *, node: str | None = None) -> None:
        super().__init__(message)
        self.node = node


class NodeError(RecordError):
    """A node raised or returned something it may not (bad keys, missing template variable)."""


class ModelCallError(RecordError):
    """A model call failed for good (after retries, or on a non-retryable error).

    ``status`` is the HTTP status when there was one; ``attempts`` counts every try.
    ``kind`` is how the failure is counted in the metrics, set where the transport's error
    is translated: the HTTP status (``"429"``), else ``"timeout"``, ``"connection"`` or
    ``"bad_response"`` (by default from ``status``, and never from the message text).
    """

    def __init__(
        self,
        message: str,
        *,
        node: str | None = None,
        status: int | None = None,
        attempts: int = 1,
        kind: str | None = None,
    ) -> None:
        super().__init__(message, node=node)
        self.status = status
        self.attempts = attempts
        self.kind = kind if kind is not None else self._default_kind(status)

    def _default_kind(self, status: int | None) -> str:
        if status == 408:
            return "timeout"
        if status is not None:
            return str(status)
        return type(self).__name__


class RejectedRequestError(ModelCallError):
    """The server refused the request itself (a 4xx such as 400 or 422, or a 500 whose body
    calls the request invalid): sending it again cannot help, so it is never retried and
    never counts toward a backend's circuit breaker."""


class RetryableModelError(ModelCallError):
    """A model call failed in a way worth retrying (429, 5xx, timeout, dropped connection).

    ``retry_after`` is the server's ``Retry-After`` in seconds, when it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        node: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        kind: str | None = None,
    ) -> None:
        super().__init__(message, node=node, status=status, kind=kind)
        self.retry_after = retry_after

    def _default_kind(self, status: int | None) -> str:
        return super()._default_kind(status) if status is not None else "bad_response"
