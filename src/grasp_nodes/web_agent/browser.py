"""Finding and starting Chromium through Playwright, the web agent's one optional dependency.

Playwright's sync API is used, in the worker thread that owns a record's browser: it runs
under asyncio and trio alike (its async API needs asyncio), and a browser's objects never
leave the thread that made them. Playwright's errors are translated here, at one boundary.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from grasp_core.errors import ConfigError, RecordError

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from grasp_nodes.web_agent.stopper import Stopper

__all__ = [
    "BROWSER_ENV",
    "EXTRA",
    "BrowserOptions",
    "check_bundled_browser",
    "find_browser",
    "first_line",
    "open_page",
    "require_playwright",
]

EXTRA: Final = "pip install 'grasp-sdg[web]'"
"""How to install what the web agent needs."""
BROWSER_ENV: Final = "GRASP_BROWSER"
"""The environment variable naming the browser executable."""
_SYSTEM_BROWSERS: Final = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_FLAGS: Final = (
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)
"""Chromium's flags: no GPU, no calls home (on a closed network they fail, many at a time),
and /tmp rather than a small /dev/shm in containers."""


def require_playwright(node: str) -> None:
    """Raise a one-line ``ConfigError`` naming the extra when Playwright is not installed."""
    try:
        import playwright.sync_api  # noqa: F401 -- checked here, used in the worker thread
    except ImportError as exc:
        raise ConfigError(
            f"node {node!r}: the web_agent node type drives a browser through Playwright, "
            f"which is not installed; install it with {EXTRA}"
        ) from exc


def find_browser(node: str, configured: str | None) -> str | None:
    """The browser executable: ``configured``, else ``$GRASP_BROWSER``, else the system's
    Chromium or Chrome; None when there is none (Playwright's own browser is tried).

    A path that is given but is not an executable file is a ``ConfigError``.
    """
    for given, where in ((configured, "browser_executable"), (os.environ.get(BROWSER_ENV), None)):
        if not given:
            continue
        found = shutil.which(given)
        if found is None:
            origin = f"`{where}`" if where else f"${BROWSER_ENV}"
            raise ConfigError(
                f"node {node!r}: {origin} is {given!r}, which is not an executable file; "
                "give the path of Chromium or Chrome (Debian: apt-get install chromium)"
            )
        return found
    for name in _SYSTEM_BROWSERS:
        found = shutil.which(name)
        if found is not None:
            return found
    return None


def check_bundled_browser(node: str) -> None:
    """Refuse, in one line, a run with neither a system browser nor Playwright's own."""
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API refuses an event loop's thread
        bundled = Path(pool.submit(_bundled_path).result())
    if not bundled.is_file():
        raise ConfigError(
            f"node {node!r}: no browser found: set `browser_executable` or ${BROWSER_ENV} to "
            "Chromium's path, install the system's (Debian: apt-get install chromium), or "
            "Playwright's (python -m playwright install chromium)"
        )


def _bundled_path() -> str:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        return playwright.chromium.executable_path


class BrowserOptions:
    """How to start one browser, fixed at build time."""

    def __init__(
        self,
        *,
        executable: str | None,
        headless: bool,
        slow_mo: int,
        viewport: tuple[int, int],
        extra_args: list[str],
        navigation_timeout: float,
        action_timeout: float,
    ) -> None:
        self.executable = executable
        self.headless = headless
        self.slow_mo = slow_mo if not headless else 0
        self.viewport = viewport
        self.navigation_timeout_ms = navigation_timeout * 1000
        self.action_timeout_ms = action_timeout * 1000
        flags = list(_FLAGS)
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            flags.append("--no-sandbox")  # Chromium refuses to start as root with its sandbox
        self.args = [*flags, *extra_args]

    def launch_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of Playwright's ``chromium.launch``."""
        kwargs: dict[str, Any] = {
            "headless": self.headless,
            "slow_mo": self.slow_mo,
            "args": self.args,
        }
        if self.executable is not None:
            kwargs["executable_path"] = self.executable
        return kwargs


def _browser_pid(browser: Any) -> int | None:
    """The browser process's id, from Chromium's DevTools protocol; None if it won't say."""
    from playwright.sync_api import Error

    try:
        session = browser.new_browser_cdp_session()
        info = session.send("SystemInfo.getProcessInfo")
        session.detach()
    except Error:
        return None
    pids = [p.get("id") for p in info.get("processInfo", []) if p.get("type") == "browser"]
    return pids[0] if pids and isinstance(pids[0], int) else None


@contextmanager
def open_page(
    options: BrowserOptions, stopper: Stopper, *, record_id: str, node: str
) -> Iterator[Page]:
    """A fresh browser (its own profile: no cookies shared between records) with one page;
    closed when the block ends, however it ends, and killed by ``stopper`` meanwhile. A
    browser that cannot start fails the record with Playwright's first line."""
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(**options.launch_kwargs())
        except Error as exc:
            raise RecordError(
                f"record {record_id!r}, node {node!r}: the browser did not start: "
                f"{first_line(exc)}; check `browser_executable` (or ${BROWSER_ENV})",
                node=node,
            ) from exc
        try:
            stopper.arm(_browser_pid(browser))
            width, height = options.viewport
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            page.set_default_timeout(options.action_timeout_ms)
            page.set_default_navigation_timeout(options.navigation_timeout_ms)
            yield page
        finally:
            with suppress(Error):  # a browser killed by the stopper, or that crashed
                browser.close()
            stopper.disarm()


def first_line(exc: BaseException) -> str:
    """The first line of a Playwright error (the rest is its call log)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
