"""A small HTTPS client playing the browser: every host resolves to the TLS front on loopback,
certificates are checked against the throwaway CA, cookies are kept per host. Requests go
through the bounded reader (remote.fetch): 10 s and 1 MiB per answer, JSON within limits.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any, Final
from urllib.parse import urlencode, urlsplit

__all__ = ["Browser", "Response"]

DEADLINE: Final = 10.0
"""Seconds for one request in all (the program answers in milliseconds)."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    """Header names in lower case (the first value of each)."""
    body: bytes

    def json(self) -> Any:  # noqa: ANN401 - JSON
        """The body as JSON (remote.parse_json): BadJson when it is not JSON within limits."""
        from pocketid_k8s.remote import parse_json

        return parse_json(self.body, "the program's answer")

    def error(self) -> str:
        """The program's error message, short, for a report."""
        from pocketid_k8s.remote import BadJson

        try:
            doc = self.json()
        except BadJson:
            return f"HTTP {self.status}"
        message = doc.get("error") if isinstance(doc, dict) else None
        return f"HTTP {self.status}: {str(message or doc)[:200]}"


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
        """``method`` ``url`` through the front: RemoteError when no whole answer comes."""
        from pocketid_k8s.remote import fetch, http_client

        parts = urlsplit(url)
        host = parts.hostname or ""
        headers = {
            "Host": host,
            "User-Agent": "pocketid-k8s-rehearse",
            "Accept": "application/json",
        }
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
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # every host is the front on loopback; TLS names (SNI, certificate) are the host's
        with http_client(verify=self.context, trust_env=False) as client:
            answer = fetch(
                client,
                method,
                f"https://127.0.0.1:{self.front_port}{path}",
                deadline=DEADLINE,
                content=body,
                headers=headers,
                extensions={"sni_hostname": host},
            )
        for header in answer.header_list("set-cookie"):
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(header)
            except CookieError:
                continue  # a browser ignores a cookie it cannot parse
            for name, morsel in cookie.items():
                if morsel.value and morsel["max-age"] not in ("0", "-1"):
                    jar[name] = morsel.value
                else:
                    jar.pop(name, None)
        first: dict[str, str] = {}
        for key, value in answer.headers:
            first.setdefault(key, value)
        return Response(answer.status, first, answer.body)
