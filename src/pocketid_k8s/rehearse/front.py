"""A TLS front on loopback standing in for Traefik: it terminates TLS for the Ingress hosts,
sets X-Forwarded-For/Proto/Host as Traefik does, and either proxies to the program or, for a
host whose Ingress goes through a redirect Middleware, redirects to APP_URL.
"""

from __future__ import annotations

import http.server
import socket
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any, Final

from pocketid_k8s.remote import RemoteError, fetch, http_client

__all__ = ["Front"]

HANDSHAKE_SECONDS = 15
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "upgrade"})
UPSTREAM_DEADLINE: Final = 10.0
"""Seconds for the program's whole answer to one proxied request."""
UPSTREAM_MAX_BYTES: Final = 16 * 1024 * 1024
"""The most of the program's answer the front holds (its web UI's largest file is far less)."""


@dataclass
class Front:
    backend_port: int
    context: ssl.SSLContext
    redirects: dict[str, str] = field(default_factory=dict)
    """host -> the URL that host redirects to (path kept)."""

    def __post_init__(self) -> None:
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 15  # an idle kept-alive connection does not hold a thread forever

            def log_message(self, format: str, *args: object) -> None:
                return

            def _forward(self) -> None:
                host = (self.headers.get("Host") or "").split(":")[0].lower()
                if host in front.redirects:
                    self.send_response(308)
                    self.send_header("Location", front.redirects[host] + self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                headers["X-Forwarded-For"] = self.client_address[0]
                headers["X-Real-Ip"] = self.client_address[0]
                headers["X-Forwarded-Proto"] = "https"
                headers["X-Forwarded-Host"] = self.headers.get("Host") or ""
                try:
                    with http_client(verify=False, trust_env=False) as client:
                        answer = fetch(
                            client,
                            self.command,
                            f"http://127.0.0.1:{front.backend_port}{self.path}",
                            deadline=UPSTREAM_DEADLINE,
                            max_body=UPSTREAM_MAX_BYTES,
                            content=body,
                            headers=headers,
                        )
                except RemoteError as exc:  # Traefik answers 502 when the backend fails
                    self.send_error(502, "Bad Gateway", exc.reason)
                    return
                self.send_response(answer.status)
                for key, value in answer.headers:
                    if key not in HOP_BY_HOP and key != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.context = self.context
        self.port: int = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        if self._thread.is_alive():
            self.server.shutdown()
        self.server.server_close()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    """Closing (at the end, or on Ctrl-C) never waits for a connection still open."""
    context: ssl.SSLContext

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept, and leave the TLS handshake to the connection's own thread: a client
        that connects and stays silent never holds the accepting loop (nor its shutdown)."""
        connection, address = self.socket.accept()
        connection.settimeout(HANDSHAKE_SECONDS)
        wrapped = self.context.wrap_socket(
            connection, server_side=True, do_handshake_on_connect=False
        )
        return wrapped, address

    def finish_request(self, request: Any, client_address: Any) -> None:  # noqa: ANN401
        if isinstance(request, ssl.SSLSocket):
            request.do_handshake()
        super().finish_request(request, client_address)

    def handle_error(self, request: object, client_address: object) -> None:
        """A connection cut (the browser side gave up, the program was stopped) is that
        request's failure, seen by the browser side; never a traceback on the terminal."""
