"""Host names and IP literals in URLs: an IPv6 literal is written in brackets
(RFC 3986, ``https://[::1]:8443/``), which ``urlsplit().hostname`` removes."""

from __future__ import annotations

import ipaddress

__all__ = ["is_ip", "url_host"]


def is_ip(host: str) -> bool:
    """Whether ``host`` (without brackets) is an IPv4 or IPv6 literal."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def url_host(host: str, port: int | None = None) -> str:
    """``host`` (and ``:port``) as written in a URL: an IPv6 literal in brackets."""
    shown = f"[{host}]" if ":" in host and is_ip(host.partition("%")[0]) else host
    return shown if port is None else f"{shown}:{port}"
