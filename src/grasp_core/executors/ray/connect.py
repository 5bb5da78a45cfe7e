"""The driver's Ray session: join the cluster at an address, or start a local one that ends
with the driver; a cluster that cannot be reached (or refuses us) is one clear error.

``ray.init`` on its own waits about 20 s for an address where nothing answers (longer for a
host that drops packets) and then raises a bare ``ConnectionError``, with the reason (say, a
missing auth token) only in its logs. Here the address is tried with a plain TCP connection
first, Ray's own wait is bounded, and every failure of ``ray.init`` becomes a
:class:`ClusterConnectionError` naming the address, the reason and what to do.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

from grasp_core.errors import ClusterConnectionError
from grasp_core.executors.ray.reaper import ClusterReaper

__all__ = ["CONNECT_SECONDS", "Session", "cluster_address", "connected"]

CONNECT_SECONDS = 10.0
"""How long the TCP check waits for the head's port to answer."""
GCS_TRIES = 5
"""Calls of ``ray.init`` (each one try, about a second) once the head's port answers, unless
``$RAY_gcs_server_port_wait_time_s`` sets Ray's own number of tries (its default is 20)."""
_WAIT_VARIABLE = "RAY_gcs_server_port_wait_time_s"
_AUTH_SIGNS = ("AuthenticationError", "InvalidAuthToken", "Unauthenticated")
_TOKEN_HINT = (
    "the cluster's token must be here too: in ~/.ray/auth_token, or $RAY_AUTH_TOKEN, or a "
    "file named by $RAY_AUTH_TOKEN_PATH (`ray get-auth-token` on the head prints it)"
)
_RAY_INIT = {"include_dashboard": False, "log_to_driver": False}


@dataclass(frozen=True)
class Session:
    """The driver's Ray session."""

    cpus: float
    """The cluster's CPU count (the default number of shards)."""
    owned: bool
    """True when this run opened the session, and closes it at the end."""


def cluster_address(address: str | None) -> str | None:
    """The cluster to join: ``address`` (``--ray-address``), else ``$RAY_ADDRESS``; ``None``
    means start a local cluster (never a cluster some earlier ``ray start`` left running)."""
    return address or os.environ.get("RAY_ADDRESS") or None


@contextmanager
def connected(ray: Any, address: str | None, handle_signals: bool) -> Iterator[Session]:
    """Join the cluster at ``address`` (see :func:`cluster_address`) or start a local one;
    yield the :class:`Session`. A session this call opened is closed at the end; a local cluster
    it started is stopped, and ends with this process even if it is killed (see
    :class:`ClusterReaper`).

    With ``handle_signals`` (the CLI), SIGTERM stops the run as Ctrl-C does, instead of
    Ray's handler (set by ``ray.init``: exit 1 with a native stack dump); the handler from
    before is restored at the end."""
    catch = handle_signals and threading.current_thread() is threading.main_thread()
    before = signal.getsignal(signal.SIGTERM) if catch else None
    ours = not ray.is_initialized()
    target = cluster_address(address)
    with ExitStack() as stack:
        if catch:
            restore = signal.SIG_DFL if before is None else before
            stack.callback(signal.signal, signal.SIGTERM, restore)
        if ours:
            if target is None:
                _start_local(ray, stack)
            else:
                _join(ray, target)
            stack.callback(ray.shutdown)
        if catch:
            signal.signal(signal.SIGTERM, _interrupt)
        yield Session(float(ray.cluster_resources().get("CPU", 1.0)), owned=ours)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def _start_local(ray: Any, stack: ExitStack) -> None:
    """Start a local cluster for this run; its processes carry the reaper's mark."""
    reaper = stack.enter_context(ClusterReaper.start())
    try:
        with reaper.marking():
            context = ray.init(address="local", **_RAY_INIT)
    except Exception as exc:
        raise ClusterConnectionError(
            f"cannot start a local Ray cluster: {_first_line(exc)}; check free memory and "
            "disk space in the temp folder ($RAY_TMPDIR, else /tmp), or join a running "
            "cluster with --ray-address"
        ) from exc
    session = getattr(context, "address_info", {}).get("session_dir")
    if session:
        reaper.watch(session, os.path.dirname(ray.__file__))


def _join(ray: Any, target: str) -> None:
    """``ray.init`` at ``target``, once its port answers at all: one try at a time, so a
    refused token ends it at once (Ray would try it again for 20 s, logging each)."""
    _check_port(target)
    own_budget = _WAIT_VARIABLE in os.environ
    tries = 1 if own_budget else GCS_TRIES
    for attempt in range(1, tries + 1):
        if not own_budget:
            os.environ[_WAIT_VARIABLE] = "1"
        try:
            ray.init(address=target, **_RAY_INIT)
            return
        except ConnectionError as exc:
            if attempt == tries or _is_auth_failure(exc):
                raise _refused(target, exc) from exc
        except Exception as exc:
            raise _refused(target, exc) from exc
        finally:
            if not own_budget:
                del os.environ[_WAIT_VARIABLE]


def _check_port(target: str) -> None:
    """Fail at once (within :data:`CONNECT_SECONDS`) when nothing answers at ``target``
    (``host:port``; other forms, such as ``auto`` or ``ray://``, are left to Ray)."""
    host, _, port = target.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or "/" in host:
        return
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS):
            return
    except socket.gaierror as exc:
        reason = f"the host name {host!r} is unknown ({exc.strerror})"
    except TimeoutError:
        reason = f"nothing answered within {CONNECT_SECONDS:g} s"
    except ConnectionRefusedError:
        reason = f"nothing listens on port {port} of {host}"
    except OSError as exc:
        reason = exc.strerror or str(exc)
    raise ClusterConnectionError(
        f"cannot connect to the Ray cluster at {target}: {reason}; start the head with "
        "`ray start --head --port PORT` (it prints the address to pass), check the address "
        "and that this machine can reach it, or drop --ray-address (and $RAY_ADDRESS) to "
        "start a local cluster"
    )


def _refused(target: str, exc: BaseException) -> ClusterConnectionError:
    """What ``ray.init`` failing at ``target`` means, and what to do."""
    if not _is_auth_failure(exc):
        return ClusterConnectionError(
            f"cannot connect to the Ray cluster at {target}: {_reason(exc)}; check that "
            "the address is the head's (`ray start --head` prints it), that the head runs "
            "the same Ray and Python versions as this machine, and that it is up (`ray "
            "status` on the head)"
        )
    if "no authentication token was found" in str(exc):
        return ClusterConnectionError(
            f"cannot connect to the Ray cluster at {target}: RAY_AUTH_MODE=token, but no "
            f"token was found here; {_TOKEN_HINT}"
        )
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "token":
        return ClusterConnectionError(
            f"cannot connect to the Ray cluster at {target}: it refused this machine's auth "
            f"token; {_TOKEN_HINT}"
        )
    return ClusterConnectionError(
        f"cannot connect to the Ray cluster at {target}: it requires token authentication; "
        f"set RAY_AUTH_MODE=token where grasp runs, and {_TOKEN_HINT}"
    )


def _is_auth_failure(exc: BaseException) -> bool:
    """True when ``exc`` or an exception behind it says the cluster refused our token
    (Ray puts the reason in the text of the exceptions it chains, not in their types)."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if any(sign in f"{type(seen).__name__}: {seen}" for sign in _AUTH_SIGNS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _reason(exc: BaseException) -> str:
    """The deepest reason Ray gives: the last exception it chained (whose text may end a
    formatted traceback: then its last line)."""
    while (behind := exc.__cause__ or exc.__context__) is not None:
        exc = behind
    text = str(exc)
    if "Traceback (most recent call last)" in text:
        return text.strip().splitlines()[-1].strip()
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
