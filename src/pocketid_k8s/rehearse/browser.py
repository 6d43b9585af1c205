"""A small HTTPS client playing the browser: every host resolves to the TLS front on loopback,
certificates are checked against the throwaway CA, cookies are kept per host.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode, urlsplit

__all__ = ["Browser", "Response"]


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:  # noqa: ANN401 - JSON
        return json.loads(self.body)

    def error(self) -> str:
        """The program's error message, short, for a report."""
        try:
            doc = self.json()
        except ValueError:
            return f"HTTP {self.status}"
        message = doc.get("error") if isinstance(doc, dict) else None
        return f"HTTP {self.status}: {str(message or doc)[:200]}"


class _Connection(http.client.HTTPSConnection):
    """TLS to ``host`` (SNI and certificate name) over a socket to the front's loopback port."""

    def __init__(self, host: str, front_port: int, context: ssl.SSLContext) -> None:
        super().__init__(host, 443, context=context, timeout=10)
        self._front_port = front_port
        self._context = context

    def connect(self) -> None:
        raw = socket.create_connection(("127.0.0.1", self._front_port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


@dataclass
class Browser:
    front_port: int
    context: ssl.SSLContext
    cookies: dict[str, dict[str, str]] = field(default_factory=dict)
    """host -> cookie name -> value."""

    def request(
        self,
        method: str,
        url: str,
        *,
        json_body: object = None,
        form: dict[str, str] | None = None,
        origin: str | None = None,
    ) -> Response:
        parts = urlsplit(url)
        host = parts.hostname or ""
        headers = {"User-Agent": "pocketid-k8s-rehearse", "Accept": "application/json"}
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if origin:
            headers["Origin"] = origin
        jar = self.cookies.setdefault(host, {})
        if jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        connection = _Connection(host, self.front_port, self.context)
        try:
            path = parts.path or "/"
            connection.request(
                method, path + (f"?{parts.query}" if parts.query else ""), body, headers
            )
            response = connection.getresponse()
            data = response.read()
            for header in response.headers.get_all("Set-Cookie") or []:
                cookie: SimpleCookie = SimpleCookie()
                cookie.load(header)
                for name, morsel in cookie.items():
                    if morsel.value and morsel["max-age"] not in ("0", "-1"):
                        jar[name] = morsel.value
                    else:
                        jar.pop(name, None)
            return Response(response.status, dict(response.getheaders()), data)
        finally:
            connection.close()
