"""A hostile HTTP server on loopback (a test double of a broken or malicious web server):
plain HTTP, or TLS with a throwaway CA (trustme), answering every request with one chosen
misbehaviour: endless or dripped bodies and headers, bad status lines, gzip bombs, huge
integers, deep JSON, redirect loops, silence, a dropped or cut answer.

Raw sockets, so that it can break HTTP in ways a real server library would not allow.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from typing import Final

__all__ = ["BEHAVIOURS", "Behaviour", "HostileServer", "gzip_bomb"]

_CHUNK: Final = b"x" * 65536


class Behaviour(Enum):
    """What the server does once it has read a request. ``size`` is the behaviour's one
    parameter (bytes, digits, levels, ...); ``interval`` the seconds between dripped bytes."""

    ENDLESS_BODY = "endless-body"
    DRIP_BODY = "drip-body"
    DRIP_HEADERS = "drip-headers"
    ENDLESS_HEADERS = "endless-headers"
    BAD_STATUS = "bad-status-line"
    LONG_STATUS = "long-status-line"
    GZIP_BOMB = "gzip-bomb"
    HUGE_INT = "huge-integer"
    DEEP_JSON = "deep-json"
    REDIRECT_LOOP = "redirect-loop"
    SILENT = "silent"
    HANG_UP = "hang-up"
    CUT_BODY = "cut-body"
    UNKNOWN_ENCODING = "unknown-encoding"


BEHAVIOURS: Final = tuple(Behaviour)


@cache
def gzip_bomb(megabytes: int) -> bytes:
    """``megabytes`` MiB of zeros, gzipped (about 1000 times smaller)."""
    return gzip.compress(b"\0" * (megabytes * 1024 * 1024), compresslevel=9)


def _head(status: str = "200 OK", **headers: str) -> bytes:
    """A status line and headers; ``Connection: close`` unless said otherwise, since each
    connection serves one request (without it a client may send its next request on a
    connection this server is closing, and see a hang-up instead of the behaviour)."""
    headers.setdefault("connection", "close")
    lines = [f"HTTP/1.1 {status}", *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass
class HostileServer:
    """Serves ``behaviour`` on 127.0.0.1 (TLS when ``context`` is given) until stopped."""

    behaviour: Behaviour
    size: int = 1000
    interval: float = 0.05
    context: ssl.SSLContext | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    _listener: socket.socket | None = None
    _threads: list[threading.Thread] = field(default_factory=list)

    port: int = 0
    """The port it listens on (from ``with``; kept after it stops, to test a closed port)."""

    @property
    def url(self) -> str:
        scheme = "https" if self.context else "http"
        host = "localhost" if self.context else "127.0.0.1"
        return f"{scheme}://{host}:{self.port}"

    def __enter__(self) -> HostileServer:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = int(self._listener.getsockname()[1])
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        for thread in list(self._threads):
            thread.join(timeout=2)
        if self._listener is not None:
            self._listener.close()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self.stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.ExitStack() as stack:
            stack.enter_context(contextlib.suppress(OSError, ssl.SSLError))
            stack.enter_context(contextlib.closing(conn))
            conn.settimeout(2)
            sock: socket.socket = conn
            if self.context is not None:
                sock = stack.enter_context(self.context.wrap_socket(conn, server_side=True))
            request = b""
            while b"\r\n\r\n" not in request and len(request) < 65536:
                data = sock.recv(4096)
                if not data:
                    return
                request += data
            self._answer(sock, request.split(b" ", 2)[1] if b" " in request else b"/")

    def _drip(self, sock: socket.socket, data: bytes | Callable[[], bytes]) -> None:
        """Send ``data`` (or, when a function, what it gives, forever) a byte at a time."""
        while not self.stopping.is_set():
            chunk = data() if callable(data) else data
            for byte in chunk:
                if self.stopping.wait(self.interval):
                    return
                sock.sendall(bytes([byte]))
            if not callable(data):
                return

    def _forever(self, sock: socket.socket, chunk: bytes) -> None:
        while not self.stopping.is_set():
            sock.sendall(chunk)

    def _answer(self, sock: socket.socket, path: bytes) -> None:
        b = self.behaviour
        if b is Behaviour.ENDLESS_BODY:
            sock.sendall(_head(content_type="application/json", connection="close"))
            self._forever(sock, _CHUNK)
        elif b is Behaviour.DRIP_BODY:
            sock.sendall(_head(content_type="application/json", content_length="1000000"))
            self._drip(sock, lambda: b" ")
        elif b is Behaviour.DRIP_HEADERS:
            self._drip(sock, b"HTTP/1.1 200 OK\r\n")
            self._drip(sock, lambda: b"X-Drip: a\r\n")
        elif b is Behaviour.ENDLESS_HEADERS:
            sock.sendall(b"HTTP/1.1 200 OK\r\n")
            self._forever(sock, b"X-Flood: " + b"a" * 1000 + b"\r\n")
        elif b is Behaviour.BAD_STATUS:
            sock.sendall(b"\x16\x03garbage not http\r\n\r\n")
        elif b is Behaviour.LONG_STATUS:
            sock.sendall(b"HTTP/1.1 200 " + b"O" * self.size + b"\r\n\r\n")
        elif b is Behaviour.GZIP_BOMB:
            bomb = gzip_bomb(max(1, self.size // 1000))
            sock.sendall(
                _head(
                    content_type="application/json",
                    content_encoding="gzip",
                    content_length=str(len(bomb)),
                )
                + bomb
            )
        elif b in (Behaviour.HUGE_INT, Behaviour.DEEP_JSON):
            body = (
                b'{"issuer": ' + b"9" * self.size + b', "keys": [' + b"1" * self.size + b"]}"
                if b is Behaviour.HUGE_INT
                else b'{"keys": ' + b"[" * self.size + b"]" * self.size + b"}"
            )
            sock.sendall(
                _head(content_type="application/json", content_length=str(len(body))) + body
            )
        elif b is Behaviour.REDIRECT_LOOP:
            sock.sendall(_head("302 Found", location=path.decode("latin-1"), content_length="0"))
        elif b is Behaviour.SILENT:
            self.stopping.wait()
        elif b is Behaviour.HANG_UP:
            return
        elif b is Behaviour.CUT_BODY:
            sock.sendall(_head(content_type="application/json", content_length="1000") + b'{"a')
        elif b is Behaviour.UNKNOWN_ENCODING:
            sock.sendall(_head(content_encoding="br", content_length="4") + b"\x0b\x01\x80\x03")
