"""Which hosts a web agent may open: its start page's, then public ones (or those listed).

A model that reads web pages can be told by a page to open any URL, and a page's links,
redirects and scripts request URLs of their own. Without a rule, a browser on a cloud machine
reaches its metadata service (``169.254.169.254``), or the services listening on the machine
and its network. So by default, besides the record's own start host, the agent may open only
public addresses: a host that is (or whose name resolves to) a loopback, private, link-local,
shared or reserved address is refused, unless ``allow_private_hosts`` is set. With
``allowed_hosts``, only the hosts listed (and their subdomains, with ``*.``) may be opened.

A name is resolved when first seen in a session and its answer kept for the session: a
server that answers differently later (DNS rebinding) is not caught here.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["HostPolicy", "check_host_pattern"]

_LOCAL_NAMES = ("localhost", "localhost.localdomain")


def check_host_pattern(pattern: str) -> str:
    """``pattern`` lowered, or ValueError saying how a host pattern is written."""
    text = pattern.strip().lower().rstrip(".")
    bare = text.removeprefix("*.")
    if not bare or any(c in bare for c in "/:@?#* ") or "://" in pattern:
        raise ValueError(
            f"allowed_hosts entry {pattern!r} is not a host name: write a name or address "
            "such as 'example.com', or '*.example.com' for its subdomains (no scheme, port "
            "or path)"
        )
    return text


@dataclass
class HostPolicy:
    """Refuses the hosts a web agent may not open, for one record's session."""

    start_url: str
    allowed: Sequence[str] = ()
    """Lowered host patterns (empty: any host that passes the private-address rule)."""
    allow_private: bool = False
    _private: dict[str, bool] = field(default_factory=dict)

    def refusal(self, url: str) -> str | None:
        """Why ``url``'s host may not be opened, or None; for http(s) URLs."""
        host = _host(url)
        if host is None:
            return f"cannot open {url!r}: it names no host"
        if self.allowed:
            if any(_matches(host, pattern) for pattern in self.allowed):
                return None
            return (
                f"cannot open {url!r}: host {host!r} is not in the node's allowed_hosts "
                f"({', '.join(self.allowed)})"
            )
        if self.allow_private or host == _host(self.start_url) or not self._is_private(host):
            return None
        return (
            f"cannot open {url!r}: host {host!r} is a local or private-network address "
            "(set allow_private_hosts: true on the node to let the agent open it)"
        )

    def _is_private(self, host: str) -> bool:
        known = self._private.get(host)
        if known is None:
            known = self._private[host] = _private_host(host)
        return known


def _host(url: str) -> str | None:
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.rstrip(".") if host else None


def _matches(host: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern


def _private_host(host: str) -> bool:
    """Whether ``host`` is, or resolves to, an address that is not public. A name that does
    not resolve is not refused here: the browser fails to open it anyway."""
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    addresses = {str(entry[4][0]).split("%")[0] for entry in found}  # "%": an IPv6 zone
    return any(not ipaddress.ip_address(address).is_global for address in addresses)
