"""Bounded, cached fetching of remote media (``http``/``https`` only).

One :class:`RemoteFetcher` lives for a run. A URL is fetched at most once at a time: records
asking for a URL already on its way wait for that download; a finished download is kept in
a least-recently-used cache bounded by total bytes. Each download streams and stops as
soon as it passes the size limit, and has a deadline for the whole transfer.

httpx, not aiohttp: it runs under both asyncio and trio (through anyio), as the engine does.
It is imported by the first download, not with this module: every run with an ``llm`` node
loads the media resolver, and few of them fetch anything.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import anyio
import anyio.to_thread

from grasp_core.errors import RecordError
from grasp_io.media._local import check_size
from grasp_io.media._media import Media
from grasp_io.media._sniff import sniff

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_CACHE_BYTES",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT",
    "FetchLimits",
    "RemoteFetcher",
    "redact_url",
]

DEFAULT_CACHE_BYTES = 256 * 1024 * 1024
_SCHEMES = ("http", "https")
_MAX_REDIRECTS = 5
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_TIMEOUT = 30.0
_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]{0,15}")
_URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """How much one media value may weigh and how long a download may take."""

    max_bytes: int = DEFAULT_MAX_BYTES
    """Largest media value in bytes (remote downloads stop reading past it)."""
    timeout: float = DEFAULT_TIMEOUT
    """Seconds for a whole download: connecting, headers and body."""


def redact_url(url: str) -> str:
    """``url`` without credentials, query or fragment (they may carry tokens).

    A URL that cannot be parsed (a port that is not a number from 0 to 65535, a broken
    ``[IPv6]`` host) raises :class:`RecordError`, which shows only the URL's scheme and host.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        raise RecordError(
            f"the media URL {_scheme_of(url)}://... cannot be parsed: its host is malformed "
            "(an unclosed or invalid [IPv6] address?); fix the URL in the record"
        ) from None
    host = parts.hostname or ""
    try:
        port = parts.port
    except ValueError:
        raise RecordError(
            f"the media URL {parts.scheme}://{host}... cannot be parsed: its port is not a "
            "number from 0 to 65535; fix the URL in the record"
        ) from None
    if port is not None:
        host = f"{host}:{port}"
    hidden = "?..." if parts.query else ""
    return f"{parts.scheme}://{host}{parts.path}{hidden}"


def _scheme_of(url: str) -> str:
    scheme, separator, _ = url.partition(":")
    return scheme if separator and _SCHEME.fullmatch(scheme) else "?"


def _scrubbed(text: str, url: str) -> str:
    """``text`` (a foreign error's message) with every URL in it redacted, and the secret
    parts of ``url`` (credentials, query, fragment) removed wherever they appear."""
    parts = urlsplit(url)
    for secret in (parts.query, parts.fragment, parts.password, parts.username):
        if secret:
            text = text.replace(secret, "...")
    return _URL_IN_TEXT.sub(lambda match: _redacted_or_hidden(match.group()), text)


def _redacted_or_hidden(url: str) -> str:
    try:
        return redact_url(url)
    except RecordError:
        return "<a malformed URL>"


@dataclass(eq=False, slots=True)
class _Download:
    """A download in progress; records asking for the same URL wait for its outcome."""

    limits: FetchLimits
    done: anyio.Event = field(default_factory=anyio.Event)
    media: Media | None = None
    error: str | None = None
    """The failure's message (already redacted), shared with waiters under the same limits."""


class RemoteFetcher:
    """Downloads media for one run; :meth:`aclose` releases its connections."""

    def __init__(self, *, cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.cache_bytes = cache_bytes
        self.downloads = 0
        """How many downloads were started (cache hits and waits on one do not count)."""
        self._client: httpx.AsyncClient | None = None
        self._cache: OrderedDict[str, Media] = OrderedDict()
        self._cached_bytes = 0
        self._pending: dict[str, _Download] = {}

    async def fetch(self, url: str, limits: FetchLimits) -> Media:
        """The media at ``url``; a ``RecordError`` names the redacted URL and the reason.

        A record asking for a URL being downloaded waits for that download and shares its
        outcome: the media, or the failure when both ask under the same limits. Otherwise
        (the download was cancelled, or failed under other limits) it looks again.
        """
        what = f"media at {redact_url(url)}"
        check_scheme(url)
        while True:
            cached = self._cache.get(url)
            if cached is not None:
                self._cache.move_to_end(url)
                check_size(len(cached.data), limits.max_bytes, what)
                return cached
            pending = self._pending.get(url)
            if pending is None:
                break
            await pending.done.wait()
            if pending.media is not None:  # downloaded, maybe too big to cache
                check_size(len(pending.media.data), limits.max_bytes, what)
                return pending.media
            if pending.error is not None and pending.limits == limits:
                raise RecordError(pending.error)
        download = self._pending[url] = _Download(limits)
        try:
            download.media = await self._download(url, limits, what)
            self._remember(url, download.media)
            return download.media
        except RecordError as exc:
            download.error = str(exc)
            raise
        finally:
            if self._pending.get(url) is download:
                del self._pending[url]
            download.done.set()

    async def _download(self, url: str, limits: FetchLimits, what: str) -> Media:
        import httpx

        self.downloads += 1
        client = self._client or self._open()
        body = bytearray()
        try:
            with anyio.fail_after(limits.timeout):
                async with client.stream("GET", url) as response:
                    if response.status_code >= 400:
                        raise RecordError(
                            f"{what}: the server answered HTTP {response.status_code}; "
                            "check the URL"
                        )
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit():
                        check_size(int(declared), limits.max_bytes, what)
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        check_size(len(body), limits.max_bytes, what)
        except TimeoutError:
            raise RecordError(
                f"{what}: download took longer than {limits.timeout:g}s; raise the node's "
                "media.fetch_timeout or host the file closer"
            ) from None
        except httpx.TooManyRedirects:
            raise RecordError(f"{what}: more than {_MAX_REDIRECTS} redirects") from None
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            reason = _scrubbed(f"{type(exc).__name__}: {exc}", url)
            raise RecordError(f"{what}: download failed ({reason})") from None
        # The bytes decide the type: servers often send octet-stream or a wrong one.
        return await anyio.to_thread.run_sync(lambda: sniff(bytes(body), what=what))

    def _remember(self, url: str, media: Media) -> None:
        size = len(media.data)
        if size > self.cache_bytes:
            return
        self._cache[url] = media
        self._cached_bytes += size
        while self._cached_bytes > self.cache_bytes:
            _, evicted = self._cache.popitem(last=False)
            self._cached_bytes -= len(evicted.data)

    def _open(self) -> httpx.AsyncClient:
        import httpx

        self._client = httpx.AsyncClient(
            follow_redirects=True,
            max_redirects=_MAX_REDIRECTS,
            timeout=None,  # the whole download is bounded by fail_after instead
            trust_env=True,
        )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._cache.clear()
        self._cached_bytes = 0


def check_scheme(url: str) -> None:
    """Refuse a URL that is not ``http``/``https`` (or cannot be parsed) with a RecordError."""
    redact_url(url)
    scheme = urlsplit(url).scheme.lower()
    if scheme not in _SCHEMES:
        raise RecordError(
            f"media URL {redact_url(url)!r} uses the scheme {scheme!r}; only http and https "
            "are fetched. Use a path relative to the task folder for local files"
        )
